"""Agent service: component life cycle, configuration checks, hooks."""

from unittest import mock

from oslo_config import cfg
import pytest
from stevedore import extension

from vmetal_ironic.agent import component
from vmetal_ironic.agent.dhcp import server
from vmetal_ironic.agent.http import server as http_server
from vmetal_ironic.agent import service
from vmetal_ironic.agent.sources import file as file_source
from vmetal_ironic.agent.sources import ipam as ipam_source
from vmetal_ironic.agent.tftp import server as tftp_server
from vmetal_ironic.conf import dhcp_agent
from vmetal_ironic import exception


class Recorder(component.Component):
    def __init__(self, name, log, fail=False):
        self.name, self.log, self.fail = name, log, fail

    def start(self):
        if self.fail:
            raise OSError('cannot bind')
        self.log.append(('start', self.name))

    def stop(self):
        self.log.append(('stop', self.name))

    def reload(self):
        self.log.append(('reload', self.name))


@pytest.fixture
def conf(agent_conf):
    return agent_conf


def test_start_stop_reload_order(conf):
    log = []
    svc = service.AgentService(conf, [Recorder('a', log), Recorder('b', log)])
    svc.start()
    svc.reload()
    svc.stop()
    assert log == [('start', 'a'), ('start', 'b'), ('reload', 'a'),
                   ('reload', 'b'), ('stop', 'b'), ('stop', 'a')]


def test_failed_start_stops_started(conf):
    log = []
    svc = service.AgentService(conf, [Recorder('a', log),
                                      Recorder('b', log, fail=True)])
    with pytest.raises(OSError):
        svc.start()
    assert log == [('start', 'a'), ('stop', 'a')]


def test_validate_bad_value_is_config_error(tmp_path):
    c = cfg.ConfigOpts()
    dhcp_agent.register_opts(c)
    p = tmp_path / 'a.conf'
    p.write_text('[dhcp_agent]\ninterface = lo\nserver_address = 300.1.1.1\n')
    c(['--config-file', str(p)], project='test', default_config_files=[])
    with pytest.raises(exception.ConfigError, match='300.1.1.1'):
        service.validate(c)


def test_validate_errors(conf):
    conf.set_override('interface', 'nosuchif0', group='dhcp_agent')
    with pytest.raises(exception.ConfigError, match='nosuchif0'):
        service.validate(conf)
    conf.set_override('interface', 'lo', group='dhcp_agent')
    conf.set_override('sources', ['file'], group='dhcp_agent')
    with pytest.raises(exception.ConfigError, match='reservations_file'):
        service.validate(conf)
    conf.set_override('sources', [], group='dhcp_agent')
    assert service.validate(conf) == ['ipam']
    conf.set_override('reservations_file', '/x', group='dhcp_agent')
    assert service.validate(conf) == ['file']
    conf.set_override('tftp_server', 'tftp.example', group='dhcp_agent')
    with pytest.raises(exception.ConfigError, match='tftp_server'):
        service.validate(conf)


def test_build_with_file_source_and_extra_components(conf):
    conf.set_override('reservations_file', '/x', group='dhcp_agent')
    extra = []

    def factory(c, table):
        extra.append((c, table))
        return [Recorder('tftp', [])]

    fake = extension.ExtensionManager.make_test_instance(
        [extension.Extension('fake', None, factory, None)],
        namespace=component.NAMESPACE)
    with mock.patch.object(service.extension, 'ExtensionManager',
                           autospec=True, return_value=fake) as em:
        svc = service.AgentService(conf)
        svc.build()
    assert em.call_args[0][0] == 'vmetal_ironic.agent.components'
    kinds = [type(c) for c in svc.components]
    assert kinds == [file_source.FileSource, server.DHCPServer, Recorder]
    assert extra == [(conf, svc.table)]


def test_build_with_ipam_source(conf):
    svc = service.AgentService(conf)
    conf.set_override('tftp_enabled', False, group='dhcp_agent')
    svc.build()
    [src] = [c for c in svc.components
             if isinstance(c, ipam_source.IpamSource)]
    assert src.interval == conf.dhcp_agent.sync_interval
    assert callable(src.feed.changes_since)


def test_installed_entry_points_give_tftp_and_proxy(conf, tmp_path):
    """The factories named in setup.cfg load and build the components."""
    conf.set_override('tftp_root', str(tmp_path), group='dhcp_agent')
    conf.set_override('ironic_http_url', 'http://10.99.0.1:8088',
                      group='dhcp_agent')
    made = service.optional_components(conf, None)
    assert sorted(type(c).__name__ for c in made) == ['HttpProxy',
                                                      'TftpServer']
    conf.set_override('tftp_enabled', False, group='dhcp_agent')
    conf.set_override('http_proxy_enabled', False, group='dhcp_agent')
    assert service.optional_components(conf, None) == []
    assert {c.__module__ for c in map(type, made)} == {
        tftp_server.__name__, http_server.__name__}


def test_a_factory_that_cannot_load_is_a_config_error(conf):
    ep = mock.Mock()
    ep.name = 'broken'
    with pytest.raises(exception.ConfigError, match='broken'):
        service._load_failed(None, ep, ImportError('no module x'))


def test_boot_defaults(conf):
    d = service.boot_defaults(conf)
    assert d['bios_bootfile'] == 'undionly.kpxe'
    assert d['tftp_server'] == '127.0.0.1'
    assert d['ipxe_script_url'] is None


def test_boot_defaults_ipxe_script_through_the_proxy(conf):
    conf.set_override('ironic_http_url', 'http://10.99.0.1:8088',
                      group='dhcp_agent')
    d = service.boot_defaults(conf)
    assert d['ipxe_script_url'] == 'http://127.0.0.1:8080/boot.ipxe'
    conf.set_override('ipxe_script_url', 'http://other/boot.ipxe',
                      group='dhcp_agent')
    assert service.boot_defaults(conf)['ipxe_script_url'] == \
        'http://other/boot.ipxe'
    conf.clear_override('ipxe_script_url', group='dhcp_agent')
    conf.set_override('http_proxy_enabled', False, group='dhcp_agent')
    assert service.boot_defaults(conf)['ipxe_script_url'] is None


def test_list_opts_names():
    names = {o.name for o in dhcp_agent.list_opts()[0][1]}
    assert {'interface', 'server_address', 'reservations_file', 'lease_time',
            'bios_bootfile', 'uefi_bootfile', 'arm64_bootfile',
            'ipxe_script_url', 'http_boot_url', 'tftp_server',
            'sync_interval'} <= names


def test_cmd_bad_config_exits_2(tmp_path, capsys, logging_restored):
    from vmetal_ironic.cmd import dhcp_agent as cmd
    p = tmp_path / 'agent.conf'
    p.write_text('[dhcp_agent]\ninterface = nosuchif0\n'
                 'server_address = 10.0.0.1\nreservations_file = /x\n')
    from vmetal_ironic import conf as vmetal_conf
    fresh = cfg.ConfigOpts()
    vmetal_conf.register_opts(fresh)
    with mock.patch.object(vmetal_conf, 'CONF', fresh):
        assert cmd.main(['--config-file', str(p)]) == 2
    assert 'nosuchif0' in capsys.readouterr().err


def test_bad_bridge_option_is_a_config_error(tmp_path):
    p = tmp_path / 'agent.conf'
    p.write_text('[dhcp_agent]\ninterface = lo\nserver_address = 10.0.0.1\n'
                 'http_port = abc\n')
    c = cfg.ConfigOpts()
    dhcp_agent.register_opts(c)
    c(['--config-file', str(p)], project='test', default_config_files=[])
    with pytest.raises(exception.ConfigError) as info:
        service.validate(c)
    assert 'http_port' in str(info.value)


def test_boot_defaults_active_active_ipxe_script_names_the_vip(conf):
    conf.set_override('ironic_http_url', 'http://10.99.0.1:8088',
                      group='dhcp_agent')
    conf.set_override('service_address', '127.0.0.10', group='dhcp_agent')
    d = service.boot_defaults(conf)
    assert d['ipxe_script_url'] == 'http://127.0.0.10:8080/boot.ipxe'
    # DHCP and TFTP stay on the agent's own address
    assert d['tftp_server'] == '127.0.0.1'
    conf.set_override('ipxe_script_url', 'http://other/boot.ipxe',
                      group='dhcp_agent')
    assert service.boot_defaults(conf)['ipxe_script_url'] == \
        'http://other/boot.ipxe'


def test_service_address_must_differ_from_server_address(conf):
    conf.set_override('service_address', '127.0.0.1', group='dhcp_agent')
    with pytest.raises(exception.ConfigError, match='service_address'):
        service.validate(conf)


def test_startup_objects_are_frozen_out_of_the_collector():
    import gc
    made_at_startup = [{'host': i} for i in range(1000)]
    try:
        service.freeze_startup_objects()
        assert gc.get_freeze_count() >= len(made_at_startup)
        frozen = gc.get_freeze_count()
        gc.collect()                    # a full pass leaves them frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
