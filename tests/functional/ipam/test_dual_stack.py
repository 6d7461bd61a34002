"""Dual-stack nodes on SQLite, PostgreSQL and MariaDB.

A node whose pool selection gives an IPv4 and an IPv6 pool gets one
address of each; each PXE MAC has one reservation per IP version, with
generations and tombstones of its own.
"""

import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import node as node_mod
from vmetal_ironic.ipam.scope import Scope

DUAL = """
[vmetal_ipam]
pools = v4, v6, other4
default_pool = v4, v6
quarantine = 0

[vmetal_pool:v4]
cidr = 172.22.0.1/24
ranges = 172.22.0.50-172.22.0.59
dns_servers = 172.22.0.53
resource_classes = dual

[vmetal_pool:v6]
cidr = fd00:22::1/64
ranges = fd00:22::50-fd00:22::59
dns_servers = fd00:22::53
ntp_servers = fd00:22::123
resource_classes = dual

[vmetal_pool:other4]
cidr = 10.9.0.1/24
resource_classes = v4only
"""

NODE = 'aaaaaaaa-0000-4000-8000-00000000d001'
OTHER = 'aaaaaaaa-0000-4000-8000-00000000d002'
MAC1 = '52:54:00:d5:00:01'
MAC2 = '52:54:00:d5:00:02'


def facts(*macs, uuid=NODE, **fields):
    values = dict(uuid=uuid, name='dual-1', resource_class='dual',
                  ports=tuple(node_mod.PxePort(m) for m in (macs or (MAC1,))))
    values.update(fields)
    return node_mod.NodeFacts(**values)


def by_key(reservations):
    return {(r.mac, r.ip_version): r for r in reservations}


def test_one_address_of_each_family_and_in_place(make_manager):
    mgr = make_manager(DUAL)
    network = mgr.ensure_network(facts(MAC1, MAC2), Scope.DEPLOYMENT)
    assert network.written
    assert [(a.pool_name, a.address) for a in network.allocations] == [
        ('v4', '172.22.0.50'), ('v6', 'fd00:22::50')]
    assert network.allocation == network.allocations[0]
    have = by_key(network.reservations)
    assert sorted(have) == [(MAC1, 4), (MAC1, 6), (MAC2, 4), (MAC2, 6)]
    assert have[(MAC1, 6)].address == 'fd00:22::50'
    assert have[(MAC1, 6)].pool == 'v6'
    assert have[(MAC2, 4)].address == '172.22.0.50'
    assert len({r.generation for r in network.reservations}) == 4
    again = mgr.ensure_network(facts(MAC1, MAC2), Scope.DEPLOYMENT)
    assert not again.written
    assert again.allocations == network.allocations
    # a port goes: both of its reservations go, the other MAC keeps both
    fewer = mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    assert fewer.written
    assert sorted(by_key(fewer.reservations)) == [(MAC1, 4), (MAC1, 6)]
    assert sorted(by_key(mgr.list_reservations(NODE))) == [
        (MAC1, 4), (MAC1, 6)]


def test_changes_and_tombstones_of_both_rows(make_manager):
    mgr = make_manager(DUAL)
    start = mgr.changes_since(0).generation
    mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    changes = mgr.changes_since(start)
    assert not changes.full
    assert sorted((r.mac, r.ip_version, r.address, r.deleted)
                  for r in changes.reservations) == [
        (MAC1, 4, '172.22.0.50', False), (MAC1, 6, 'fd00:22::50', False)]
    seen = changes.generation
    released = mgr.release(NODE, Scope.DEPLOYMENT)
    assert sorted(a.address for a in released) == [
        '172.22.0.50', 'fd00:22::50']
    gone = mgr.changes_since(seen)
    assert sorted((r.mac, r.ip_version, r.deleted)
                  for r in gone.reservations) == [
        (MAC1, 4, True), (MAC1, 6, True)]
    assert len({r.generation for r in gone.reservations}) == 2
    assert all(r.generation > seen for r in gone.reservations)
    assert mgr.list_reservations(NODE) == []
    assert mgr.changes_since(gone.generation).reservations == []
    # a full read has no tombstones; the node comes back with both rows
    mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    full = mgr.changes_since(0)
    assert sorted((r.mac, r.ip_version) for r in full.reservations) == [
        (MAC1, 4), (MAC1, 6)]
    assert not any(r.deleted for r in full.reservations)


def test_forget_and_purge_both_rows(make_manager, clock):
    mgr = make_manager(DUAL)
    mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    mgr.forget(NODE)
    assert mgr.get_allocations(NODE) == []
    assert mgr.list_reservations(NODE) == []
    clock.advance(3600)
    assert mgr.purge_tombstones(older_than=60) == 2


def test_selection_rules_per_family(make_manager):
    mgr = make_manager(DUAL)
    # the default pools: one of each version
    nodefault = mgr.ensure_network(facts(resource_class=None))
    assert [a.pool_name for a in nodefault.allocations] == ['v4', 'v6']
    mgr.forget(NODE)
    # an explicit vmetal_pool naming an IPv4 pool only: IPv4 only, even
    # though an IPv6 pool lists the node's resource class
    only4 = mgr.ensure_network(facts(
        instance_info={node_mod.POOL_KEY: 'other4'}))
    assert [a.pool_name for a in only4.allocations] == ['other4']
    assert {r.ip_version for r in only4.reservations} == {4}
    mgr.forget(NODE)
    # two names: both, IPv4 first whatever the order
    both = mgr.ensure_network(facts(
        properties={node_mod.POOL_KEY: 'v6, other4'}))
    assert [a.pool_name for a in both.allocations] == ['other4', 'v6']
    with pytest.raises(exception.NoPoolForNode, match='two IPv4 pools'):
        mgr.ensure_network(facts(
            instance_info={node_mod.POOL_KEY: 'v4,other4'}))


def test_dual_then_single_deletes_the_other_family(make_manager):
    mgr = make_manager(DUAL)
    mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    mgr.release(NODE, Scope.DEPLOYMENT)
    single = mgr.ensure_network(facts(
        MAC1, resource_class='v4only'), Scope.DEPLOYMENT)
    assert [a.pool_name for a in single.allocations] == ['other4']
    assert sorted(by_key(mgr.list_reservations(NODE))) == [(MAC1, 4)]


def test_a_mac_belongs_to_one_node_in_both_families(make_manager):
    mgr = make_manager(DUAL)
    mgr.ensure_network(facts(MAC1, resource_class='v4only'))
    with pytest.raises(exception.Conflict, match='reserved for node'):
        mgr.ensure_network(facts(MAC1, uuid=OTHER))
    # nothing of the other node was written
    assert mgr.list_reservations(OTHER) == []
    assert mgr.get_allocations(OTHER) == []


def test_port_changed_reserves_both(make_manager):
    mgr = make_manager(DUAL)
    mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    assert mgr.port_changed(facts(MAC1, MAC2), MAC2, True)
    assert sorted(by_key(mgr.list_reservations(NODE))) == [
        (MAC1, 4), (MAC1, 6), (MAC2, 4), (MAC2, 6)]
    assert mgr.port_changed(facts(MAC1), MAC2, False)
    assert sorted(by_key(mgr.list_reservations(NODE))) == [
        (MAC1, 4), (MAC1, 6)]


def test_upsert_of_one_family_keeps_the_other(make_manager):
    mgr = make_manager(DUAL)
    mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    res = mgr.upsert_reservation(MAC1, NODE, address='fd00:22::58')
    assert (res.ip_version, res.pool) == (6, 'v6')
    have = by_key(mgr.list_reservations(NODE))
    assert have[(MAC1, 6)].address == 'fd00:22::58'
    assert have[(MAC1, 4)].address == '172.22.0.50'
    assert mgr.delete_reservations(mac=MAC1) == 2


def test_cleaning_phase_of_a_dual_stack_node(make_manager):
    mgr = make_manager(DUAL)
    phase = mgr.ensure_network(facts(MAC1), Scope.CLEANING)
    assert [(a.pool_name, a.scope) for a in phase.allocations] == [
        ('v4', 'cleaning'), ('v6', 'cleaning')]
    assert sorted(by_key(phase.reservations)) == [(MAC1, 4), (MAC1, 6)]
    assert not mgr.ensure_network(facts(MAC1), Scope.CLEANING).written
    assert len(mgr.release(NODE, Scope.CLEANING)) == 2
    assert mgr.list_reservations(NODE) == []
