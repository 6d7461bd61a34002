"""The periodic reconcile: lease, paging, only nodes Ironic does not know.

A real SQLite IPAM store; only Ironic's ``Node.list`` is replaced.
"""

import datetime
from unittest import mock

from ironic import objects
import pytest

from tests import confutils
from tests.fixtures import ipam as ipam_fixtures
from vmetal_ironic.conf import CONF
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic import exception
from vmetal_ironic.ipam import lease as lease_mod
from vmetal_ironic.ipam import manager
from vmetal_ironic.network import reconcile

objects.register_all()

LIVE = '00000000-0000-4000-8000-000000000001'
GONE = '00000000-0000-4000-8000-000000000002'
STRAY = '00000000-0000-4000-8000-000000000003'     # a reservation only


@pytest.fixture
def mgr(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'ipam.sqlite')
    database = db_api.Database(url)
    migration.upgrade(database.writer)
    conf = confutils.conf_from_text(ipam_fixtures.POOLS, tmp_path)
    mgr = manager.IPAMManager(conf, database=database)
    mgr.sync_pools()
    yield mgr
    mgr.close()


@pytest.fixture
def ironic_nodes():
    """The set of node UUIDs 'Ironic' has; Node.list answers from it."""
    nodes = set()
    queries = []

    def _list(context, filters=None, fields=None, **kwargs):
        assert fields == ['uuid']
        wanted = filters['uuid_in']
        queries.append(list(wanted))
        return [mock.Mock(uuid=u) for u in wanted if u in nodes]

    with mock.patch.object(objects.Node, 'list', autospec=True,
                           side_effect=_list):
        yield nodes, queries


def _lease_state(mgr):
    return lease_mod.Lease(mgr.database, lease_mod.RECONCILE, 'x').state()


def test_releases_only_vanished_nodes(mgr, ironic_nodes, caplog):
    nodes, _ = ironic_nodes
    nodes.add(LIVE)
    mgr.allocate_and_reserve(LIVE, {'52:54:00:00:00:01': None})
    mgr.allocate_and_reserve(GONE, {'52:54:00:00:00:02': None})
    mgr.upsert_reservation('52:54:00:00:00:03', STRAY,
                           address='192.168.100.30', pool='compute')
    caplog.set_level('INFO')
    assert reconcile.run('ctx', mgr, holder='cond-a') == [GONE, STRAY]
    assert mgr.get_allocations(LIVE)
    assert mgr.get_allocations(GONE) == []
    assert [r.node_uuid for r in mgr.list_reservations()] == [LIVE]
    assert ('vmetal reconcile run by cond-a: 3 node(s) known to the IPAM '
            'store, released 2 deleted node(s): %s, %s' % (GONE, STRAY)
            in caplog.text)
    state = _lease_state(mgr)
    assert (state['holder'], state['runs'], state['last_released']) == \
        ('cond-a', 1, 2)
    # Nothing left to do: the next run releases nothing.
    assert reconcile.run('ctx', mgr, holder='cond-a') == []
    assert _lease_state(mgr)['runs'] == 2


def test_one_conductor_per_interval(mgr, ironic_nodes):
    mgr.allocate_and_reserve(GONE, {'52:54:00:00:00:02': None})
    assert reconcile.run('ctx', mgr, holder='cond-a') == [GONE]
    mgr.allocate_and_reserve(STRAY, {'52:54:00:00:00:03': None})
    # cond-b's periodic fires in the same interval: it does nothing.
    assert reconcile.run('ctx', mgr, holder='cond-b') == []
    assert mgr.get_allocations(STRAY)
    assert _lease_state(mgr)['holder'] == 'cond-a'


def test_takeover_when_the_holder_stops(mgr, ironic_nodes):
    now = [datetime.datetime(2026, 12, 1, 12, 0, 0)]
    mgr.clock = lambda: now[0]
    assert reconcile.run('ctx', mgr, holder='cond-a') == []
    mgr.allocate_and_reserve(GONE, {'52:54:00:00:00:02': None})
    term = CONF.vmetal.reconcile_interval + CONF.vmetal.reconcile_lease_grace
    now[0] += datetime.timedelta(seconds=term - 1)
    assert reconcile.run('ctx', mgr, holder='cond-b') == []
    now[0] += datetime.timedelta(seconds=1)             # a's term is over
    assert reconcile.run('ctx', mgr, holder='cond-b') == [GONE]
    assert _lease_state(mgr)['holder'] == 'cond-b'


def test_lease_off_every_conductor_runs(mgr, ironic_nodes):
    CONF.set_override('reconcile_lease', False, group='vmetal')
    try:
        assert reconcile.run('ctx', mgr, holder='cond-a') == []
        mgr.allocate_and_reserve(GONE, {'52:54:00:00:00:02': None})
        assert reconcile.run('ctx', mgr, holder='cond-b') == [GONE]
        assert _lease_state(mgr)['runs'] == 0
    finally:
        CONF.clear_override('reconcile_lease', group='vmetal')


def test_pages_through_the_store(mgr, ironic_nodes):
    """Pages of reconcile_page_size UUIDs; Ironic asked once per page."""
    nodes, queries = ironic_nodes
    uuids = ['00000000-0000-4000-8000-%012d' % i for i in range(1, 8)]
    for i, node in enumerate(uuids):
        mgr.allocate_and_reserve(node, {'52:54:00:00:01:%02x' % i: None})
    nodes.update(uuids[::2])
    CONF.set_override('reconcile_page_size', 3, group='vmetal')
    try:
        assert reconcile.run('ctx', mgr, holder='cond-a') == uuids[1::2]
    finally:
        CONF.clear_override('reconcile_page_size', group='vmetal')
    assert queries == [uuids[0:3], uuids[3:6], uuids[6:7]]
    assert sorted(a.node_uuid for a in mgr.list_allocations(
        states=['active'])) == uuids[::2]


def test_store_down(ironic_nodes, caplog):
    mgr = mock.Mock(clock=datetime.datetime.utcnow)
    mgr.database.write.side_effect = exception.StoreError(reason='down')
    assert reconcile.run('ctx', mgr, holder='cond-a') == []
    assert 'cannot read the IPAM store' in caplog.text
    mgr.forget.assert_not_called()


def test_purge_failure_is_logged(mgr, ironic_nodes, caplog):
    with mock.patch.object(mgr, 'purge_tombstones', autospec=True,
                           side_effect=exception.StoreError(reason='down')):
        assert reconcile.run('ctx', mgr, holder='cond-a') == []
    assert 'tombstones' in caplog.text
    assert _lease_state(mgr)['runs'] == 1


def _three_gone(mgr):
    """A moving clock, three vanished nodes, the term and another holder.

    :returns: (now: a one-item list, uuids, term, the other's Lease).
    """
    now = [datetime.datetime(2026, 12, 1, 12, 0, 0)]
    mgr.clock = lambda: now[0]
    uuids = ['00000000-0000-4000-8000-00000000010%d' % i for i in range(3)]
    for i, node in enumerate(uuids):
        mgr.allocate_and_reserve(node, {'52:54:00:00:02:%02x' % i: None})
    term = lease_mod.term(CONF.vmetal.reconcile_interval,
                          CONF.vmetal.reconcile_lease_grace)
    other = lease_mod.Lease(mgr.database, lease_mod.RECONCILE, 'cond-b',
                            clock=mgr.clock)
    return now, uuids, term, other


def test_a_long_run_keeps_its_lease(mgr, ironic_nodes):
    now, uuids, term, other = _three_gone(mgr)
    forget = mgr.forget

    def slow_forget(node_uuid):
        now[0] += term / 2              # each release takes half a term
        assert not other.take(term)     # never taken over meanwhile
        return forget(node_uuid)

    with mock.patch.object(mgr, 'forget', side_effect=slow_forget):
        assert reconcile.run('ctx', mgr, holder='cond-a') == uuids
    state = _lease_state(mgr)
    assert state['holder'] == 'cond-a'
    assert state['expires_at'] == now[0] + term


def test_a_run_that_lost_its_lease_stops(mgr, ironic_nodes, caplog):
    now, uuids, term, other = _three_gone(mgr)
    forget = mgr.forget

    def hung_forget(node_uuid):
        now[0] += term * 2              # cond-a hung past its term
        assert other.take(term)
        return forget(node_uuid)

    with mock.patch.object(mgr, 'forget', side_effect=hung_forget):
        assert reconcile.run('ctx', mgr, holder='cond-a') == uuids[:1]
    assert 'cond-a lost the lease during its run; it stops' in caplog.text
    assert _lease_state(mgr)['holder'] == 'cond-b'
    assert mgr.get_allocations(uuids[1])
