#!/usr/bin/env python3
"""Allocation latency and throughput of the IPAM store.

For each backend (SQLite file, the local PostgreSQL) and each fill of a /16
pool (0 %, 50 %, 90 %), time single allocations (p50/p99 over --samples),
then the throughput of --procs processes allocating at once.

Two paths are measured at 90 %: *fresh* (the pool's cursor still has
never-used addresses, the normal case) and *recycle* (the cursor has passed
the end; every allocation reuses the oldest released address, as in a pool
that has been churned through).

The pool is filled with the same rows sequential allocations would leave
(one bulk INSERT and the cursor moved), so a 90 % fill takes seconds.

    .venv/bin/python benchmarks/ipam_bench.py [--backends sqlite,postgresql]

``--throughput-only`` skips the latency cases; ``--tree DIR`` imports
``vmetal_ironic`` from another checkout (a ``git worktree`` of an older
commit), so that two versions are compared in one run.
"""

import argparse
import datetime
import json
import multiprocessing
import os
import pathlib
import statistics
import sys
import tempfile
import time

import netaddr
import sqlalchemy as sa

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
if '--tree' in sys.argv:
    sys.path.insert(0, os.path.abspath(sys.argv[sys.argv.index('--tree')
                                                + 1]))

from tests import confutils  # noqa: E402
from tests.functional import databases  # noqa: E402
from vmetal_ironic.db import api as db_api  # noqa: E402
from vmetal_ironic.db import migration  # noqa: E402
from vmetal_ironic.db import models  # noqa: E402
from vmetal_ironic.ipam import manager  # noqa: E402
try:
    from vmetal_ironic.ipam import sql_cursors as cursors  # noqa: E402
except ImportError:     # a tree from before the striped cursor
    cursors = None

CONFIG = """
[vmetal_ipam]
pools = bench
default_pool = bench
quarantine = 0
[vmetal_pool:bench]
cidr = 10.128.0.1/16
"""


def make_manager(url, workdir, name='bench.conf'):
    conf = confutils.conf_from_text(CONFIG, pathlib.Path(workdir), name=name)
    mgr = manager.IPAMManager(conf, database=db_api.Database(url),
                              manage_pools=True)
    mgr.pools
    return mgr


def fill(mgr, count, recycle_tail=0):
    """Leave the rows ``count`` sequential allocations would leave.

    With ``recycle_tail``, fill the whole pool and release the last
    ``recycle_tail`` addresses instead (the cursor is past the end).
    """
    spec = mgr.pool_config.get('bench')
    database = mgr.database
    now = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    total = spec.space.size if recycle_tail else count
    rows = []
    for i in range(total):
        released = recycle_tail and i >= total - recycle_tail
        rows.append({
            'pool_id': 1, 'node_uuid': 'fill-%06d' % i,
            'address': str(netaddr.IPAddress(spec.space.address_at(i))),
            'state': 'released' if released else 'active',
            'scope': 'deployment', 'pinned': False, 'allocated_at': now,
            'released_at': now if released else None})
    with database.writer.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(models.AllocationRecord),
                               rows[start:start + 5000])
        connection.execute(sa.update(models.PoolRecord).values(
            next_index=total))
        if cursors is not None:     # a tree with the striped cursor
            cursors.reset(connection, 1, total)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def time_allocations(mgr, prefix, samples):
    latencies = []
    for i in range(samples):
        start = time.perf_counter()
        mgr.allocate('%s-%05d' % (prefix, i))
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def _throughput_worker(url, workdir, index, count, barrier):
    mgr = make_manager(url, workdir, name='w%d.conf' % index)
    barrier.wait()
    start = time.perf_counter()
    for i in range(count):
        mgr.allocate('tp%d-%05d' % (index, i))
    elapsed = time.perf_counter() - start
    mgr.close()
    return elapsed


def throughput(url, workdir, procs, count):
    ctx = multiprocessing.get_context('spawn')
    barrier = ctx.Manager().Barrier(procs)
    with ctx.Pool(procs) as pool:
        jobs = [pool.apply_async(_throughput_worker,
                                 (url, workdir, i, count, barrier))
                for i in range(procs)]
        elapsed = [job.get(timeout=600) for job in jobs]
    return procs * count / max(elapsed)


def bench_backend(backend, args, workdir):
    result = {'backend': backend}
    cases = [('0%', 0, 0), ('50%', 50, 0), ('90%', 90, 0),
             ('90% recycle', 90, 10)]
    if args.throughput_only:
        cases = []
    for label, percent, recycle in cases:
        with databases.temporary_database(backend, workdir) as url:
            database = db_api.Database(url)
            migration.upgrade(database.writer)
            database.dispose()
            mgr = make_manager(url, workdir)
            size = mgr.pool_config.get('bench').space.size
            if recycle:
                fill(mgr, 0, recycle_tail=size * recycle // 100)
            elif percent:
                fill(mgr, size * percent // 100)
            time_allocations(mgr, 'warm', 20)
            lat = time_allocations(mgr, 'bench', args.samples)
            result[label] = {'p50_ms': round(statistics.median(lat), 3),
                             'p99_ms': round(percentile(lat, 0.99), 3),
                             'mean_ms': round(statistics.mean(lat), 3)}
            mgr.close()
            print('%s %s: %s' % (backend, label, result[label]),
                  file=sys.stderr)
    with databases.temporary_database(backend, workdir) as url:
        database = db_api.Database(url)
        migration.upgrade(database.writer)
        database.dispose()
        make_manager(url, workdir).close()
        rate = throughput(url, workdir, args.procs, args.per_proc)
        result['throughput_per_s'] = round(rate, 1)
        print('%s throughput (%d procs): %.1f/s' % (backend, args.procs, rate),
              file=sys.stderr)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backends', default='sqlite,postgresql')
    parser.add_argument('--samples', type=int, default=1000)
    parser.add_argument('--procs', type=int, default=4)
    parser.add_argument('--per-proc', type=int, default=500)
    parser.add_argument('--throughput-only', action='store_true')
    parser.add_argument('--tree', help='checkout to import vmetal_ironic '
                        'from (default: this one)')
    args = parser.parse_args()
    load = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in args.backends.split(','):
            results.append(bench_backend(backend, args,
                                         pathlib.Path(workdir)))
    print('| backend | fill | p50 ms | p99 ms | p50 / p50 at 0 % |')
    print('| --- | --- | --- | --- | --- |')
    for r in results:
        if '0%' not in r:
            continue
        base = r['0%']['p50_ms']
        for label in ('0%', '50%', '90%', '90% recycle'):
            print('| %s | %s | %.2f | %.2f | %.2f |' % (
                r['backend'], label, r[label]['p50_ms'], r[label]['p99_ms'],
                r[label]['p50_ms'] / base))
    print()
    for r in results:
        print('| %s | %d processes | %.0f allocations/s |' % (
            r['backend'], args.procs, r['throughput_per_s']))
    print('\nload average at start: %.2f %.2f %.2f' % load)
    print(json.dumps(results))


if __name__ == '__main__':
    main()
