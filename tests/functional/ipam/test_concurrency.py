"""8 processes allocate 500 nodes each into one pool, at the same time.

Besides its own 500 nodes, every process also allocates the same 40 shared
nodes, so that concurrent allocations for one node race each other too.
Afterwards: no address twice, every node exactly one address, every
address inside the pool.
"""

import multiprocessing

import netaddr
import pytest
import sqlalchemy as sa

from tests import confutils
from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.db import models
from vmetal_ironic.ipam import manager
from vmetal_ironic.ipam import pools

PROCESSES = 8
NODES_EACH = 500
SHARED = 40

CONFIG = """
[vmetal_ipam]
pools = big
default_pool = big
[vmetal_pool:big]
cidr = 10.20.0.1/20
ranges = 10.20.0.10-10.20.15.250
"""


def _worker(url, config_dir, index, barrier):
    import pathlib
    conf = confutils.conf_from_text(
        CONFIG + '[vmetal_database]\nconnection = %s\n' % url,
        pathlib.Path(config_dir), name='worker-%d.conf' % index)
    # The shipped retry settings ([vmetal_ipam]max_retries).
    mgr = manager.IPAMManager(conf, database=db_api.Database.from_conf(conf))
    mgr.pools  # open and read the pools before the race starts
    nodes = ['w%d-%04d' % (index, n) for n in range(NODES_EACH)]
    shared = ['shared-%02d' % n for n in range(SHARED)]
    # interleave shared nodes among the worker's own
    order = []
    for i, node in enumerate(nodes):
        order.append(node)
        if i % (NODES_EACH // SHARED) == 0 and shared:
            order.append(shared.pop((index * 7) % len(shared)))
    barrier.wait()
    result = {node: mgr.allocate(node).address for node in order}
    mgr.close()
    return result


# 8 processes x 500 nodes on one database: its workers may take 300 s each
@pytest.mark.timeout(600)
@pytest.mark.parametrize('backend', ['postgresql', 'mysql', 'sqlite'])
def test_concurrent_allocations(backend, tmp_path):
    with databases.temporary_database(backend, tmp_path) as url:
        database = db_api.Database(url)
        migration.upgrade(database.writer)
        conf = confutils.conf_from_text(CONFIG + '[vmetal_database]\n'
                                        'connection = %s\n' % url, tmp_path)
        manager.IPAMManager(conf, database=database).sync_pools()
        database.dispose()
        ctx = multiprocessing.get_context('spawn')
        barrier = ctx.Manager().Barrier(PROCESSES)
        with ctx.Pool(PROCESSES) as workers:
            jobs = [workers.apply_async(_worker,
                                        (url, str(tmp_path), i, barrier))
                    for i in range(PROCESSES)]
            results = [job.get(timeout=300) for job in jobs]

        seen = {}
        for result in results:
            for node, address in result.items():
                # the same node always got the same address
                assert seen.setdefault(node, address) == address
        assert len(seen) == PROCESSES * NODES_EACH + SHARED

        database = db_api.Database(url)
        try:
            with database.reader.connect() as connection:
                rows = connection.execute(sa.select(
                    models.AllocationRecord.node_uuid,
                    models.AllocationRecord.address,
                    models.AllocationRecord.state)).all()
        finally:
            database.dispose()
        assert len(rows) == len(seen)
        assert all(state == 'active' for _, _, state in rows)
        by_node = {node: address for node, address, _ in rows}
        assert by_node == seen
        addresses = [address for _, address, _ in rows]
        assert len(set(addresses)) == len(addresses)
        space = pools.parse_pool('big', {
            'cidr': '10.20.0.1/20',
            'ranges': ['10.20.0.10-10.20.15.250']}).space
        assert all(int(netaddr.IPAddress(a)) in space for a in addresses)


SMALL = """
[vmetal_ipam]
pools = small
default_pool = small
quarantine = 0
[vmetal_pool:small]
cidr = 10.30.0.1/24
ranges = 10.30.0.10-10.30.0.33
"""
SMALL_SIZE = 24
SMALL_PROCESSES = 8
SMALL_EACH = 6


def _small_worker(url, config_dir, index, nodes, barrier):
    """Allocate ``nodes`` in turn: node -> address, or None if exhausted."""
    import pathlib

    from vmetal_ironic import exception
    conf = confutils.conf_from_text(
        SMALL + '[vmetal_database]\nconnection = %s\n' % url,
        pathlib.Path(config_dir), name='small-%d.conf' % index)
    mgr = manager.IPAMManager(conf, database=db_api.Database.from_conf(conf))
    mgr.pools
    barrier.wait()
    result = {}
    for node in nodes:
        try:
            result[node] = mgr.allocate(node).address
        except exception.PoolExhausted:
            result[node] = None
    mgr.close()
    return result


def _race_small_pool(backend, tmp_path, prepare, nodes_of):
    """Run the small-pool race; returns (answers, active rows)."""
    with databases.temporary_database(backend, tmp_path) as url:
        database = db_api.Database(url)
        migration.upgrade(database.writer)
        conf = confutils.conf_from_text(SMALL + '[vmetal_database]\n'
                                        'connection = %s\n' % url, tmp_path)
        mgr = manager.IPAMManager(conf, database=database)
        mgr.sync_pools()
        prepare(mgr)
        mgr.close()
        ctx = multiprocessing.get_context('spawn')
        barrier = ctx.Manager().Barrier(SMALL_PROCESSES)
        with ctx.Pool(SMALL_PROCESSES) as workers:
            jobs = [workers.apply_async(_small_worker, (
                url, str(tmp_path), i, nodes_of(i), barrier))
                for i in range(SMALL_PROCESSES)]
            answers = {}
            for job in jobs:
                answers.update(job.get(timeout=300))
        rows = databases.active_allocations(url)
    return answers, rows


def _check_small(answers, rows):
    granted = {n: a for n, a in answers.items() if a is not None}
    # Exactly as many allocations as the pool has addresses; the others
    # were told the pool is exhausted.
    assert len(granted) == SMALL_SIZE
    assert len(answers) - len(granted) == \
        SMALL_PROCESSES * SMALL_EACH - SMALL_SIZE
    # No address twice, and the database holds what was answered.
    assert len(set(granted.values())) == SMALL_SIZE
    assert dict(rows) == granted
    space = pools.parse_pool('small', {
        'cidr': '10.30.0.1/24', 'ranges': ['10.30.0.10-10.30.0.33']}).space
    assert all(int(netaddr.IPAddress(a)) in space for a in granted.values())


@pytest.mark.timeout(600)
@pytest.mark.parametrize('backend', ['postgresql', 'mysql', 'sqlite'])
def test_last_fresh_addresses(backend, tmp_path):
    """Twice as many nodes as addresses race for a fresh pool's stripes."""
    answers, rows = _race_small_pool(
        backend, tmp_path, lambda mgr: None,
        lambda i: ['p%d-%d' % (i, n) for n in range(SMALL_EACH)])
    _check_small(answers, rows)


@pytest.mark.timeout(600)
@pytest.mark.parametrize('backend', ['postgresql', 'mysql', 'sqlite'])
def test_last_released_addresses(backend, tmp_path):
    """A used-up pool whose addresses were all released is raced for.

    Half the racing nodes held an address before (each wants its own
    back: sticky), the other half are new (they recycle released ones):
    a released address goes to one node only, whoever asks first.
    """
    old = ['old-%02d' % n for n in range(SMALL_SIZE)]

    def prepare(mgr):
        for node in old:
            mgr.allocate(node)
        for node in old:
            mgr.release(node)

    def nodes_of(i):
        mine = old[i * 3:i * 3 + 3]
        return [n for pair in zip(mine, ['new%d-%d' % (i, k)
                                         for k in range(3)])
                for n in pair]
    answers, rows = _race_small_pool(backend, tmp_path, prepare, nodes_of)
    _check_small(answers, rows)
