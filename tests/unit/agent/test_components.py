"""The optional agent components (TFTP, HTTP proxy): factories, options."""

from unittest import mock

import pytest

from vmetal_ironic.agent.http import server as http_proxy
from vmetal_ironic.agent.tftp import server as tftp
from vmetal_ironic.conf import opts
from vmetal_ironic import exception


@pytest.fixture
def conf(agent_conf):
    agent_conf.set_override('server_address', '172.22.0.2',
                            group='dhcp_agent')
    agent_conf.set_override('interface', 'prov0', group='dhcp_agent')
    return agent_conf


def test_options_listed_for_the_generator():
    names = [o.name for group, group_opts in opts.list_opts()
             if group == 'dhcp_agent' for o in group_opts]
    for name in ('tftp_enabled', 'tftp_root', 'http_proxy_enabled',
                 'http_port', 'ironic_http_url', 'ironic_api_url',
                 'http_connect_timeout', 'http_read_timeout',
                 'http_max_body_size'):
        assert name in names
    assert len(names) == len(set(names))


def test_defaults(conf):
    g = conf.dhcp_agent
    assert (g.tftp_enabled, g.http_proxy_enabled, g.http_port) == (
        True, True, 8080)


def test_tftp_off(conf):
    conf.set_override('tftp_enabled', False, group='dhcp_agent')
    assert tftp.create_components(conf, None) == []


def test_tftp_default_root_missing_stays_off(conf):
    with mock.patch.object(tftp.os.path, 'isdir', autospec=True,
                           return_value=False):
        with mock.patch.object(tftp.LOG, 'warning', autospec=True) as warn:
            assert tftp.create_components(conf, None) == []
    assert warn.called


def test_tftp_configured_root_missing_is_an_error(conf, tmp_path):
    conf.set_override('tftp_root', str(tmp_path / 'nope'),
                      group='dhcp_agent')
    with pytest.raises(exception.ConfigError) as e:
        tftp.create_components(conf, None)
    assert 'tftp_root' in str(e.value)


def test_tftp_component(conf, tmp_path):
    conf.set_override('tftp_root', str(tmp_path), group='dhcp_agent')
    conf.set_override('tftp_max_blksize', 1468, group='dhcp_agent')
    [server] = tftp.create_components(conf, None)
    assert isinstance(server, tftp.TftpServer)
    assert (server.name, server.address, server.port, server.interface,
            server.max_blksize, server.root) == (
        'tftp', '172.22.0.2', 69, 'prov0', 1468, str(tmp_path))


def test_proxy_off(conf):
    conf.set_override('http_proxy_enabled', False, group='dhcp_agent')
    conf.set_override('ironic_http_url', 'http://10.0.0.1:8088',
                      group='dhcp_agent')
    assert http_proxy.create_components(conf, None) == []


def test_proxy_without_upstreams_stays_off(conf):
    with mock.patch.object(http_proxy.LOG, 'warning', autospec=True) as w:
        assert http_proxy.create_components(conf, None) == []
    assert w.called


def test_proxy_component(conf):
    conf.set_override('ironic_http_url', 'http://10.0.0.1:8088/httpboot',
                      group='dhcp_agent')
    conf.set_override('ironic_api_url', 'https://10.0.0.1:6385',
                      group='dhcp_agent')
    conf.set_override('http_max_body_size', 10, group='dhcp_agent')
    [proxy] = http_proxy.create_components(conf, None)
    assert (proxy.name, proxy.address, proxy.port, proxy.interface,
            proxy.max_body_size) == ('http-proxy', '172.22.0.2', 8080,
                                     'prov0', 10)
    assert proxy.boot.base == '/httpboot'
    assert (proxy.api.scheme, proxy.api.port) == ('https', 6385)


def test_proxy_bad_url_is_an_error(conf):
    conf.set_override('ironic_http_url', 'http://10.0.0.1:8088/?x=1',
                      group='dhcp_agent')
    with pytest.raises(exception.ConfigError) as e:
        http_proxy.create_components(conf, None)
    assert 'ironic_http_url' in str(e.value)


def test_proxy_url(conf):
    assert http_proxy.proxy_url(conf, '/boot.ipxe') is None
    conf.set_override('ironic_http_url', 'http://10.0.0.1:8088',
                      group='dhcp_agent')
    assert http_proxy.proxy_url(conf, '/boot.ipxe') == \
        'http://172.22.0.2:8080/boot.ipxe'
    conf.set_override('http_proxy_enabled', False, group='dhcp_agent')
    assert http_proxy.proxy_url(conf) is None
