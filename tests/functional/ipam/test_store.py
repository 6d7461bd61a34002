"""The IPAM store against SQLite, PostgreSQL and MariaDB."""

import netaddr
import pytest
import sqlalchemy as sa

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic import exception

SMALL = """
[vmetal_ipam]
pools = compute, storage, v6
default_pool = compute
quarantine = 300

[vmetal_pool:compute]
cidr = 192.168.100.1/24
ranges = 192.168.100.10-192.168.100.14
dns_servers = 192.168.100.2
resource_classes = baremetal-compute
mtu = 9000
routes = 10.0.0.0/8 via 192.168.100.254

[vmetal_pool:storage]
cidr = 192.168.200.1/24
resource_classes = storage

[vmetal_pool:v6]
cidr = 2001:db8::1/64
"""


def test_migrations_from_empty(db_url):
    database = db_api.Database(db_url)
    try:
        with pytest.raises(exception.SchemaNotCurrent) as info:
            migration.check(database.reader)
        assert 'vmetal-dbsync' in str(info.value)
        migration.upgrade(database.writer)
        migration.check(database.reader)
        assert migration.current(database.reader) == migration.head()
        migration.upgrade(database.writer)  # again: nothing to do
        tables = set(sa.inspect(database.reader).get_table_names())
        assert {'vmetal_pools', 'vmetal_allocations', 'vmetal_reservations',
                'vmetal_boot_profiles', 'vmetal_counters',
                migration.VERSION_TABLE} <= tables
    finally:
        database.dispose()


def test_pools_recorded(make_manager):
    mgr = make_manager(SMALL)
    pools = {p.name: p for p in mgr.get_pools()}
    assert set(pools) == {'compute', 'storage', 'v6'}
    compute = pools['compute']
    assert compute.cidr == '192.168.100.0/24'
    assert compute.gateway == '192.168.100.1'
    assert compute.dns_servers == ('192.168.100.2',)
    assert compute.mtu == 9000
    assert compute.routes[0].gateway == '192.168.100.254'
    assert compute.size == 5
    assert pools['v6'].size == 2 ** 64 - 2


def test_idempotent_and_by_resource_class(make_manager):
    mgr = make_manager(SMALL)
    first = mgr.allocate('node-1', resource_class='baremetal-compute')
    again = mgr.allocate('node-1', resource_class='baremetal-compute')
    assert first.address == again.address == '192.168.100.10'
    assert first.pool.name == 'compute'
    storage = mgr.allocate('node-2', resource_class='storage')
    assert storage.pool.name == 'storage'
    assert storage.address == '192.168.200.2'
    assert len(mgr.get_allocations('node-1')) == 1


def test_sticky_and_quarantine(make_manager, clock):
    mgr = make_manager(SMALL)
    a = mgr.allocate('node-a').address
    mgr.allocate('node-b')
    mgr.release('node-a')
    # node-a gets its address back, quarantine or not
    assert mgr.allocate('node-a').address == a
    mgr.release('node-a')
    # fresh addresses first; then a quarantined one is held back
    others = [mgr.allocate('n%d' % i).address for i in range(3)]
    assert a not in others
    with pytest.raises(exception.PoolExhausted):
        mgr.allocate('late')
    usage = mgr.usage('compute')[0]
    assert (usage.size, usage.used, usage.quarantined, usage.free) == \
        (5, 4, 1, 0)
    clock.advance(301)
    assert mgr.allocate('late').address == a
    # node-a lost its claim: it gets nothing back now
    with pytest.raises(exception.PoolExhausted):
        mgr.allocate('node-a')


def test_oldest_release_reused_first(make_manager, clock):
    mgr = make_manager(SMALL)
    addresses = {n: mgr.allocate(n).address for n in 'abcde'}
    for node in 'dbe':
        mgr.release(node)
        clock.advance(10)
    clock.advance(300)
    assert mgr.allocate('x').address == addresses['d']
    assert mgr.allocate('y').address == addresses['b']


def test_exhaustion_error_names_pool_and_size(make_manager):
    mgr = make_manager(SMALL)
    got = {mgr.allocate('n%d' % i).address for i in range(5)}
    assert len(got) == 5
    with pytest.raises(exception.PoolExhausted) as info:
        mgr.allocate('n5')
    assert 'Pool "compute"' in str(info.value)
    assert 'all 5 addresses' in str(info.value)
    # nothing leaked by the failed attempt
    assert mgr.get_allocations('n5') == []
    assert mgr.usage('compute')[0].used == 5


def test_pin(make_manager, clock):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1')                      # .10
    pinned = mgr.pin('node-1', '192.168.100.13')
    assert pinned.pinned and pinned.address == '192.168.100.13'
    assert [a.address for a in mgr.get_allocations('node-1')] == \
        ['192.168.100.13']
    # the cursor skips the pinned address
    assert [mgr.allocate(n).address for n in ('x', 'y', 'z')] == \
        ['192.168.100.11', '192.168.100.12', '192.168.100.14']
    with pytest.raises(exception.AddressInUse) as info:
        mgr.pin('other', '192.168.100.13')
    assert 'node-1' in str(info.value)
    # a pin survives release: nobody else gets it, its node does
    mgr.release('node-1')
    clock.advance(1000)
    # .10, which node-1 left for its pin, is out of quarantine
    assert mgr.allocate('w1').address == '192.168.100.10'
    with pytest.raises(exception.PoolExhausted):
        mgr.allocate('w0')
    assert mgr.allocate('node-1').address == '192.168.100.13'
    # forgetting the node frees the pin (after quarantine)
    mgr.forget('node-1')
    clock.advance(301)
    assert mgr.allocate('w2').address == '192.168.100.13'


def test_pin_outside_ranges_and_bad_pins(make_manager):
    mgr = make_manager(SMALL)
    outside = mgr.pin('node-1', '192.168.100.100')
    assert outside.pool.name == 'compute'
    usage = mgr.usage('compute')[0]
    assert (usage.used, usage.outside, usage.free) == (1, 1, 5)
    for address, error in (('192.168.100.1', exception.InvalidAddress),
                           ('192.168.100.255', exception.InvalidAddress),
                           ('172.16.0.1', exception.InvalidAddress),
                           ('not-an-ip', exception.InvalidAddress)):
        with pytest.raises(error):
            mgr.pin('node-2', address)
    with pytest.raises(exception.UnknownPool):
        mgr.pin('node-2', '192.168.100.101', pool='nope')


def test_pin_a_quarantined_address(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('old')
    mgr.release('old')
    assert mgr.pin('new', '192.168.100.10').node_uuid == 'new'


def test_release_by_scope_and_scope_promotion(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1', scope='cleaning')
    assert mgr.release('node-1', scope='deployment') == []
    assert len(mgr.release('node-1', scope='cleaning')) == 1
    mgr.allocate('node-1', scope='cleaning')
    promoted = mgr.allocate('node-1', scope='deployment')
    assert promoted.scope == 'deployment'
    assert mgr.release('node-1', scope='cleaning') == []
    assert mgr.get_allocations('node-1')[0].scope == 'deployment'


def test_ipv6_allocation(make_manager):
    mgr = make_manager(SMALL)
    addresses = [mgr.allocate('n%d' % i, pool='v6').address
                 for i in range(3)]
    assert addresses == ['2001:db8::2', '2001:db8::3', '2001:db8::4']
    pinned = mgr.pin('p', '2001:db8::ffff:ffff:ffff:fffe')
    assert pinned.pool.name == 'v6'


def test_reconcile(make_manager):
    mgr = make_manager(SMALL)
    for i, node in enumerate(('live-1', 'gone-1', 'gone-2')):
        mgr.allocate(node)
        mgr.upsert_reservation('52:54:00:00:00:%02x' % i, node)
    mgr.pin('gone-3', '192.168.100.100')
    released = mgr.reconcile({'live-1'})
    assert sorted(a.node_uuid for a in released) == \
        ['gone-1', 'gone-2', 'gone-3']
    assert [a.node_uuid for a in mgr.list_allocations()] == ['live-1']
    assert [r.node_uuid for r in mgr.list_reservations()] == ['live-1']
    assert mgr.reconcile({'live-1'}) == []


def test_forget_deletes_reservations_without_allocation(make_manager):
    mgr = make_manager(SMALL)
    mgr.upsert_reservation('52:54:00:00:00:07', 'ghost',
                           address='192.168.100.77', pool='compute')
    assert mgr.forget('ghost') == []
    assert mgr.list_reservations() == []


def test_reservations_and_generations(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1')
    start = mgr.changes_since(0)
    assert start.full and start.reservations == []
    assert {p.name for p in start.pools} == {'compute', 'storage', 'v6'}
    res = mgr.upsert_reservation('52:54:00:AA:BB:01', 'node-1',
                                 hostname='node-1')
    assert res.mac == '52:54:00:aa:bb:01'
    assert res.address == '192.168.100.10' and res.pool == 'compute'
    # a write that changes nothing takes no generation
    same = mgr.upsert_reservation('52-54-00-aa-bb-01', 'node-1')
    assert same.generation == res.generation
    delta = mgr.changes_since(start.generation)
    assert not delta.full and delta.pools == []
    assert [r.mac for r in delta.reservations] == ['52:54:00:aa:bb:01']
    profile = {'bootfile': 'snponly.efi',
               'ipxe_script_url': 'http://10.0.0.2:8080/boot.ipxe'}
    updated = mgr.set_boot_profile('node-1', profile)
    assert updated[0].boot_profile.to_dict() == profile
    assert updated[0].generation > res.generation
    assert mgr.changes_since(updated[0].generation).reservations == []
    mgr.set_boot_profile('node-1', None)
    assert mgr.list_reservations('node-1')[0].boot_profile.to_dict() == {}
    # release deletes: the agent learns it from a tombstone
    before = mgr.changes_since(0).generation
    mgr.release('node-1')
    delta = mgr.changes_since(before)
    assert [(r.mac, r.deleted) for r in delta.reservations] == \
        [('52:54:00:aa:bb:01', True)]
    assert mgr.list_reservations() == []
    assert mgr.changes_since(0).reservations == []


def test_tombstones_purged_then_full_snapshot(make_manager, clock):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1')
    mgr.allocate('node-2')
    mgr.upsert_reservation('52:54:00:00:00:01', 'node-1')
    mgr.upsert_reservation('52:54:00:00:00:02', 'node-2')
    seen = mgr.changes_since(0).generation
    mgr.release('node-1')
    assert mgr.purge_tombstones(3600) == 0
    clock.advance(3601)
    assert mgr.purge_tombstones(3600) == 1
    # the agent at `seen` missed a deletion that is gone: full snapshot
    changes = mgr.changes_since(seen)
    assert changes.full
    assert [r.mac for r in changes.reservations] == ['52:54:00:00:00:02']
    assert not mgr.changes_since(changes.generation).full


def test_reservation_errors_keep_what_is_stored(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1')
    mgr.allocate('node-2')
    mgr.upsert_reservation('52:54:00:00:00:01', 'node-1')
    with pytest.raises(exception.Conflict) as info:
        mgr.upsert_reservation('52:54:00:00:00:01', 'node-2')
    assert 'node-1' in str(info.value)
    with pytest.raises(exception.InvalidInput) as info:
        mgr.upsert_reservation('52:54:00:00:00', 'node-1')
    assert '52:54:00:00:00' in str(info.value)
    with pytest.raises(exception.InvalidInput):
        mgr.upsert_reservation('52:54:00:00:00:01', 'node-1',
                               boot_profile=['not', 'a', 'dict'])
    with pytest.raises(exception.AllocationNotFound):
        mgr.upsert_reservation('52:54:00:00:00:09', 'node-9')
    [kept] = mgr.list_reservations()
    assert (kept.mac, kept.node_uuid, kept.address) == \
        ('52:54:00:00:00:01', 'node-1', '192.168.100.10')


def test_allocate_and_reserve_in_one_transaction(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('other')
    mgr.upsert_reservation('52:54:00:00:00:99', 'other')
    allocation, reservations = mgr.allocate_and_reserve(
        'node-1', {'52:54:00:00:00:01': None, '52:54:00:00:00:02': 'cid'},
        hostname='n1', resource_class='baremetal-compute')
    assert allocation.address == '192.168.100.11'
    assert [(r.mac, r.address, r.hostname, r.client_id)
            for r in reservations] == [
        ('52:54:00:00:00:01', '192.168.100.11', 'n1', None),
        ('52:54:00:00:00:02', '192.168.100.11', 'n1', 'cid')]
    generation = mgr.changes_since(0).generation
    # again, unchanged: nothing written
    mgr.allocate_and_reserve('node-1', {'52:54:00:00:00:01': None,
                                        '52:54:00:00:00:02': 'cid'},
                             hostname='n1')
    assert mgr.changes_since(generation).reservations == []
    # a port removed: its reservation goes
    mgr.allocate_and_reserve('node-1', {'52:54:00:00:00:01': None})
    allocations, live = mgr.node_state('node-1')
    assert [a.address for a in allocations] == ['192.168.100.11']
    assert [r.mac for r in live] == ['52:54:00:00:00:01']
    # a foreign MAC: the whole transaction rolls back, no allocation
    with pytest.raises(exception.Conflict):
        mgr.allocate_and_reserve('node-2', {'52:54:00:00:00:99': None})
    assert mgr.get_allocations('node-2') == []
    assert mgr.node_state('other')[1][0].mac == '52:54:00:00:00:99'


def test_pin_moves_reservations(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1')
    mgr.upsert_reservation('52:54:00:00:00:01', 'node-1')
    mgr.pin('node-1', '192.168.100.150')
    assert mgr.list_reservations()[0].address == '192.168.100.150'


def test_changed_pool_config(make_manager):
    mgr = make_manager(SMALL)
    mgr.allocate('a')
    mgr.allocate('b')
    mgr.release('b')
    generation = mgr.changes_since(0).generation
    changed = make_manager(SMALL.replace(
        'ranges = 192.168.100.10-192.168.100.14',
        'ranges = 192.168.100.20-192.168.100.29').replace(
        'pools = compute, storage, v6', 'pools = compute, v6'),
        name='changed.conf')
    delta = changed.changes_since(generation)
    assert [p.name for p in delta.pools] == ['compute']
    assert delta.pools[0].size == 10
    assert {p.name for p in changed.get_pools()} == {'compute', 'v6'}
    # the active allocation outside the new ranges stays; b's claim is gone
    assert changed.get_allocations('a')[0].address == '192.168.100.10'
    assert changed.allocate('b').address == '192.168.100.20'


def test_store_survives_bad_url():
    with pytest.raises(exception.StoreError) as info:
        db_api.Database('nosuchdb://x/y')
    assert 'connection' in str(info.value) or 'nosuchdb' in str(info.value)


def test_all_addresses_inside_pool(make_manager):
    mgr = make_manager(SMALL)
    network = netaddr.IPNetwork('192.168.200.0/24')
    got = [mgr.allocate('s%d' % i, pool='storage').address
           for i in range(20)]
    assert len(set(got)) == 20
    assert all(netaddr.IPAddress(a) in network for a in got)
    assert '192.168.200.1' not in got and '192.168.200.0' not in got
