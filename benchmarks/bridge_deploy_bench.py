"""Deploy wall time with the agent in the path versus one flat segment.

    sudo .venv/bin/python benchmarks/bridge_deploy_bench.py [-n 10]

Two beds of :mod:`tests.fixtures.segments`: "agent" (three segments,
everything the server and the conductor exchange crosses the agent: boot
files, lookup, heartbeat, the image, the conductor's calls through the
callback listener) and "flat" (server and Ironic on one bridge, the agent
only serving DHCP). On each, one node is cleaned once, then deployed and
undeployed ``-n`` times (``direct``, the image from Ironic's HTTP server).
Printed as a markdown table: median deploy and undeploy wall times and
the ratio agent / flat (target: at most 1.05).
"""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.fixtures import segments as seg  # noqa: E402
from tests.functional import databases  # noqa: E402
from tests.functional.ironic import helpers  # noqa: E402


def run(flat, n):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-bench-'))
    times = {'deploy': [], 'undeploy': []}
    with databases.temporary_database('postgresql', tmp) as url:
        with seg.Bed(seg.postgresql_socket_url(url), flat=flat,
                     prefix='vbd') as bed:
            bed.start()
            env = bed.ironic
            bed.add_server('1', '52:54:00:be:00:01')
            node = env.create_node(mac='52:54:00:be:00:01', deploy='direct')
            env.provide(node['uuid'], timeout=120)
            for _ in range(n):
                t = time.monotonic()
                done = helpers.deploy(env, node, timeout=120)
                assert done['provision_state'] == 'active', done
                times['deploy'].append(time.monotonic() - t)
                t = time.monotonic()
                done = helpers.undeploy(env, node, timeout=120)
                assert done['provision_state'] == 'available', done
                times['undeploy'].append(time.monotonic() - t)
    os.rmdir(tmp)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-n', type=int, default=10)
    args = parser.parse_args()
    flat = run(True, args.n)
    agent = run(False, args.n)
    print('| median of %d | flat segment | across the agent | ratio |'
          % args.n)
    print('|---|---|---|---|')
    for key in ('deploy', 'undeploy'):
        print('| %s wall time (s) | %.2f | %.2f | %.3f |' % (
            key, flat[key], agent[key], agent[key] / flat[key]))


if __name__ == '__main__':
    main()
