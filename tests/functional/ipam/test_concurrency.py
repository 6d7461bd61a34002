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
