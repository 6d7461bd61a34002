"""Heartbeats from IPv6 sources: the check against the node's IPv6
reservation, the rewrite, and the registry's look-ups over ``by_mac6``."""

import json
import socket

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import registry
from vmetal_ironic.agent.http import routes

SECRET = b's' * 32
NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
OTHER = '2be26c0b-03f2-4d2e-ae87-c02d7f33c124'
MAC = '52:54:00:aa:00:01'
MAC_B = '52:54:00:aa:00:02'
IP4 = '172.22.0.61'
IP6 = 'fd00:6::61'
BASE = 'https://10.0.0.2:8081/ramdisk'
CA = '-----BEGIN CERTIFICATE-----\nAGENT\n-----END CERTIFICATE-----\n'
RID = 'c' * 26


def _table(ip6=IP6, node=NODE):
    """A dual-stack node (one reservation per family) and a v6-only one."""
    return helpers.table([
        {'mac': MAC, 'ip': IP4, 'node_uuid': node},
        {'mac': MAC, 'ip': ip6, 'node_uuid': node},
        {'mac': MAC_B, 'ip': 'fd00:6::62', 'node_uuid': OTHER}])


def _rewrite(reg, callback, source, node=NODE):
    body = json.dumps({'callback_url': callback}).encode()
    return hb.rewrite('/v1/heartbeat/%s' % node, '', 'application/json',
                      body, source, reg.reservation, SECRET, BASE, CA)


def test_table_has_both_families():
    t = _table()
    mac = bytes.fromhex(MAC.replace(':', ''))
    assert socket.inet_ntoa(t.by_mac[mac].ip) == IP4
    assert t.by_mac6[mac].ip == socket.inet_pton(socket.AF_INET6, IP6)


@pytest.mark.parametrize('callback,port', [
    ('http://[fd00:6::61]:9999', 9999),
    ('http://[fd00:6::61]', 80),
    ('https://[fd00:6:0:0::61]:9999/', 9999),   # another spelling
    ('http://[FD00:6::61]:9999', 9999),
])
def test_ipv6_heartbeat_is_checked_and_rewritten(callback, port):
    reg = registry.Registry(_table())
    out = _rewrite(reg, callback, IP6)
    assert isinstance(out, hb.Rewritten), out
    doc = json.loads(out.body)
    assert doc['callback_url'] == '%s/%s' % (BASE, out.ramdisk_id)
    assert out.target.ip == IP6 and out.target.port == port
    assert out.target.mac == bytes.fromhex(MAC.replace(':', ''))
    assert out.target.node_uuid == NODE


@pytest.mark.parametrize('callback,source,why', [
    # the URL names another address than the source
    ('http://[fd00:6::62]:9999', IP6, 'is not the source'),
    # the source is another node's reservation
    ('http://[fd00:6::62]:9999', 'fd00:6::62', 'reservation of node'),
    # not a reservation at all (a rotated address in the same /64)
    ('http://[fd00:6::99]:9999', 'fd00:6::99', 'is not a reservation'),
    # the node's IPv4 address in the URL, heartbeat from its IPv6 one
    ('http://172.22.0.61:9999', IP6, 'is not the source'),
    # a link-local callback (needs a zone; never a reservation)
    ('http://[fe80::5054:ff:feaa:1]:9999', 'fe80::5054:ff:feaa:1',
     'is not a reservation'),
    ('http://[fe80::1%25eth0]:9999', 'fe80::1', ''),
    # a name, not an address
    ('http://ramdisk.example:9999', IP6, ''),
])
def test_ipv6_heartbeat_refusals(callback, source, why):
    reg = registry.Registry(_table())
    out = _rewrite(reg, callback, source)
    assert isinstance(out, hb.Refused), out
    assert out.status == 403 and why in out.reason


def test_ipv4_heartbeat_of_the_dual_stack_node_still_works():
    reg = registry.Registry(_table())
    out = _rewrite(reg, 'http://172.22.0.61:9999', IP4)
    assert isinstance(out, hb.Rewritten)
    assert out.target.ip == IP4


def test_the_id_differs_per_family():
    reg = registry.Registry(_table())
    a = _rewrite(reg, 'http://172.22.0.61:9999', IP4)
    b = _rewrite(reg, 'http://[fd00:6::61]:9999', IP6)
    assert a.ramdisk_id != b.ramdisk_id


def test_registry_resolves_an_ipv6_ramdisk_while_reserved(tmp_path):
    t = _table()
    reg = registry.Registry(t, state_dir=str(tmp_path))
    target = hb.Target(NODE, IP6, 9999, 'http',
                       bytes.fromhex(MAC.replace(':', '')))
    reg.register(RID, target, None)
    assert reg.resolve(RID).target == target
    # survives a restart (the state file keeps the IPv6 address)
    again = registry.Registry(t, state_dir=str(tmp_path))
    assert again.load() == 1
    assert again.resolve(RID).target == target
    # the reservation moves to another address: refused and forgotten
    moved = registry.Registry(_table(ip6='fd00:6::71'),
                              state_dir=str(tmp_path))
    moved.load()
    refused = moved.resolve(RID)
    assert isinstance(refused, routes.Refusal) and refused.status == 403
    assert RID not in moved


def test_registry_refuses_an_ipv6_ramdisk_of_another_node():
    reg = registry.Registry(_table(node=OTHER))
    reg.register(RID, hb.Target(NODE, IP6, 9999, 'http',
                                bytes.fromhex(MAC.replace(':', ''))), None)
    assert isinstance(reg.resolve(RID), routes.Refusal)


def test_reservation_lookup_sees_new_ipv6_hosts(monkeypatch):
    t = _table()
    reg = registry.Registry(t)
    assert reg.reservation('fd00:6::63') is None
    mac_c = bytes.fromhex('525400aa0003')
    t.replace('file', list(t.source_hosts('file').values())
              + list(t._sources6['file'].values())
              + [helpers.hostspec.compile_host(
                  dict(helpers.DEFAULTS, mac='52:54:00:aa:00:03',
                       ip='fd00:6::63', node_uuid=OTHER), None, None, 3600,
                  helpers.BOOT_DEFAULTS, t.interner, 'file')])
    monkeypatch.setattr(registry.clientkey, 'REBUILD_INTERVAL', 0.0)
    assert reg.reservation('fd00:6::63') == (mac_c, OTHER)
    assert reg.reservation('not an address') is None
