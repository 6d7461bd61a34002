"""The agent in the path versus one flat segment: deploys and commands.

    sudo .venv/bin/python benchmarks/bridge_deploy_bench.py [-n 10]
        [--calls 300] [--big-mb 100] [--skip-deploy] [--skip-commands]

**Deploys.** Beds of :mod:`tests.fixtures.segments`: "agent" (three
segments, everything the server and the conductor exchange crosses the
agent: boot files, lookup, heartbeat, the image, the conductor's calls
through the callback listener) and "flat" (server and Ironic on one
bridge, the agent only serving DHCP), each with a plain HTTP ramdisk and
with an HTTPS ramdisk (automatic TLS): the agent's listener always serves
the conductor HTTPS, so "flat, TLS" is the fair baseline of the TLS
transport and "flat, HTTP" the one of the plain ramdisk. The Ironic
settings are the same on all beds. On each, one node is cleaned once,
then deployed and undeployed ``-n`` times (``direct``, the image from
Ironic's HTTP server); per deploy the ramdisk's events give the number of
heartbeats and of conductor requests, which shows where the time goes.

**Agent commands.** The conductor-side latency of one agent command and
the forwarding throughput, on the callback test's bed (the real agent,
stand-in Ironic API and ramdisks, :mod:`tests.functional.agent.http.
test_callback`): from the cluster namespace, ``--calls`` requests as the
conductor makes them (``GET /v1/commands/`` and a ``POST`` with a JSON
body, a new connection and TLS handshake each, as Ironic's per-task
client does, and the POST on one keep-alive connection, as the calls
within one task go) through the listener to a ramdisk on the provisioning
segment, versus directly to an identical ramdisk on the cluster segment;
p50 / p99. Then a ``--big-mb`` response through the listener versus
direct (median of 3, MB/s).

Printed as markdown tables with the ratios (target: at most 1.05).
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.fixtures import netns  # noqa: E402
from tests.fixtures import segments as seg  # noqa: E402
from tests.functional import databases  # noqa: E402
from tests.functional.ironic import helpers  # noqa: E402

DIRECT_IP = '10.98.0.61'
MAC = '52:54:00:be:00:01'


# --- deploys -----------------------------------------------------------------

def _deploy_counts(events):
    return {'heartbeats': sum(e['event'] == 'heartbeat' for e in events),
            'requests': sum(e['event'] == 'command-request'
                            for e in events)}


def run_deploys(flat, tls, n):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-bench-'))
    out = {'deploy': [], 'undeploy': [], 'heartbeats': [], 'requests': []}
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with seg.Bed(seg.postgresql_socket_url(url), flat=flat,
                         prefix='vbd') as bed:
                bed.start()
                env = bed.ironic
                server = bed.add_server('1', MAC, tls=tls)
                node = env.create_node(mac=MAC, deploy='direct')
                env.provide(node['uuid'], timeout=120)
                for _ in range(n):
                    mark = len(server.events())
                    t = time.monotonic()
                    done = helpers.deploy(env, node, timeout=120)
                    assert done['provision_state'] == 'active', done
                    out['deploy'].append(time.monotonic() - t)
                    counts = _deploy_counts(server.events()[mark:])
                    out['heartbeats'].append(counts['heartbeats'])
                    out['requests'].append(counts['requests'])
                    t = time.monotonic()
                    done = helpers.undeploy(env, node, timeout=120)
                    assert done['provision_state'] == 'available', done
                    out['undeploy'].append(time.monotonic() - t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def deploy_table(n):
    beds = {}
    for flat in (True, False):
        for tls in (False, True):
            beds[(flat, tls)] = run_deploys(flat, tls, n)
    med = {k: {m: statistics.median(v) for m, v in r.items()}
           for k, r in beds.items()}
    lines = ['| median of %d | flat, HTTP ramdisk | flat, TLS ramdisk | '
             'agent, HTTP ramdisk | agent, TLS ramdisk | agent/flat HTTP '
             '| agent/flat TLS | agent HTTP/flat TLS |' % n,
             '|---|---|---|---|---|---|---|---|']
    for key, unit in (('deploy', '%.2f s'), ('undeploy', '%.2f s'),
                      ('heartbeats', '%.0f'), ('requests', '%.0f')):
        fh, ft = med[(True, False)][key], med[(True, True)][key]
        ah, at = med[(False, False)][key], med[(False, True)][key]
        cells = [unit % v for v in (fh, ft, ah, at)]
        ratios = ['%.3f' % (a / b) if b else '-'
                  for a, b in ((ah, fh), (at, ft), (ah, ft))]
        lines.append('| %s | %s |' % (key, ' | '.join(cells + ratios)))
    return '\n'.join(lines), beds


# --- agent commands ----------------------------------------------------------

def _client(inside, ca, calls, url, method, body, keep_alive=False):
    """Timings (s) of ``calls`` requests, a new connection each or one."""
    import requests

    shared = requests.Session() if keep_alive else None

    def one():
        t = time.perf_counter()
        s = shared or requests.Session()
        r = s.request(method, url, data=body, verify=ca, timeout=30,
                      headers={'Content-Type': 'application/json'})
        r.raise_for_status()
        r.content
        if shared is None:
            s.close()
        return time.perf_counter() - t

    try:
        return inside.call(lambda: [one() for _ in range(calls)])
    finally:
        if shared is not None:
            inside.call(shared.close)


def _download(inside, ca, url):
    import requests

    def get():
        t = time.perf_counter()
        size = 0
        with requests.get(url, verify=ca, stream=True, timeout=120) as r:
            r.raise_for_status()
            for chunk in r.iter_content(1024 * 1024):
                size += len(chunk)
        return size / (time.perf_counter() - t) / 1e6

    return inside.call(get)


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * len(values))))]


def command_table(calls, big_mb):
    from tests.functional.agent.http import test_callback as tc

    rows = []
    with netns.Lab('vcbb') as lab:
        bed = tc.Bed(lab)
        direct = lab.namespace('direct')
        direct.attach(bed.clus, 'eth0', DIRECT_IP + '/24')
        inside = seg.InNamespace(bed.cluster.name)
        try:
            bed.start_api()
            bed.start_agent()
            cert = tc.self_signed(tc.IP_A, lab.path('ramdisk'))
            dcert = tc.self_signed(DIRECT_IP, lab.path('direct'))
            bed.ramdisk(bed.server_a, tc.IP_A, 9999, 'via')
            bed.ramdisk(bed.server_a, tc.IP_A, 9443, 'via-tls', cert=cert)
            bed.ramdisk(direct, DIRECT_IP, 9999, 'direct')
            bed.ramdisk(direct, DIRECT_IP, 9443, 'direct-tls', cert=dcert)
            plain = bed.register(bed.server_a, tc.NODE_A,
                                 'http://%s:9999' % tc.IP_A)
            tls = bed.register(bed.server_a, tc.NODE_A,
                               'https://%s:9443' % tc.IP_A,
                               verify_ca=cert[0])
            agent_ca = bed.ca_file(plain['agent_verify_ca'])
            paths = {
                'HTTP': (('http://%s:9999' % DIRECT_IP, None),
                         (plain['callback_url'], agent_ca)),
                'TLS': (('https://%s:9443' % DIRECT_IP, dcert[1]),
                        (tls['callback_url'], agent_ca))}
            body = json.dumps({'name': 'deploy.get_deploy_steps',
                               'params': {'node': {'x': 'y' * 2000}}})
            for ramdisk, ((d_url, d_ca), (v_url, v_ca)) in paths.items():
                for method, data in (('GET', None), ('POST', body)):
                    q = '/v1/commands/' + ('?wait=true' if data else '')
                    d = _client(inside, d_ca, calls, d_url + q, method,
                                data)
                    v = _client(inside, v_ca, calls, v_url + q, method,
                                data)
                    rows.append(('%s ramdisk, %s %s (ms)' % (
                        ramdisk, method, q), d, v))
                d = _client(inside, d_ca, calls, d_url + q, method, data,
                            keep_alive=True)
                v = _client(inside, v_ca, calls, v_url + q, method, data,
                            keep_alive=True)
                rows.append(('%s ramdisk, POST, one keep-alive connection '
                             '(ms)' % ramdisk, d, v))
                big = '/big/%d' % (big_mb * 1000 * 1000)
                d = [_download(inside, d_ca, d_url + big) for _ in range(3)]
                v = [_download(inside, v_ca, v_url + big) for _ in range(3)]
                rows.append(('%s ramdisk, %d MB response (MB/s)'
                             % (ramdisk, big_mb), d, v))
        finally:
            inside.close()
            if bed.agent is not None:
                bed.agent.stop()
            for proc in bed.ramdisks.values():
                netns.stop_process(proc)
    lines = ['| %d calls, cluster namespace | direct p50 | direct p99 | '
             'via listener p50 | via listener p99 | ratio p50 | ratio p99 |'
             % calls, '|---|---|---|---|---|---|---|']
    for name, d, v in rows:
        if 'MB/s' in name:
            dm, vm = statistics.median(d), statistics.median(v)
            lines.append('| %s, median of 3 | %.0f | | %.0f | | %.3f | |'
                         % (name, dm, vm, vm / dm))
            continue
        dp = [_pct(d, 50) * 1e3, _pct(d, 99) * 1e3]
        vp = [_pct(v, 50) * 1e3, _pct(v, 99) * 1e3]
        lines.append('| %s | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f |' % (
            name, dp[0], dp[1], vp[0], vp[1], vp[0] / dp[0], vp[1] / dp[1]))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-n', type=int, default=10)
    parser.add_argument('--calls', type=int, default=300)
    parser.add_argument('--big-mb', type=int, default=100)
    parser.add_argument('--skip-deploy', action='store_true')
    parser.add_argument('--skip-commands', action='store_true')
    parser.add_argument('--json', help='write the raw deploy samples here')
    args = parser.parse_args()
    began = time.monotonic()
    print('load average at start: %.2f %.2f %.2f' % os.getloadavg())
    if not args.skip_commands:
        print(command_table(args.calls, args.big_mb), flush=True)
        print()
    if not args.skip_deploy:
        table, raw = deploy_table(args.n)
        print(table)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'%s-%s' % ('flat' if k[0] else 'agent',
                                      'tls' if k[1] else 'http'): v
                           for k, v in raw.items()}, f)
    print('\nload average at end: %.2f %.2f %.2f; %.0f s'
          % (os.getloadavg() + (time.monotonic() - began,)))


if __name__ == '__main__':
    main()
