"""IPAM database source, against a fake manager returning real records."""

import pytest

from tests.unit.agent import helpers
from vmetal_ironic.agent import ipam_source
from vmetal_ironic.agent import reservations
from vmetal_ironic.ipam import records

POOL = records.Pool(name='prov', version=4, cidr='172.22.0.0/24',
                    prefixlen=24, netmask='255.255.255.0',
                    gateway='172.22.0.1', dns_servers=('172.22.0.53',),
                    mtu=9000, domain='prov.example',
                    routes=(records.Route('10.0.0.0/8', '172.22.0.254'),))
POOL6 = records.Pool(name='v6', version=6, cidr='fd00::/64', prefixlen=64,
                     netmask='64', gateway='fd00::1')
NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


def res(mac, addr, gen, **kw):
    return records.Reservation(mac=mac, node_uuid=kw.pop('node', NODE),
                               pool=kw.pop('pool', 'prov'), address=addr,
                               generation=gen, **kw)


class FakeManager:
    def __init__(self):
        self.sets = []
        self.calls = []

    def changes_since(self, generation):
        self.calls.append(generation)
        item = self.sets.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


@pytest.fixture
def src():
    table = reservations.Table()
    mgr = FakeManager()
    return ipam_source.IpamSource(table, None, 3600, helpers.BOOT_DEFAULTS,
                                  60, manager=mgr), table, mgr


def mac(m):
    return bytes.fromhex(m.replace(':', ''))


def test_full_then_incremental(src):
    s, table, mgr = src
    profile = {'bootfile': 'snponly.efi', 'tftp_server': '172.22.0.9',
               'ipxe_script_url': 'http://172.22.0.9/boot.ipxe',
               'options': [{'opt_name': '67', 'opt_value': 'x'}]}
    mgr.sets.append(records.ChangeSet(5, True, [POOL, POOL6], [
        res(helpers.MAC1, '172.22.0.50', 3, hostname='node-1',
            boot_profile=profile),
        res('52:54:00:00:00:06', 'fd00::5', 4, pool='v6')]))
    s.start()
    s.stop()
    assert mgr.calls == [0] and s.generation == 5
    assert len(table) == 1
    h = table.by_mac[mac(helpers.MAC1)]
    assert h.address == '172.22.0.50' and h.node_uuid == NODE
    assert h.net.router == bytes([172, 22, 0, 1])
    assert h.net.mtu == 9000 and h.net.domain == 'prov.example'
    assert h.net.routes == ((bytes([10, 0, 0, 0]), 8,
                             bytes([172, 22, 0, 254])),)
    assert h.boot.pxe_bootfile == 'snponly.efi'
    assert h.boot.tftp_server == '172.22.0.9'
    assert h.boot.ipxe_script_url == 'http://172.22.0.9/boot.ipxe'
    assert h.boot.uefi_bootfile == 'snponly.efi'       # agent default

    mgr.sets.append(records.ChangeSet(7, False, [], [
        res(helpers.MAC2, '172.22.0.51', 6, client_id='01:aa'),
        res(helpers.MAC1, None, 7, deleted=True)]))
    assert s.sync() == 2
    assert mgr.calls == [0, 5] and s.generation == 7
    assert list(table.by_mac) == [mac(helpers.MAC2)]
    assert table.by_client_id == {b'\x01\xaa': table.by_mac[mac(
        helpers.MAC2)]}


def test_pool_change_recompiles_all(src):
    s, table, mgr = src
    mgr.sets.append(records.ChangeSet(1, True, [POOL], [
        res(helpers.MAC1, '172.22.0.50', 1)]))
    s.sync()
    import dataclasses
    changed = dataclasses.replace(POOL, gateway='172.22.0.254', generation=2)
    mgr.sets.append(records.ChangeSet(2, False, [changed], []))
    mgr.sets.append(records.ChangeSet(2, True, [changed], [
        res(helpers.MAC1, '172.22.0.50', 1)]))
    s.sync()
    assert mgr.calls == [0, 1, 0]       # pool changed: full snapshot again
    assert s.generation == 2
    assert table.by_mac[mac(helpers.MAC1)].net.router == \
        bytes([172, 22, 0, 254])


def test_invalid_profile_served_without_it(src):
    s, table, mgr = src
    mgr.sets.append(records.ChangeSet(1, True, [POOL], [
        res(helpers.MAC1, '172.22.0.50', 1,
            boot_profile={'tftp_server': 'not-an-ip'})]))
    s.sync()
    h = table.by_mac[mac(helpers.MAC1)]
    assert h.boot.tftp_server == helpers.SERVER


def test_database_error_keeps_table(src):
    s, table, mgr = src
    mgr.sets.append(records.ChangeSet(1, True, [POOL], [
        res(helpers.MAC1, '172.22.0.50', 1)]))
    s.sync()
    mgr.sets.append(RuntimeError('database is down'))
    s.interval = 0.01
    s._thread = None
    s._stop.clear()
    import threading
    t = threading.Thread(target=s._loop)
    t.start()
    for _ in range(200):
        if not mgr.sets:
            break
        import time
        time.sleep(0.01)
    s._stop.set()
    t.join()
    assert len(table) == 1 and s.generation == 1
