#!/usr/bin/env python3
"""DHCPv6 benchmark: vmetal-dhcp-agent beside Kea's DHCPv6 server.

Run as root from the repository, like the DHCPv4 benchmark (two network
namespaces joined by a veth pair, nothing else)::

    sudo .venv/bin/python benchmarks/dhcp6/bench.py --clients 1000

The same N reservations for both servers: perfdhcp's clients (``-M``, a
list of N MACs, from which perfdhcp -6 makes DUID-LLs), one fixed IPv6
address each, reserved by MAC ("hw-address" in Kea, which reads it from
the DUID as the agent does), and a Boot File URL (option 59) for every
client. For each server in turn: start-up (spawn until the last MAC gets
an ADVERTISE), then perfdhcp -6 (SOLICIT, ADVERTISE, REQUEST, REPLY) at
offered rates doubling from ``--start-rate`` until more than
``--max-drop`` percent are lost or fewer than 90 % complete, one step
halfway back; the highest rate that held is the server's SARR/s. CPU per
exchange and resident memory from /proc; the load average is recorded.

Needs (Debian 12): iproute2, util-linux (taskset), kea-admin (perfdhcp),
kea-dhcp6-server (binary only; its system service is not used).
"""

import argparse
import importlib.util
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, 'dhcp'))
# the DHCPv4 benchmark's bed, perfdhcp parsing and report, by path (both
# files are named bench.py)
_spec = importlib.util.spec_from_file_location(
    'bench4', os.path.join(HERE, os.pardir, 'dhcp', 'bench.py'))
bench4 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench4)

REPO = os.path.dirname(os.path.dirname(HERE))
PREFIX = 'fd00:77::'
SERVER6 = 'fd00:77::1'
BOOTFILE = 'undionly.kpxe'
LIFETIME = 43200


class Bed(bench4.Bed):
    """The DHCPv4 bed with IPv6 on the veth pair (DAD off)."""

    def __init__(self, clients):
        super().__init__(clients)
        first = int(ipaddress.ip_address(PREFIX + '1:0'))
        self.reservations = [(mac, str(ipaddress.ip_address(first + i)))
                             for i, (mac, _) in enumerate(self.reservations)]

    def up(self):
        for ns in (self.srv, self.cli):
            bench4._run('ip', 'netns', 'add', ns)
            bench4._run('ip', 'netns', 'exec', ns, 'sysctl', '-qw',
                        'net.ipv6.conf.default.accept_dad=0',
                        'net.ipv4.ip_forward=0')
            bench4._run('ip', '-n', ns, 'link', 'set', 'lo', 'up')
        bench4._run('ip', 'link', 'add', 'name', self.server_if, 'netns',
                    self.srv, 'type', 'veth', 'peer', 'name',
                    self.client_if, 'netns', self.cli)
        bench4._run('ip', '-n', self.srv, 'addr', 'add', '%s/%d' % (
            self.server_ip, self.prefixlen), 'dev', self.server_if)
        bench4._run('ip', '-n', self.srv, '-6', 'addr', 'add',
                    SERVER6 + '/64', 'dev', self.server_if, 'nodad')
        for ns, dev in ((self.srv, self.server_if),
                        (self.cli, self.client_if)):
            bench4._run('ip', '-n', ns, 'link', 'set', dev, 'up')


def vmetal_agent(bed, workdir):
    path = os.path.join(workdir, 'reservations.json')
    with open(path, 'w') as f:
        json.dump({'defaults': {'prefix6': 64, 'lease_time': LIFETIME},
                   'hosts': [{'mac': m, 'ip': ip}
                             for m, ip in bed.reservations]}, f)
    conf = os.path.join(workdir, 'agent.conf')
    with open(conf, 'w') as f:
        f.write('[DEFAULT]\nuse_stderr = true\n'
                'default_log_levels = vmetal_ironic=WARNING\n'
                '[dhcp_agent]\ninterface = %s\nserver_address = %s\n'
                'server_address6 = %s\ndhcpv6 = true\n'
                'reservations_file = %s\nbios_bootfile = %s\n'
                'boot_options_for_all_clients = true\n'
                'tftp_enabled = false\nhttp_proxy_enabled = false\n'
                % (bed.server_if, bed.server_ip, SERVER6, path, BOOTFILE))
    python = os.environ.get('VMETAL_PYTHON') or os.path.join(
        REPO, '.venv', 'bin', 'python')
    return [python if os.path.exists(python) else sys.executable, '-m',
            'vmetal_ironic.cmd.dhcp_agent', '--config-file', conf]


def kea(bed, workdir):
    config = {'Dhcp6': {
        'interfaces-config': {'interfaces': [bed.server_if]},
        'lease-database': {'type': 'memfile', 'persist': False},
        'valid-lifetime': LIFETIME, 'preferred-lifetime': LIFETIME,
        'host-reservation-identifiers': ['hw-address'],
        'mac-sources': ['duid'],
        'server-id': {'type': 'LL', 'persist': False},
        'reservations-global': False, 'reservations-in-subnet': True,
        'reservations-out-of-pool': True,
        'option-data': [{'name': 'bootfile-url', 'data': 'tftp://[%s]/%s'
                         % (SERVER6, BOOTFILE)}],
        'subnet6': [{'id': 1, 'subnet': PREFIX + '/64',
                     'interface': bed.server_if,
                     'reservations': [{'hw-address': m,
                                       'ip-addresses': [ip]}
                                      for m, ip in bed.reservations]}],
        'loggers': [{'name': 'kea-dhcp6', 'severity': 'WARN',
                     'output_options': [{'output': 'stderr'}]}],
    }}
    conf = os.path.join(workdir, 'kea-dhcp6.conf')
    with open(conf, 'w') as f:
        json.dump(config, f)
    return ['kea-dhcp6', '-c', conf]


SERVERS = {'vmetal-agent': vmetal_agent, 'kea': kea}


def perfdhcp6(bed, macs_file, args, timeout):
    argv = bed.exec_in(bed.cli, 1) + [
        'perfdhcp', '-6', '-l', bed.client_if, '-M', macs_file] + args
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'ok': False, 'offers': 0, 'acks': 0, 'rate': 0.0,
                'drops_pct': 100.0}
    return bench4.parse(proc.stdout, proc.returncode)


def bench_server(name, bed, opts, workroot):
    workdir = tempfile.mkdtemp(prefix='vmbench6-%s-' % name, dir=workroot)
    macs = os.path.join(workroot, 'macs')
    last = os.path.join(workroot, 'last-mac')
    argv = SERVERS[name](bed, workdir)
    env = dict(os.environ, KEA_PIDFILE_DIR=workdir,
               KEA_LOCKFILE_DIR=workdir)
    log = open(os.path.join(workdir, 'server.log'), 'w')
    started = time.monotonic()
    server = subprocess.Popen(bed.exec_in(bed.srv, 0) + argv, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    result = {'server': name, 'clients': len(bed.reservations),
              'duration_s': opts.duration,
              'loadavg_start': round(os.getloadavg()[0], 2)}
    try:
        while True:
            if server.poll() is not None:
                log.flush()
                with open(log.name) as f:
                    tail = f.read()[-1500:]
                raise RuntimeError('%s exited (%s): %s'
                                   % (name, server.returncode, tail))
            if perfdhcp6(bed, last, ['-R', '1', '-n', '1', '-r', '10',
                                     '-W', '200000'], 5).get('offers'):
                break
            time.sleep(0.05)
            if time.monotonic() > started + opts.start_timeout:
                raise RuntimeError('%s did not answer' % name)
        result['startup_s'] = round(time.monotonic() - started, 3)
        result.update(bench4.search_rate(lambda rate: perfdhcp6(
            bed, macs, ['-R', str(len(bed.reservations)), '-r', str(rate),
                        '-p', str(opts.duration), '-W', '500000'],
            opts.duration + 30), server.pid, opts))
        result['rss_mb'] = round(bench4.proc_rss_mb(server.pid), 1)
        result['loadavg_end'] = round(os.getloadavg()[0], 2)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--clients', type=int, default=1000)
    p.add_argument('--servers', default='vmetal-agent,kea')
    p.add_argument('--duration', type=int, default=5)
    p.add_argument('--start-rate', type=int, default=50)
    p.add_argument('--max-rate', type=int, default=64000)
    p.add_argument('--max-drop', type=float, default=1.0)
    p.add_argument('--start-timeout', type=float, default=120)
    p.add_argument('--out', default=os.path.join(HERE, 'results'))
    opts = p.parse_args(argv)
    names = opts.servers.split(',')
    if set(names) - set(SERVERS):
        p.error('unknown servers: %s' % ', '.join(set(names) - set(SERVERS)))
    if os.geteuid() != 0:
        p.error('needs root (network namespaces)')
    for tool in ('ip', 'taskset', 'perfdhcp') + (
            ('kea-dhcp6',) if 'kea' in names else ()):
        if not shutil.which(tool):
            p.error('%s is not installed (see the docstring)' % tool)
    bed = Bed(opts.clients)
    workroot = tempfile.mkdtemp(prefix='vmbench6-')
    with open(os.path.join(workroot, 'macs'), 'w') as f:
        f.writelines(m + '\n' for m, _ in bed.reservations)
    with open(os.path.join(workroot, 'last-mac'), 'w') as f:
        f.write(bed.reservations[-1][0] + '\n')
    results = []
    try:
        bed.up()
        for name in names:
            print('# %s, %d clients' % (name, opts.clients), flush=True)
            results.append(bench_server(name, bed, opts, workroot))
            print(json.dumps(results[-1]), flush=True)
    finally:
        bed.down()
        shutil.rmtree(workroot, ignore_errors=True)
    os.makedirs(opts.out, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    text = bench4.report(results).replace('cpu_us_per_dora', 'cpu_us_per_sarr')
    with open(os.path.join(opts.out, stamp + '.jsonl'), 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in results)
    with open(os.path.join(opts.out, stamp + '.txt'), 'w') as f:
        f.write('loadavg %s\n%s\n' % (open('/proc/loadavg').read().strip(),
                                      text))
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
