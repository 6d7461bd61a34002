"""The discovery-lease store on SQLite, PostgreSQL and MariaDB.

Leases come from the pool's discovery range only, one per MAC, are
renewed in place, capped per pool, reused once expired or released, and
never given to a MAC that has a reservation; a MAC that gets one loses
its lease at the next take or expiry sweep.
"""

import datetime
import uuid

import pytest

from vmetal_ironic.ipam import discovery
from vmetal_ironic.ipam import sql_discovery

POOLS = '''
[vmetal_ipam]
pools = prov
default_pool = prov
[vmetal_pool:prov]
cidr = 172.22.0.1/24
ranges = 172.22.0.10-172.22.0.20
discovery_range = 172.22.0.200-172.22.0.203
'''

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0)


def mac(i):
    return '02:00:00:00:%02x:%02x' % (i // 256, i % 256)


@pytest.fixture
def store(make_manager):
    mgr = make_manager(POOLS)
    leases = discovery.DiscoveryLeases(database=mgr._database)
    yield mgr, leases


def at(seconds):
    return NOW + datetime.timedelta(seconds=seconds)


def test_leases_come_from_the_range_and_are_renewed(store):
    _, leases = store
    [rng] = leases.ranges()
    assert (rng.pool, rng.size, rng.gateway) == ('prov', 4, '172.22.0.1')
    first = leases.take(rng, mac(1), 60, cap=10, now=NOW)
    assert first == ('172.22.0.200', None)
    assert leases.take(rng, mac(2), 60, cap=10, now=NOW) == \
        ('172.22.0.201', None)
    # the same MAC again: the same address, a later expiry
    assert leases.renew(rng, mac(1).upper(), 60, cap=10, now=at(30)) == \
        first
    assert leases.in_use(now=at(75)) == {'prov': 1}      # mac 2 expired


def test_cap_and_full_range(store):
    _, leases = store
    [rng] = leases.ranges()
    got = [leases.take(rng, mac(i), 60, cap=3, now=NOW) for i in range(5)]
    assert [g[0] for g in got[:3]] == ['172.22.0.200', '172.22.0.201',
                                       '172.22.0.202']
    assert got[3] == got[4] == (None, sql_discovery.CAP)
    # a holder renews even at the cap
    assert leases.take(rng, mac(0), 60, cap=3, now=NOW)[0] == '172.22.0.200'
    got = [leases.take(rng, mac(i), 60, cap=100, now=NOW)
           for i in range(3, 6)]
    assert got == [('172.22.0.203', None), (None, sql_discovery.FULL),
                   (None, sql_discovery.FULL)]


def test_expired_and_released_addresses_are_reused(store):
    _, leases = store
    [rng] = leases.ranges()
    for i in range(4):
        leases.take(rng, mac(i), 60, cap=10, now=NOW)
    assert leases.release(mac(2), now=at(1)) is True
    assert leases.release(mac(2), now=at(1)) is False
    assert leases.take(rng, mac(9), 120, cap=10, now=at(2)) == \
        ('172.22.0.202', None)
    assert leases.expire(now=at(61)) == (3, 0)    # 0, 1, 3 expired
    assert leases.take(rng, mac(10), 60, cap=10, now=at(62))[0] in (
        '172.22.0.200', '172.22.0.201', '172.22.0.203')
    assert leases.in_use(now=at(62)) == {'prov': 2}


def test_a_reserved_mac_gets_no_lease_and_loses_its_own(store):
    mgr, leases = store
    [rng] = leases.ranges()
    assert leases.take(rng, mac(1), 60, cap=10, now=NOW)[0] == '172.22.0.200'
    assert leases.take(rng, mac(2), 60, cap=10, now=NOW)[0] == '172.22.0.201'
    node = str(uuid.uuid4())
    mgr.allocate(node)
    mgr.upsert_reservation(mac(1), node)
    # the sweep frees the lease of a MAC that got a reservation
    assert leases.expire(now=at(1)) == (0, 1)
    assert leases.take(rng, mac(1), 60, cap=10, now=at(2)) == \
        (None, sql_discovery.RESERVED)
    node2 = str(uuid.uuid4())
    mgr.allocate(node2)
    mgr.upsert_reservation(mac(2), node2)
    # so does a take by that MAC (another agent had not swept yet)
    assert leases.take(rng, mac(2), 60, cap=10, now=at(3)) == \
        (None, sql_discovery.RESERVED)
    assert leases.in_use(now=at(3)) == {'prov': 0}


def test_a_pool_without_a_range_has_none(make_manager):
    mgr = make_manager(POOLS.replace(
        'discovery_range = 172.22.0.200-172.22.0.203\n', ''))
    assert discovery.DiscoveryLeases(database=mgr._database).ranges() == []


def test_a_changed_range_drops_the_rows_of_the_old_one(store):
    _, leases = store
    [rng] = leases.ranges()
    for i in range(3):
        leases.take(rng, mac(i), 60, cap=10, now=NOW)
    moved = sql_discovery.Range(**dict(
        rng.__dict__, first=rng.first + 2, last=rng.last + 4))
    # the holder of an old-range address gets one of the new range
    assert leases.take(moved, mac(0), 60, cap=10, now=at(1)) == \
        ('172.22.0.202', None)
    assert leases.take(moved, mac(1), 60, cap=10, now=at(1)) == \
        ('172.22.0.203', None)
    assert leases.in_use(now=at(1)) == {'prov': 2}
