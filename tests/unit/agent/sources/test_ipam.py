"""IPAM database source, against a fake feed returning real records."""

import dataclasses
import threading
import time

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources import ipam as ipam_source
from vmetal_ironic.agent.sources import ipam_hosts
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic import boot_profile
from vmetal_ironic.boot_profile import BootProfile
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


@pytest.fixture
def src(fake_feed):
    table = reservations.Table()
    return ipam_source.IpamSource(table, fake_feed, 3600,
                                  helpers.BOOT_DEFAULTS, 60), table, fake_feed


def mac(m):
    return bytes.fromhex(m.replace(':', ''))


def test_full_then_incremental(src):
    s, table, mgr = src
    profile = BootProfile(bootfile='snponly.efi', tftp_server='172.22.0.9',
                          ipxe_script_url='http://172.22.0.9/boot.ipxe')
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
            boot_profile=BootProfile(tftp_server='not-an-ip'))]))
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
    t = threading.Thread(target=s._loop)
    t.start()
    for _ in range(200):
        if not mgr.sets:
            break
        time.sleep(0.01)
    s._stop.set()
    t.join()
    assert len(table) == 1 and s.generation == 1


def test_stop_closes_the_feed(src):
    s, table, mgr = src
    mgr.sets.append(records.ChangeSet(1, True, [POOL], []))
    s.start()
    s.stop()
    assert mgr.closed


def test_make_host_from_records():
    interner = reservations.Interner()
    profile = BootProfile(bootfile='ipxe.efi', http_boot_url='http://h/x')
    r = res(helpers.MAC1, '172.22.0.50', 1, hostname='node-1',
            client_id='01:52:54:00:00:00:01')
    h = ipam_hosts.make_host(r, POOL, profile, 600, helpers.BOOT_DEFAULTS,
                             interner)
    assert (h.mac, h.address, h.node_uuid, h.source) == (
        mac(helpers.MAC1), '172.22.0.50', NODE, 'ipam')
    assert h.client_id == bytes.fromhex('01525400000001')
    assert h.hostname_opt == b'\x0c\x06node-1'
    assert (h.net.prefixlen, h.net.lease_time, h.net.dns) == (
        24, 600, (bytes([172, 22, 0, 53]),))
    assert h.boot.pxe_bootfile == 'ipxe.efi'
    assert h.boot.http_boot_url == 'http://h/x'
    assert h.boot.ipxe_script_url == helpers.BOOT_DEFAULTS['ipxe_script_url']
    assert h.boot.tftp_server == helpers.SERVER
    # a second host of the pool and profile shares the compiled objects
    h2 = ipam_hosts.make_host(res(helpers.MAC2, '172.22.0.51', 2), POOL,
                              BootProfile(bootfile='ipxe.efi',
                                          http_boot_url='http://h/x'),
                              600, helpers.BOOT_DEFAULTS, interner)
    assert h2.net is h.net and h2.boot is h.boot


def test_make_host_empty_profile_uses_agent_defaults():
    h = ipam_hosts.make_host(res(helpers.MAC1, '172.22.0.50', 1), POOL,
                             BootProfile(), 600, helpers.BOOT_DEFAULTS,
                             reservations.Interner())
    assert h.boot.pxe_bootfile is None
    for field, value in helpers.BOOT_DEFAULTS.items():
        assert getattr(h.boot, field) == value


@pytest.mark.parametrize('kw,field', [
    ({'address': '172.22.0.300'}, 'ip'),
    ({'mac': 'zz:zz'}, 'mac'),
])
def test_make_host_bad_record(kw, field):
    r = dataclasses.replace(res(helpers.MAC1, '172.22.0.50', 1), **kw)
    with pytest.raises(hostspec.HostSpecError, match=field):
        ipam_hosts.make_host(r, POOL, BootProfile(), 600,
                             helpers.BOOT_DEFAULTS, reservations.Interner())


def test_profile_of_accepts_only_the_typed_profile():
    typed = BootProfile(bootfile='a.efi', tftp_server='172.22.0.9')
    r = res(helpers.MAC1, '172.22.0.50', 1, boot_profile=typed)
    assert ipam_hosts.profile_of(r) is typed
    # The stored dict form is gone since migration 0002: a record that
    # still carries one is served without its boot profile, not guessed.
    stored = {'bootfile': 'a.efi', 'tftp_server': '172.22.0.9'}
    r = res(helpers.MAC1, '172.22.0.50', 1, boot_profile=stored)
    with pytest.raises(boot_profile.InvalidBootProfile):
        ipam_hosts.profile_of(r)
    compiler = ipam_hosts.Compiler(reservations.Interner(), 600,
                                   helpers.BOOT_DEFAULTS)
    compiler.set_pool(POOL)
    host = compiler.host(r)
    assert host.address == '172.22.0.50'
    assert host.boot.tftp_server == helpers.BOOT_DEFAULTS['tftp_server']
    assert host.origin == ('prov', boot_profile.EMPTY)


def test_record_of_compiles_back_to_the_same_host():
    profile = BootProfile(bootfile='a.efi', tftp_server='172.22.0.9')
    compiler = ipam_hosts.Compiler(reservations.Interner(), 600,
                                   helpers.BOOT_DEFAULTS)
    compiler.set_pool(POOL)
    for kw in ({}, {'hostname': 'node-1', 'client_id': '01:aa:bb'},
               {'client_id': 'text-id', 'boot_profile': profile}):
        h = compiler.host(res(helpers.MAC1, '172.22.0.50', 3, **kw))
        again = compiler.host(ipam_hosts.record_of(h, 9))
        for field in reservations.Host.__slots__:
            assert getattr(again, field) == getattr(h, field), field
    # one shared origin per pool and profile, not one per host
    a = compiler.host(res(helpers.MAC1, '172.22.0.50', 3))
    b = compiler.host(res(helpers.MAC2, '172.22.0.51', 3))
    assert a.origin is b.origin


def test_open_feed_is_the_read_only_feed(agent_conf):
    from vmetal_ironic.ipam import feed as feed_mod
    feed = ipam_source.open_feed(agent_conf)
    assert isinstance(feed, feed_mod.ReservationFeed)
    assert callable(feed.changes_since)
    # Read-only: no way to write or to record pools through it.
    assert not any(hasattr(feed, name) for name in (
        'sync_pools', 'allocate', 'upsert_reservation', 'set_boot_profile'))


def test_full_read_failing_midway_is_read_in_full_again(src):
    """A streamed full read that fails keeps the table; the next is full."""
    s, table, feed = src
    feed.sets.append(records.ChangeSet(3, True, [POOL], [
        res(helpers.MAC1, '172.22.0.50', 3)]))
    s.sync()
    changed = dataclasses.replace(POOL, mtu=1500, generation=4)

    def stream():
        yield res(helpers.MAC1, '172.22.0.51', 4)
        raise RuntimeError('connection lost midway')

    feed.sets.append(records.ChangeSet(5, True, [changed], stream()))
    with pytest.raises(RuntimeError, match='midway'):
        s.sync()
    assert table.by_mac[mac(helpers.MAC1)].address == '172.22.0.50'
    assert s.generation == 0
    feed.sets.append(records.ChangeSet(5, True, [changed], [
        res(helpers.MAC1, '172.22.0.51', 4)]))
    s.sync()
    assert feed.calls[-1] == 0
    host = table.by_mac[mac(helpers.MAC1)]
    assert (host.address, host.net.mtu, s.generation) == \
        ('172.22.0.51', 1500, 5)
