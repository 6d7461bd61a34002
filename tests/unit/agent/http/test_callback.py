"""The callback bridge's pure parts: registry, heartbeat hook, options."""

import json

from oslo_config import cfg
import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.http import callback
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import registry
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import tls
from vmetal_ironic.conf import dhcp_agent as dhcp_conf
from vmetal_ironic import exception

NODE = '3f1c0a5e-7b1d-4e0a-9a53-0c1d5e6f7a01'
MAC = '52:54:00:cc:00:01'


def _table(node=NODE, ip='172.22.0.61'):
    return helpers.table([{'mac': MAC, 'ip': ip, 'node_uuid': node}])


def _hook(table):
    material = tls.generate_material('10.0.0.2')
    return callback.HeartbeatHook(registry.Registry(table), material,
                                  hb.callback_base('10.0.0.2', 8081))


def _beat(hook, source='172.22.0.61', url='http://172.22.0.61:9999'):
    body = json.dumps({'callback_url': url, 'agent_token': 't'}).encode()
    return hook.check(source, '/v1/heartbeat/' + NODE, 'application/json',
                      body)


def test_registered_only_after_the_api_accepted():
    hook = _hook(_table())
    body, commit = _beat(hook)
    rid = json.loads(body)['callback_url'].rsplit('/', 1)[1]
    assert isinstance(hook.registry.resolve(rid), routes.Refusal)
    commit(400)
    assert rid not in hook.registry
    commit(202)
    entry = hook.registry.resolve(rid)
    assert (entry.target.ip, entry.target.port, entry.context) == (
        '172.22.0.61', 9999, None)


def test_a_reservation_that_moves_or_changes_node_closes_the_path():
    table = _table()
    hook = _hook(table)
    body, commit = _beat(hook)
    commit(202)
    rid = json.loads(body)['callback_url'].rsplit('/', 1)[1]
    fresh = _table(node='3f1c0a5e-7b1d-4e0a-9a53-0c1d5e6f7a09')
    table.replace('file', fresh.source_hosts('file'))
    refusal = hook.registry.resolve(rid)
    assert refusal.status == 403
    assert hook.registry.resolve(rid).status == 404     # forgotten


def test_unreserved_source_is_refused():
    hook = _hook(_table())
    r = _beat(hook, source='172.22.0.99', url='http://172.22.0.99:9999')
    assert isinstance(r, routes.Refusal) and r.status == 403


def test_https_ramdisk_gets_a_pinned_context():
    hook = _hook(_table())
    ramdisk = tls.generate_material('172.22.0.61')
    body = json.dumps({'callback_url': 'https://172.22.0.61:9443',
                       'agent_verify_ca': ramdisk.cert_pem}).encode()
    out, commit = hook.check('172.22.0.61', '/v1/heartbeat/' + NODE,
                             'application/json', body)
    commit(202)
    rid = json.loads(out)['callback_url'].rsplit('/', 1)[1]
    assert hook.registry.resolve(rid).context is not None
    bad = json.dumps({'callback_url': 'https://172.22.0.61:9443',
                      'agent_verify_ca': 'not a certificate'}).encode()
    r = hook.check('172.22.0.61', '/v1/heartbeat/' + NODE,
                   'application/json', bad)
    assert isinstance(r, routes.Refusal) and r.status == 400


def test_registry_is_bounded():
    reg = registry.Registry(_table(), max_entries=2)
    t = hb.Target(NODE, '172.22.0.61', 1, 'http', b'\0' * 6)
    for rid in ('a', 'b', 'c'):
        reg.register(rid, t, None)
    assert len(reg) == 2 and 'a' not in reg


def _conf(**values):
    conf = cfg.ConfigOpts()
    dhcp_conf.register_opts(conf)
    conf([], project='vmetal-test', default_config_files=[])
    for k, v in values.items():
        conf.set_override(k, v, group='dhcp_agent')
    return conf


@pytest.mark.parametrize('values,needle', [
    ({'https_port': 8443}, 'https_port = 8443'),
    ({'https_port': 8080, 'https_cert_file': 'c', 'https_key_file': 'k'},
     'http_port'),
    ({'callback_cert_file': 'c'}, 'callback_key_file'),
    ({'callback_ca_file': 'ca'}, 'callback_ca_file = "ca"'),
    ({'callback_address': '0.0.0.0'}, 'callback_address = "0.0.0.0"'),
])
def test_invalid_options_name_the_option(values, needle):
    with pytest.raises(exception.ConfigError, match=needle):
        callback.validate(_conf(**values))


def test_off_when_port_is_zero_or_no_api():
    table = _table()
    assert callback.create_components(_conf(callback_port=0), table) == []
    assert callback.heartbeat_hook(_conf(callback_port=0), table) is None
    assert callback.create_components(_conf(), table) == []


def test_explicit_state_dir_is_created_and_reused(tmp_path):
    state = tmp_path / 'state'
    conf = _conf(ironic_api_url='http://127.0.0.1:6385',
                 callback_address='127.0.0.1', state_dir=str(state))
    first = callback.load_material(conf, '127.0.0.1')
    assert first.persistent and (state / tls.SECRET).exists()
    assert callback.load_material(conf, '127.0.0.1') == first
    assert callback.listen_address(conf) == '127.0.0.1'
    table = _table()
    [listener] = callback.create_components(conf, table)
    assert callback.heartbeat_hook(conf, table).registry is \
        listener.registry
