"""Two processes with different pool files against one PostgreSQL.

The pools are recorded once by ``vmetal-dbsync upgrade``; two other
processes, each with a pool file of its own, allocate and read: no pool
flip-flop, no pool generation bump, one warning each.
"""

import json
import os
import subprocess
import sys
import textwrap

import sqlalchemy as sa

from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import models

BASE = """
[vmetal_database]
connection = {url}
[vmetal_ipam]
pools = compute
default_pool = compute
[vmetal_pool:compute]
cidr = 192.168.100.1/24
ranges = {ranges}
"""

WORKER = textwrap.dedent("""
    import json, logging, sys
    from oslo_config import cfg
    from vmetal_ironic.conf import database, ipam
    from vmetal_ironic.ipam import manager
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    conf = cfg.ConfigOpts()
    database.register_opts(conf)
    ipam.register_opts(conf)
    conf(['--config-file', sys.argv[1]], default_config_files=[])
    mgr = manager.IPAMManager(conf)
    got = [mgr.allocate('%s-%d' % (sys.argv[2], i)).address
           for i in range(5)]
    mgr.get_pools()
    mgr.usage()
    mgr.close()
    print(json.dumps(got))
""")


def _run(args, timeout=120):
    return subprocess.run([sys.executable] + args, capture_output=True,
                          text=True, timeout=timeout, check=False,
                          cwd=os.path.dirname(os.path.dirname(
                              os.path.dirname(os.path.dirname(
                                  os.path.abspath(__file__))))))


def _pools(url):
    database = db_api.Database(url)
    try:
        with database.reader.connect() as connection:
            return connection.execute(sa.select(
                models.PoolRecord.name, models.PoolRecord.generation,
                models.PoolRecord.ranges, models.PoolRecord.retired)).all()
    finally:
        database.dispose()


def test_drifted_processes_only_read_the_pools(tmp_path):
    with databases.temporary_database('postgresql', tmp_path) as url:
        files = {}
        for name, ranges in (('owner', '192.168.100.10-192.168.100.100'),
                             ('a', '192.168.100.150-192.168.100.160'),
                             ('b', '192.168.100.200-192.168.100.210')):
            files[name] = tmp_path / ('%s.conf' % name)
            files[name].write_text(BASE.format(url=url, ranges=ranges))
        sync = _run(['-c', 'import sys; from vmetal_ironic.cmd import '
                     'dbsync; sys.exit(dbsync.main())', '--config-file',
                     str(files['owner']), 'upgrade'])
        assert sync.returncode == 0, sync.stderr
        assert 'Pools recorded: compute' in sync.stdout
        recorded = _pools(url)
        for rounds in range(2):
            for name in ('a', 'b'):
                run = _run(['-c', WORKER, str(files[name]),
                            '%s%d' % (name, rounds)])
                assert run.returncode == 0, run.stderr
                # The recorded ranges, not the process's own.
                assert all(int(a.rsplit('.', 1)[1]) <= 100
                           for a in json.loads(run.stdout))
                warnings = [line for line in run.stderr.splitlines()
                            if 'differ from the pools recorded' in line]
                assert len(warnings) == 1, run.stderr
                assert 'pool compute: ranges' in warnings[0]
                assert _pools(url) == recorded      # no flip-flop, no bump
