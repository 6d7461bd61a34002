"""The node operations of the manager: the rules, on SQLite."""

from unittest import mock

import pytest
from sqlalchemy import event

from vmetal_ironic import boot_profile
from vmetal_ironic import exception
from vmetal_ironic.ipam import node
from vmetal_ironic.ipam.scope import Scope

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
MAC1 = '52:54:00:aa:00:01'
MAC2 = '52:54:00:aa:00:02'
PROFILE = boot_profile.BootProfile(bootfile='snponly.efi',
                                   tftp_server='10.0.0.2')


def facts(*macs, **fields):
    values = dict(uuid=NODE, name='node-1',
                  resource_class='baremetal-compute',
                  ports=tuple(node.PxePort(m) for m in (macs or (MAC1,))))
    values.update(fields)
    return node.NodeFacts(**values)


@pytest.fixture
def writes(mgr):
    """Counts the manager's write transactions."""
    database = mgr.database
    with mock.patch.object(database, 'write', autospec=True,
                           side_effect=database.write) as counted:
        yield counted


def test_deployment_one_write_then_none(mgr, writes):
    first = mgr.ensure_network(facts(MAC1, MAC2), Scope.DEPLOYMENT)
    assert first.written and writes.call_count == 1
    assert first.allocation.address == '192.168.100.10'
    assert first.allocation.scope == 'deployment'
    assert sorted(r.mac for r in first.reservations) == [MAC1, MAC2]
    assert {r.hostname for r in first.reservations} == {'node-1'}
    again = mgr.ensure_network(facts(MAC1, MAC2), Scope.DEPLOYMENT)
    assert not again.written and writes.call_count == 1
    assert again.allocation.address == first.allocation.address
    # A port gone: one write, its reservation deleted.
    fewer = mgr.ensure_network(facts(MAC1), Scope.DEPLOYMENT)
    assert fewer.written and writes.call_count == 2
    assert [r.mac for r in mgr.list_reservations(NODE)] == [MAC1]


def test_node_scope_from_driver_info(mgr):
    network = mgr.ensure_network(facts(driver_info={
        node.SCOPE_KEY: 'node'}))
    assert network.allocation.scope == 'node'
    # Tear down releases the deployment scope only: a node-scoped
    # allocation stays.
    assert mgr.release(NODE, Scope.DEPLOYMENT) == []
    assert mgr.get_allocations(NODE)
    with pytest.raises(exception.InvalidInput, match=node.SCOPE_KEY):
        mgr.ensure_network(facts(driver_info={node.SCOPE_KEY: 'cleaning'}))


def test_tear_down_releases_deployment(mgr, writes):
    mgr.ensure_network(facts())
    [released] = mgr.release(NODE, Scope.DEPLOYMENT)
    assert released.address == '192.168.100.10'
    assert mgr.list_reservations(NODE) == []
    count = writes.call_count
    assert mgr.release(NODE, Scope.DEPLOYMENT) == []
    assert writes.call_count == count          # nothing to release: a read


def test_cleaning_gets_own_allocation(mgr):
    network = mgr.ensure_network(facts(), Scope.CLEANING)
    assert network.allocation.scope == 'cleaning'
    assert [r.mac for r in network.reservations] == [MAC1]
    assert len(mgr.release(NODE, Scope.CLEANING)) == 1
    assert mgr.get_allocations(NODE) == []


@pytest.mark.parametrize('phase', [Scope.RESCUE, Scope.INSPECTION,
                                   Scope.SERVICING, Scope.CLEANING])
def test_phase_reuses_the_deployment(mgr, writes, phase):
    deployed = mgr.ensure_network(facts())
    count = writes.call_count
    again = mgr.ensure_network(facts(), phase)
    assert not again.written and writes.call_count == count
    assert again.allocation == deployed.allocation
    # A MAC added: reserved for the existing allocation, pool and scope.
    more = mgr.ensure_network(facts(MAC1, MAC2), phase)
    assert more.written
    assert (more.allocation.pool_name, more.allocation.scope) == \
        ('compute', 'deployment')
    assert mgr.release(NODE, phase) == []       # not the phase's
    assert mgr.get_allocations(NODE)


def test_deployment_promotes_a_phase_allocation(mgr):
    mgr.ensure_network(facts(), Scope.CLEANING)
    network = mgr.ensure_network(facts())
    assert network.allocation.scope == 'deployment'
    assert mgr.release(NODE, Scope.CLEANING) == []


def test_explicit_pool_and_unknown_pool(mgr):
    network = mgr.ensure_network(facts(instance_info={
        node.POOL_KEY: 'storage'}))
    assert network.allocation.pool_name == 'storage'
    with pytest.raises(exception.NoPoolForNode, match='instance_info'):
        mgr.ensure_network(facts(uuid='other', instance_info={
            node.POOL_KEY: 'nope'}))


def test_foreign_mac_writes_nothing(mgr):
    mgr.ensure_network(facts(MAC1))
    with pytest.raises(exception.Conflict):
        mgr.ensure_network(facts(MAC1, uuid='node-2', name='n2'))
    assert mgr.get_allocations('node-2') == []


def test_port_changed(mgr):
    assert not mgr.port_changed(facts(), MAC1, True)   # no allocation
    assert mgr.list_reservations() == []
    mgr.ensure_network(facts())
    assert mgr.port_changed(facts(), '52:54:00:AA:00:77', True,
                            client_id='cid', old_mac=MAC1)
    [res] = mgr.list_reservations(NODE)
    assert (res.mac, res.client_id, res.address) == \
        ('52:54:00:aa:00:77', 'cid', '192.168.100.10')
    assert mgr.port_changed(facts(), '52:54:00:aa:00:77', False)
    assert mgr.list_reservations(NODE) == []


def test_boot_profile_is_the_nodes(mgr, writes):
    mgr.ensure_network(facts())
    before = mgr.changes_since(0).generation
    [res] = mgr.set_boot_profile(NODE, PROFILE)
    assert res.boot_profile == PROFILE
    count = writes.call_count
    mgr.set_boot_profile(NODE, PROFILE)              # unchanged
    mgr.set_boot_profile(NODE, PROFILE.to_dict())
    assert writes.call_count == count
    # A MAC added later serves the profile at once.
    network = mgr.ensure_network(facts(MAC1, MAC2))
    assert {r.mac: r.boot_profile for r in network.reservations} == \
        {MAC1: PROFILE, MAC2: PROFILE}
    # A change reaches the agent for every MAC of the node.
    seen = mgr.changes_since(before).generation
    mgr.set_boot_profile(NODE, None)
    delta = mgr.changes_since(seen)
    assert sorted((r.mac, r.boot_profile) for r in delta.reservations) == \
        [(MAC1, boot_profile.EMPTY), (MAC2, boot_profile.EMPTY)]
    count = writes.call_count
    mgr.set_boot_profile(NODE, None)                 # nothing to clear
    assert writes.call_count == count


def test_profile_without_reservation_kept_for_later(mgr):
    assert mgr.set_boot_profile(NODE, PROFILE) == []
    [res] = mgr.ensure_network(facts()).reservations
    assert res.boot_profile == PROFILE
    mgr.forget(NODE)
    assert mgr.set_boot_profile(NODE, None) == []   # forget dropped it
    with pytest.raises(exception.InvalidInput):
        mgr.set_boot_profile(NODE, {'bootfile': 'a\nb'})


@pytest.mark.parametrize('bad', ['node\n1', 'node\x1b[31m', 'x' * 37, '',
                                 ' node'])
def test_node_identifiers_checked(mgr, bad):
    with pytest.raises(exception.InvalidInput):
        mgr.allocate(bad)
    with pytest.raises(exception.InvalidInput):
        mgr.ensure_network(facts(uuid=bad))
    assert mgr.list_allocations() == []


def test_hostname_checked(mgr):
    with pytest.raises(exception.InvalidInput, match='hostname'):
        mgr.ensure_network(facts(name='evil\x1b]0;x\x07'))
    with pytest.raises(exception.InvalidInput, match='hostname'):
        mgr.upsert_reservation(MAC1, NODE, address='192.168.100.50',
                               pool='compute', hostname='a\nb')
    assert mgr.list_reservations() == []


def test_scope_checked(mgr):
    with pytest.raises(exception.InvalidInput, match='scope'):
        mgr.allocate(NODE, scope='x' * 200)
    with pytest.raises(exception.InvalidInput, match='scope'):
        mgr.release(NODE, scope='forever')
    assert mgr.allocate(NODE, scope='rescue').scope == 'rescue'


def test_addresses_of_the_pools_version(mgr):
    with pytest.raises(exception.InvalidAddress, match='IPv4'):
        mgr.upsert_reservation(MAC1, NODE, address='8.8.8.8',
                               pool='compute')
    with pytest.raises(exception.InvalidAddress):
        mgr.upsert_reservation(MAC1, NODE, address='2001:db8::1',
                               pool='compute')
    with pytest.raises(exception.InvalidAddress, match='no pool'):
        mgr.upsert_reservation(MAC1, NODE, address='8.8.8.8')
    with pytest.raises(exception.InvalidAddress):
        mgr.pin(NODE, '8.8.8.8', pool='compute')
    with pytest.raises(exception.InvalidAddress):
        mgr.pin(NODE, '8.8.8.8')
    assert mgr.list_reservations() == [] and mgr.list_allocations() == []


def test_stale_hints_never_give_a_wrong_answer(make_mgr):
    """Two processes on one store: each one's hints go stale."""
    one, _ = make_mgr()
    other, _ = make_mgr(sync=False, name='other.conf')
    one.ensure_network(facts())
    one.set_boot_profile(NODE, PROFILE)
    # The other process clears it: one's hint (PROFILE) is now stale,
    # so one must find out and store it again.
    other.set_boot_profile(NODE, None)
    [res] = one.set_boot_profile(NODE, PROFILE)
    assert res.boot_profile == PROFILE
    # one's hint says "change to EMPTY is due"; the other process did it
    # already: the write transaction finds nothing to do.
    other.set_boot_profile(NODE, None)
    generation = one.changes_since(0).generation
    one.set_boot_profile(NODE, None)
    assert one.changes_since(0).generation == generation
    assert [r.boot_profile for r in one.list_reservations(NODE)] == \
        [boot_profile.EMPTY]
    # Releases: the other process released first; one's hint (active)
    # costs a write that releases nothing.
    assert other.release(NODE, Scope.DEPLOYMENT)
    assert one.release(NODE, Scope.DEPLOYMENT) == []
    assert one.get_allocations(NODE) == []


def _commits(mgr):
    """A list that grows by one at each commit of the manager's database."""
    counted = []
    database = mgr.database
    for engine in {id(e): e for e in (database.writer,
                                      database.reader)}.values():
        event.listen(engine, 'commit', lambda conn: counted.append(1))
    return counted


def test_one_commit_per_operation_none_when_in_place(mgr):
    commits = _commits(mgr)
    steps = [
        (lambda: mgr.ensure_network(facts()), 1),           # allocate
        (lambda: mgr.ensure_network(facts()), 0),           # in place
        (lambda: mgr.set_boot_profile(NODE, PROFILE), 1),
        (lambda: mgr.set_boot_profile(NODE, PROFILE), 0),   # every boot
        (lambda: mgr.set_boot_profile(NODE, PROFILE.to_dict()), 0),
        (lambda: mgr.ensure_network(facts(), Scope.CLEANING), 0),
        (lambda: mgr.set_boot_profile(NODE, None), 1),      # clean
        (lambda: mgr.set_boot_profile(NODE, None), 0),
        (lambda: mgr.release(NODE, Scope.DEPLOYMENT), 1),
        (lambda: mgr.release(NODE, Scope.DEPLOYMENT), 0),
        (lambda: mgr.release(NODE, Scope.CLEANING), 0),
    ]
    for number, (step, expected) in enumerate(steps):
        before = len(commits)
        step()
        assert len(commits) - before == expected, number


def test_a_process_without_hints_commits_nothing_in_place(make_mgr):
    """A missing or stale hint costs a rolled-back write, not a commit."""
    one, _ = make_mgr()
    one.ensure_network(facts(MAC1, MAC2))
    one.set_boot_profile(NODE, PROFILE)
    fresh, _ = make_mgr(sync=False, name='fresh.conf')
    commits = _commits(fresh)
    network = fresh.ensure_network(facts(MAC1, MAC2))
    assert not network.written
    assert network.allocation == one.get_allocations(NODE)[0]
    assert [r.boot_profile for r in fresh.set_boot_profile(NODE, PROFILE)] \
        == [PROFILE, PROFILE]
    assert fresh.release(NODE, Scope.CLEANING) == []
    stale, _ = make_mgr(sync=False, name='stale.conf')
    stale.ensure_network(facts(MAC1, MAC2))         # its hint: allocated
    assert one.release(NODE, Scope.DEPLOYMENT)
    commits_stale = _commits(stale)
    assert stale.release(NODE, Scope.DEPLOYMENT) == []
    assert commits == [] and commits_stale == []
    assert fresh.get_allocations(NODE) == []


def test_profile_answer_is_what_is_stored(mgr):
    """set_boot_profile's answer (generations computed) is the store's."""
    mgr.ensure_network(facts(MAC1, MAC2))
    for profile in (PROFILE, None, PROFILE, PROFILE):
        answer = mgr.set_boot_profile(NODE, profile)
        assert answer == mgr.list_reservations(NODE)
        assert {r.boot_profile for r in answer} == {
            profile or boot_profile.EMPTY}
    assert len({r.generation for r in answer}) == 2
