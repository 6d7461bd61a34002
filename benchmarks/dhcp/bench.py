#!/usr/bin/env python3
"""DHCPv4 benchmark: vmetal-dhcp-agent beside dnsmasq and Kea, by perfdhcp.

Run as root from the repository (it makes two network namespaces joined by
a veth pair and nothing else: no packet leaves them)::

    sudo .venv/bin/python benchmarks/dhcp/bench.py --clients 1000
    sudo .venv/bin/python benchmarks/dhcp/bench.py --clients 10000 \\
        --duration 10 --servers vmetal-agent,kea

For each server in turn, with the same N reservations (perfdhcp's client
MACs, one fixed address each): start-up time (spawn until the last
reserved MAC gets an OFFER), then perfdhcp at offered rates doubling from
``--start-rate`` (full DORA, N clients) until more than ``--max-drop``
percent of the exchanges are lost or fewer than 90 % complete, and one
step halfway back; the highest rate that held is the server's rate.
Server CPU per DORA and resident memory are read from /proc. Results: a
table on stdout, ratios of vmetal-agent to each reference, JSON lines in
``--out``.

Needs (Debian 12): iproute2, util-linux (taskset), kea-admin (perfdhcp),
dnsmasq-base, kea-dhcp4-server. The packages' system services are not
used: the servers run here, in the server namespace, with their own
configuration files in a temporary directory.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import verify  # noqa: E402

BASE_MAC = (0x02, 0, 0, 0, 0, 0)
TICKS = os.sysconf('SC_CLK_TCK')


def client_mac(i, base=BASE_MAC):
    """perfdhcp's MAC of client ``i`` (``-b mac=BASE -R N``).

    Each octet of ``i`` is added to BASE from the right, modulo 256,
    without carry.
    """
    octets = list(base)
    for k in range(6):
        octets[5 - k] = (octets[5 - k] + ((i >> (8 * k)) & 0xff)) & 0xff
    return ':'.join('%02x' % o for o in octets)


class Bed:
    """Three namespaces on a bridge (a fourth); torn down by :meth:`down`.

    ``srv`` holds the server (or the first agent) on ``srv0``, ``srv2`` the
    second agent of the two-agent mode on ``srv1``, ``cli`` perfdhcp on
    ``cli0``; the bridge namespace joins them and nothing else.
    """

    server_if, server2_if, client_if = 'srv0', 'srv1', 'cli0'

    def __init__(self, clients, cidr='10.77.0.0/16'):
        net = ipaddress.ip_network(cidr)
        self.network, self.prefixlen = str(net.network_address), \
            net.prefixlen
        self.netmask = str(net.netmask)
        self.server_ip, self.client_ip = str(net[1]), str(net[2])
        self.server2_ip = str(net[3])
        first = int(net[256])
        if clients > net.num_addresses - 512:
            raise SystemExit('%d clients do not fit in %s' % (clients, cidr))
        self.reservations = [(client_mac(i), str(ipaddress.ip_address(
            first + i))) for i in range(clients)]
        tag = '%d' % os.getpid()
        self.srv, self.cli = 'vmbench-srv-' + tag, 'vmbench-cli-' + tag
        self.srv2, self.sw = 'vmbench-srv2-' + tag, 'vmbench-sw-' + tag
        self.namespaces = (self.srv, self.srv2, self.cli, self.sw)

    def up(self):
        for ns in self.namespaces:
            _run('ip', 'netns', 'add', ns)
            _run('ip', '-n', ns, 'link', 'set', 'lo', 'up')
            _run('ip', 'netns', 'exec', ns, 'sysctl', '-qw',
                 'net.ipv4.ip_forward=0')
        _run('ip', '-n', self.sw, 'link', 'add', 'br0', 'type', 'bridge',
             'stp_state', '0', 'forward_delay', '0')
        _run('ip', '-n', self.sw, 'link', 'set', 'br0', 'up')
        for n, (ns, dev, ip) in enumerate((
                (self.srv, self.server_if, self.server_ip),
                (self.srv2, self.server2_if, self.server2_ip),
                (self.cli, self.client_if, self.client_ip))):
            port = 'p%d' % n
            _run('ip', '-n', self.sw, 'link', 'add', port, 'type', 'veth',
                 'peer', 'name', dev, 'netns', ns)
            _run('ip', '-n', self.sw, 'link', 'set', port, 'master', 'br0',
                 'up')
            _run('ip', '-n', ns, 'addr', 'add',
                 '%s/%d' % (ip, self.prefixlen), 'dev', dev)
            _run('ip', '-n', ns, 'link', 'set', dev, 'up')

    def down(self):
        for ns in self.namespaces:
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)

    def exec_in(self, ns, cpu):
        return ['ip', 'netns', 'exec', ns, 'taskset', '-c', str(cpu)]


def _run(*argv):
    subprocess.run(argv, check=True, capture_output=True, text=True)


def perfdhcp(bed, args, timeout):
    """Run perfdhcp in the client namespace; its parsed statistics."""
    argv = bed.exec_in(bed.cli, 1) + [
        'perfdhcp', '-4', '-l', bed.client_if, '-g', 'single'] + args
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'ok': False, 'offers': 0, 'acks': 0, 'rate': 0.0,
                'drops_pct': 100.0}
    return parse(proc.stdout, proc.returncode)


def parse(text, returncode):
    """perfdhcp's report: exchanges per second, sent and dropped."""
    rate = re.search(r'Rate: ([\d.]+) 4-way exchanges/second', text)
    sent = [int(n) for n in re.findall(r'sent packets: (\d+)', text)]
    received = [int(n) for n in re.findall(r'received packets: (\d+)',
                                           text)]
    drops = [int(n) for n in re.findall(r'drops: (\d+)', text)]
    lost = sum(drops)
    total = sum(sent)
    return {'ok': returncode == 0,
            'offers': received[0] if received else 0,
            'acks': received[1] if len(received) > 1 else 0,
            'rate': float(rate.group(1)) if rate
            else 0.0, 'sent': total, 'lost': lost,
            'drops_pct': 100.0 * lost / total if total else 100.0}


def proc_cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss_mb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Processes:
    """The processes of one server under test (two agents: two).

    CPU and RSS are their sums.
    """

    def __init__(self, procs):
        self.procs = procs

    def poll(self):
        """None while all run, else the first exit status."""
        for p in self.procs:
            if p.poll() is not None:
                return p.returncode
        return None

    def cpu_s(self):
        return sum(proc_cpu_s(p.pid) for p in self.procs)

    def rss_mb(self):
        return sum(proc_rss_mb(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def search_rate(measure, cpu, opts):
    """The highest offered rate a server holds, and every step measured.

    Rates double from ``opts.start_rate`` until more than
    ``opts.max_drop`` percent of the exchanges are lost or fewer than
    90 % complete, then one step halfway back.

    :param measure: runs perfdhcp at an offered rate; its parsed stats.
    :param cpu: the server's PID, or a function returning its CPU
        seconds (several processes: their sum), for the CPU per step.
    :returns: the result fields (steps, rate_per_s, drops_pct,
        cpu_us_per_dora, limited_by_max_rate).
    """
    if not callable(cpu):
        pid = cpu

        def cpu():
            return proc_cpu_s(pid)
    steps, best, refining = [], None, False
    rate = opts.start_rate
    while rate <= opts.max_rate:
        before = cpu()
        stats = measure(rate)
        stats['cpu_s'] = cpu() - before
        # perfdhcp's own "Rate" counts the exit wait (-W) as well
        stats['rate'] = stats['acks'] / opts.duration
        stats['offered'] = rate
        steps.append(stats)
        if stats['drops_pct'] > opts.max_drop or \
                stats['rate'] < 0.9 * rate:
            if best and not refining:
                # one step back, halfway to the rate that failed
                refining, rate = True, (best['offered'] + rate) // 2
                continue
            break
        best = stats
        rate = rate * 2 if not refining else opts.max_rate + 1
    result = {'steps': [{k: round(v, 3) if isinstance(v, float) else v
                         for k, v in s.items()} for s in steps]}
    if best:
        exchanges = best['rate'] * opts.duration
        result.update(
            rate_per_s=round(best['rate'], 1),
            drops_pct=round(best['drops_pct'], 3),
            cpu_us_per_dora=round(1e6 * best['cpu_s'] / exchanges, 1)
            if exchanges else None,
            limited_by_max_rate=best is steps[-1])
    return result


def bench_server(name, bed, opts):
    workdir = tempfile.mkdtemp(prefix='vmbench-%s-' % name)
    specs = servers.launch(name, bed, workdir)
    env = dict(os.environ, **servers.ENV.get(name, lambda w: {})(workdir))
    log = open(os.path.join(workdir, 'server.log'), 'w')
    started = time.monotonic()
    # "ip netns exec" and taskset exec the server: the PID is the server's.
    # Both agents of the two-agent mode share CPU 0, as one server does.
    server = Processes([subprocess.Popen(
        bed.exec_in(getattr(bed, ns), 0) + argv, env=env, stdout=log,
        stderr=subprocess.STDOUT) for ns, argv in specs])
    # Two agents: DHCP clients broadcast (each agent answers, the client
    # requests from the first OFFER's server identifier).
    target = '255.255.255.255' if len(specs) > 1 else bed.server_ip
    # perfdhcp needs -B to send to the broadcast address
    broadcast = ['-B'] if len(specs) > 1 else []
    server_ids = sorted({servers.SERVER_ID[ns](bed) for ns, _ in specs})
    result = {'server': name, 'clients': len(bed.reservations),
              'duration_s': opts.duration, 'target': target,
              'loadavg_start': round(os.getloadavg()[0], 2)}
    try:
        last_mac = bed.reservations[-1][0]
        deadline = started + opts.start_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError('%s exited (%s); see %s' % (
                    name, server.poll(), log.name))
            # ready: the last reserved MAC gets an OFFER
            if len(specs) > 1:
                # every agent OFFERs the last reserved address
                if verify.answered_by_all(bed, last_mac, server_ids):
                    break
            elif perfdhcp(bed, ['-b', 'mac=' + last_mac, '-R', '1', '-n',
                                '1', '-r', '10', '-W', '200000', target],
                          timeout=5).get('offers'):
                break
            time.sleep(0.05)
            if time.monotonic() > deadline:
                raise RuntimeError('%s did not answer within %ss' % (
                    name, opts.start_timeout))
        result['startup_s'] = round(time.monotonic() - started, 3)
        result.update(search_rate(lambda rate: perfdhcp(bed, [
            '-R', str(len(bed.reservations)), '-b', 'mac=' + client_mac(0),
            '-r', str(rate), '-p', str(opts.duration), '-W', '500000']
            + broadcast + [target], timeout=opts.duration + 30),
            server.cpu_s, opts))
        result['rss_mb'] = round(server.rss_mb(), 1)
        # Every client, once: OFFERs of exactly its reserved address, one
        # from each server identifier.
        result['verify'] = verify.check_all(bed, server_ids)
        result['loadavg_end'] = round(os.getloadavg()[0], 2)
    finally:
        server.stop()
        log.close()
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


COLUMNS = (('server', '%s'), ('clients', '%d'), ('startup_s', '%.3f'),
           ('rate_per_s', '%.0f'), ('drops_pct', '%.2f'),
           ('cpu_us_per_dora', '%.1f'), ('rss_mb', '%.1f'),
           ('verified', '%s'), ('loadavg_start', '%.2f'))
RATIOS = (('rate_per_s', 'rate'), ('cpu_us_per_dora', 'CPU/DORA'),
          ('rss_mb', 'RSS'), ('startup_s', 'start-up'))


def report(results):
    for r in results:
        v = r.get('verify') or {}
        r['verified'] = '%d/%d' % (v.get('exact', 0), r['clients'])
    lines = ['  '.join('%-15s' % c for c, _ in COLUMNS)]
    for r in results:
        lines.append('  '.join('%-15s' % ('-' if r.get(c) is None else f %
                                          r[c]) for c, f in COLUMNS))
    for mine in servers.OURS:
        ours = next((r for r in results if r['server'] == mine), None)
        for ref in results:
            if ours is None or ref['server'] in servers.OURS:
                continue
            parts = ['%s x%.2f' % (label, ours[k] / ref[k])
                     for k, label in RATIOS if ours.get(k) and ref.get(k)]
            lines.append('%s / %s: %s' % (mine, ref['server'],
                                          ', '.join(parts)))
    one, two = (next((r for r in results if r['server'] == n), None)
                for n in servers.OURS)
    if one and two:
        parts = ['%s x%.2f' % (label, two[k] / one[k])
                 for k, label in RATIOS if one.get(k) and two.get(k)]
        lines.append('%s / %s: %s' % (two['server'], one['server'],
                                      ', '.join(parts)))
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--clients', type=int, default=1000)
    p.add_argument('--servers', default='vmetal-agent,vmetal-agent-x2,'
                   'dnsmasq,kea',
                   help='vmetal-agent-x2: two agents on the segment')
    p.add_argument('--duration', type=int, default=5,
                   help='seconds of perfdhcp per offered rate')
    p.add_argument('--start-rate', type=int, default=50)
    p.add_argument('--max-rate', type=int, default=64000)
    p.add_argument('--max-drop', type=float, default=1.0,
                   help='percent of lost exchanges a rate may have')
    p.add_argument('--start-timeout', type=float, default=120)
    p.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'results'))
    p.add_argument('--cidr', help='the segment (default 10.77.0.0/16, '
                   '10.64.0.0/12 beyond 65,024 clients)')
    p.add_argument('--keep', action='store_true',
                   help='keep the servers\' work directories')
    opts = p.parse_args(argv)
    names = opts.servers.split(',')
    unknown = set(names) - set(servers.SERVERS)
    if unknown:
        p.error('unknown servers: %s' % ', '.join(sorted(unknown)))
    if os.geteuid() != 0:
        p.error('needs root (network namespaces)')
    for tool in ('ip', 'taskset', 'perfdhcp') + tuple(
            {'dnsmasq': 'dnsmasq', 'kea': 'kea-dhcp4'}.get(n, 'ip')
            for n in names):
        if not shutil.which(tool):
            p.error('%s is not installed (see the docstring)' % tool)
    bed = Bed(opts.clients, cidr=opts.cidr or (
        '10.77.0.0/16' if opts.clients <= 65024 else '10.64.0.0/12'))
    results = []
    try:
        bed.up()
        for name in names:
            print('# %s, %d clients' % (name, opts.clients), flush=True)
            results.append(bench_server(name, bed, opts))
            print(json.dumps(results[-1]), flush=True)
    finally:
        bed.down()
    os.makedirs(opts.out, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    text = report(results)
    with open(os.path.join(opts.out, stamp + '.jsonl'), 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in results)
    with open(os.path.join(opts.out, stamp + '.txt'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
