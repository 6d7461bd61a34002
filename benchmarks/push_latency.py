#!/usr/bin/env python3
"""Commit-to-OFFER latency: vmetal push beside dnsmasq and Kea reloads.

Run as root from the repository, with RabbitMQ on 127.0.0.1:5672
(guest/guest)::

    sudo .venv/bin/python benchmarks/push_latency.py             # 1,000
    sudo .venv/bin/python benchmarks/push_latency.py --changes 200

It reuses the DHCP benchmark's bed (two namespaces and a veth pair,
``benchmarks/dhcp``) and its dnsmasq and Kea configurations. For each
server, N times: a new reservation is made and the time from the moment
it is committed to the first OFFER carrying it reaches the client is
measured by a prober (``push_probe.py``, in the client namespace, run
``SCHED_FIFO`` unless ``--prober-normal``) that sends a relayed DISCOVER
for the new MAC every millisecond; all ends read CLOCK_MONOTONIC (the
OFFER's time is the kernel's receive timestamp). The change is

* vmetal-push: the IPAM manager's write on PostgreSQL (a private
  instance on a Unix socket, reachable from the server namespace), the
  notice over RabbitMQ (bridged into the namespace with socat), the
  agent's ``changes_since`` read; ``sync_interval`` is 3600 s, so the
  periodic sync plays no part;
* vmetal-poll (``--with-poll``): the same without a broker, polled every
  ``sync_interval`` = 2 s;
* dnsmasq: a line appended to its ``dhcp-hostsfile`` and SIGHUP;
* kea: the configuration rewritten with the new reservation and SIGHUP
  (Kea reloads its configuration).

Prints p50/p99/max per server with the load average, writes JSON lines
to ``--out``, and for the vmetal servers the distribution of each stage
of the path and the breakdown of the ten slowest changes
(``push_stages.py``: from the timestamps ``vmetal_ironic/rpc/trace.py``
records in this process and in the agent, and the run-queue waits of
the processes from ``/proc/PID/task/*/schedstat``). doc/push.md reads
them.
"""

import argparse
import ipaddress
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'benchmarks', 'dhcp'))
import bench  # noqa: E402
from push_probe import Prober  # noqa: E402
import push_stages as stages  # noqa: E402
import servers  # noqa: E402

RABBIT = ('127.0.0.1', 5672)
#: The trace file of this process (the Ironic side: commit, publisher).
BENCH_TRACE = os.path.join(tempfile.gettempdir(),
                           'push-bench-trace-%d.txt' % os.getpid())
NEW_MAC = (0x06, 0, 0, 0, 0, 0)


# -- the changes -----------------------------------------------------------

class Vmetal:
    """The agent on the IPAM database; changes through the manager."""

    def __init__(self, bed, workdir, pg, push):
        from tests import confutils
        from vmetal_ironic.ipam import manager
        self.bed, self.workdir, self.push = bed, workdir, push
        net = ipaddress.ip_network('%s/%d' % (bed.network, bed.prefixlen))
        name = 'vmetal_bench_%d' % (os.getpid() + push)
        pg.createdb(name)
        self.url = pg.url(name)
        self.socats = []
        rpc = ''
        if push:
            sock = os.path.join(workdir, 'amqp.sock')
            self.socats.append(subprocess.Popen(
                ['socat', 'UNIX-LISTEN:%s,fork' % sock, 'TCP:%s:%d' % RABBIT],
                start_new_session=True))
            while not os.path.exists(sock):
                time.sleep(0.05)
            self.socats.append(subprocess.Popen(
                ['ip', 'netns', 'exec', bed.srv, 'socat',
                 'TCP-LISTEN:5672,bind=127.0.0.1,reuseaddr,fork',
                 'UNIX-CONNECT:%s' % sock], start_new_session=True))
            rpc = ('transport_url = rabbit://guest:guest@%s:%d/\n'
                   'topic = vmetal_bench_%d\n' % (RABBIT + (os.getpid(),)))
        text = ('[vmetal_database]\nconnection = %s\n[vmetal_rpc]\n%s'
                '[vmetal_ipam]\npools = b\ndefault_pool = b\n'
                '[vmetal_pool:b]\ncidr = %s\nranges = %s-%s\n'
                % (self.url, rpc, net, net[256], net[-2]))
        conf = confutils.conf_from_text(text, pathlib.Path(workdir),
                                        name='ipam.conf')
        subprocess.run([sys.executable, '-m', 'vmetal_ironic.cmd.dbsync',
                        '--config-file', os.path.join(workdir, 'ipam.conf'),
                        'upgrade'], check=True, cwd=REPO,
                       capture_output=True)
        self.mgr = manager.IPAMManager(conf)
        self.mgr.get_pools()
        for mac, ip in bed.reservations:
            self.mgr.upsert_reservation(mac, 'base-' + mac, address=ip,
                                        pool='b')
        agent_rpc = ('[vmetal_rpc]\ntransport_url = rabbit://guest:guest@'
                     '127.0.0.1:5672/\ntopic = vmetal_bench_%d\n'
                     % os.getpid()) if push else ''
        self.conf = os.path.join(workdir, 'agent.conf')
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nuse_stderr = true\n'
                    'default_log_levels = vmetal_ironic=WARNING\n'
                    '[dhcp_agent]\ninterface = %s\nserver_address = %s\n'
                    'sources = ipam\nsync_interval = %d\nstate_dir = %s\n'
                    'boot_options_for_all_clients = true\n'
                    'tftp_enabled = false\nhttp_proxy_enabled = false\n'
                    '[vmetal_database]\nconnection = %s\n%s'
                    % (bed.server_if, bed.server_ip, 3600 if push else 2,
                       workdir, self.url, agent_rpc))

    def argv(self):
        return [sys.executable, '-m', 'vmetal_ironic.cmd.dhcp_agent',
                '--config-file', self.conf]

    def change(self, server, mac, ip):
        self.mgr.upsert_reservation(mac, 'new-' + mac, address=ip, pool='b')
        return time.monotonic()

    def close(self):
        self.mgr.close()
        for p in self.socats:
            p.terminate()
            p.wait(10)


class Dnsmasq:
    def __init__(self, bed, workdir):
        self.workdir = workdir
        self._argv = servers.dnsmasq(bed, workdir)
        self.hosts = os.path.join(workdir, 'hosts')

    def argv(self):
        return self._argv

    def change(self, server, mac, ip):
        with open(self.hosts, 'a') as f:
            f.write('%s,%s\n' % (mac, ip))
        server.send_signal(signal.SIGHUP)
        return time.monotonic()

    def close(self):
        pass


class Kea:
    def __init__(self, bed, workdir):
        self._argv = servers.kea(bed, workdir)
        self.path = self._argv[-1]
        with open(self.path) as f:
            self.config = json.load(f)

    def argv(self):
        return self._argv

    def change(self, server, mac, ip):
        subnet = self.config['Dhcp4']['subnet4'][0]
        subnet['reservations'].append({'hw-address': mac, 'ip-address': ip})
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.config, f)
        os.replace(tmp, self.path)
        server.send_signal(signal.SIGHUP)
        return time.monotonic()

    def close(self):
        pass


def wait_serving(bed, prober, mac, ip, timeout=120):
    prober.arm(mac, ip)
    return prober.wait() is not None


def run_server(name, bed, changes, pg):
    from vmetal_ironic.rpc import trace
    workdir = tempfile.mkdtemp(prefix='push-bench-')
    os.chmod(workdir, 0o777)
    if name == 'vmetal-push':
        target = Vmetal(bed, workdir, pg, True)
    elif name == 'vmetal-poll':
        target = Vmetal(bed, workdir, pg, False)
    elif name == 'dnsmasq':
        target = Dnsmasq(bed, workdir)
    else:
        target = Kea(bed, workdir)
    agent_trace = os.path.join(workdir, 'trace-agent.txt')
    env = dict(os.environ, PYTHONPATH=REPO,
               **servers.ENV.get(name, lambda w: {})(workdir))
    env[trace.ENV] = agent_trace
    log = open(os.path.join(workdir, 'server.log'), 'w')
    server = subprocess.Popen(bed.exec_in(bed.srv, 0) + target.argv(),
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              cwd=REPO)
    prober = Prober(bed)
    samples, missed = [], 0
    load = [os.getloadavg()]
    try:
        mac0, ip0 = bed.reservations[-1]
        if not wait_serving(bed, prober, mac0, ip0):
            raise SystemExit('%s does not serve; see %s' % (name, workdir))
        if name == 'vmetal-push':
            time.sleep(2)           # the agent's fanout queue is declared
        first = int(ipaddress.ip_address(ip0)) + 1
        pids = (server.pid, os.getpid(), prober.p.pid)
        for i in range(changes):
            mac = bench.client_mac(i, NEW_MAC)
            ip = str(ipaddress.ip_address(first + i))
            prober.arm(mac, ip)
            before = [stages.schedstat(p) for p in pids]
            t_start = time.monotonic()
            t0 = target.change(server, mac, ip)
            got = prober.wait()
            after = [stages.schedstat(p) for p in pids]
            if got is None:
                missed += 1
                continue
            user, kernel, disc_sent, sends, gap = got
            (cpu0, wait0), (cpu1, wait1) = before[0], after[0]
            samples.append({
                't_start': t_start, 't0': t0, 'user': user,
                'kernel': kernel, 'disc_sent': disc_sent, 'sends': sends,
                'ms': max(0.0, kernel - t0) * 1e3,
                'user_ms': max(0.0, user - t0) * 1e3,
                'cpu_ms': (cpu1 - cpu0) / 1e6,
                'runq_ms': (wait1 - wait0) / 1e6, 'send_gap_ms': gap,
                'bench_runq_ms': (after[1][1] - before[1][1]) / 1e6,
                'prober_runq_ms': (after[2][1] - before[2][1]) / 1e6})
    finally:
        load.append(os.getloadavg())
        prober.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        target.close()
        log.close()
    if name.startswith('vmetal'):
        trace.flush()
        stages.merge(samples, stages.read_trace(BENCH_TRACE),
                     stages.read_trace(agent_trace))
    return samples, missed, load, workdir


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--changes', type=int, default=1000)
    ap.add_argument('--reservations', type=int, default=1000,
                    help='reservations in place before the changes')
    ap.add_argument('--servers', default='vmetal-push,dnsmasq,kea')
    ap.add_argument('--with-poll', action='store_true',
                    help='also vmetal-poll (sync_interval 2 s: slow)')
    ap.add_argument('--out', default='benchmarks/dhcp/results/'
                    'push_latency.jsonl')
    ap.add_argument('--prober-normal', action='store_true',
                    help='run the prober without SCHED_FIFO')
    args = ap.parse_args(argv)
    Prober.realtime = not args.prober_normal
    if os.geteuid() != 0:
        raise SystemExit('run as root (network namespaces)')
    os.environ['VMETAL_PUSH_TRACE'] = BENCH_TRACE     # before any import
    from tests.functional.rpc import services
    from vmetal_ironic.rpc import trace
    trace.watch_gc()
    names = args.servers.split(',') + (['vmetal-poll'] if args.with_poll
                                       else [])
    bed = bench.Bed(args.reservations)
    pg = services.PrivatePostgres()
    results = []
    try:
        pg.start()
        bed.up()
        for name in names:
            samples, missed, load, workdir = run_server(
                name, bed, args.changes, pg)
            ms = [x['ms'] for x in samples]
            user = [x['user_ms'] for x in samples]
            results.append({
                'server': name, 'changes': args.changes, 'missed': missed,
                'p50_ms': stages.pct(ms, 50), 'p99_ms': stages.pct(ms, 99),
                'max_ms': max(ms or [float('nan')]),
                'p50_read_ms': stages.pct(user, 50),
                'p99_read_ms': stages.pct(user, 99),
                'load_before': load[0][0], 'load_after': load[1][0],
                'time': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})
            print(json.dumps(results[-1]), flush=True)
            stages.report(name, samples)
            with open(os.path.join(workdir, 'samples.json'), 'w') as f:
                json.dump(samples, f)
            print('  samples: %s/samples.json' % workdir, flush=True)
    finally:
        bed.down()
        pg.close()
        if os.path.exists(BENCH_TRACE):
            os.unlink(BENCH_TRACE)
    print('\nOFFER at the client socket (kernel receive time); "read": when '
          'the prober read it. Load average (1 min) before/after each.')
    print('%-12s %8s %8s %8s %8s %7s %10s %10s %11s' % (
        'server', 'changes', 'p50 ms', 'p99 ms', 'max ms', 'missed',
        'read p50', 'read p99', 'load'))
    for r in results:
        print('%-12s %8d %8.1f %8.1f %8.1f %7d %10.1f %10.1f %5.1f-%-5.1f'
              % (r['server'], r['changes'], r['p50_ms'], r['p99_ms'],
                 r['max_ms'], r['missed'], r['p50_read_ms'],
                 r['p99_read_ms'], r['load_before'], r['load_after']))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'a') as f:
        for r in results:
            f.write(json.dumps(r) + '\n')


if __name__ == '__main__':
    main()
