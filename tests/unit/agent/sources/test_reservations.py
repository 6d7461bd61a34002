"""Reservation table: sources, priority, client-id index."""

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources import reservations


def host(table, mac, ip, source, **kw):
    return hostspec.compile_host(dict(helpers.DEFAULTS, mac=mac, ip=ip, **kw),
                                 None, None, 3600, helpers.BOOT_DEFAULTS,
                                 table.interner, source)


def test_file_wins_over_ipam_and_updates():
    t = reservations.Table()
    m1, m2 = helpers.mac_bytes(helpers.MAC1), helpers.mac_bytes(helpers.MAC2)
    t.replace('ipam', [host(t, helpers.MAC1, '172.22.0.10', 'ipam'),
                       host(t, helpers.MAC2, '172.22.0.11', 'ipam',
                            client_id='01:02')])
    t.replace('file', [host(t, helpers.MAC1, '172.22.0.99', 'file')])
    assert t.by_mac[m1].address == '172.22.0.99'
    assert t.by_mac[m2].address == '172.22.0.11'
    assert t.lookup(b'\0' * 6, {61: b'\x01\x02'}).address == '172.22.0.11'
    t.update('ipam', [], [m2])
    assert m2 not in t.by_mac and t.by_client_id == {}
    t.replace('file', [])
    assert t.by_mac[m1].address == '172.22.0.10'
    assert len(t) == 1
    assert t.source_hosts('file') == {}


def test_single_source_update_in_place():
    t = reservations.Table()
    t.update('ipam', [host(t, helpers.MAC1, '172.22.0.10', 'ipam')], [])
    assert len(t) == 1
    t.update('ipam', [host(t, helpers.MAC1, '172.22.0.12', 'ipam')], [])
    assert t.by_mac[helpers.mac_bytes(helpers.MAC1)].address == \
        '172.22.0.12'


def test_route_shorthand_and_interning():
    t = reservations.Table()
    a = host(t, helpers.MAC1, '172.22.0.10', 'file',
             routes=['10.0.0.0/8 via 172.22.0.254'])
    b = host(t, helpers.MAC2, '172.22.0.11', 'file',
             routes=[{'destination': '10.1.2.3/8',
                      'gateway': '172.22.0.254'}])
    assert a.net is b.net
    assert a.net.routes == ((bytes([10, 0, 0, 0]), 8,
                             bytes([172, 22, 0, 254])),)
    assert a.label == helpers.MAC1
    c = host(t, '52:54:00:00:00:03', '172.22.0.12', 'file',
             node_uuid='n-1')
    assert c.label == '52:54:00:00:00:03 (node n-1)'


def test_parse_helpers():
    assert reservations.parse_client_id('ff:00:01') == b'\xff\x00\x01'
    assert reservations.parse_client_id('node-7') == b'node-7'
    for bad in ('', None, 5):
        with pytest.raises(ValueError):
            reservations.parse_client_id(bad)
    with pytest.raises(ValueError):
        reservations.parse_mac('52:54:00:00:01')
