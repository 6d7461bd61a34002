#!/usr/bin/env python3
"""Boot-name DNS: the agent's responder beside dnsmasq, CPU per query.

Run as root from the repository::

    sudo .venv/bin/python benchmarks/dns/bench.py --queries 20000

One provisioning segment in network namespaces: the real vmetal-dhcp-agent
(as nobody, CAP_NET_RAW and CAP_NET_BIND_SERVICE, ``dns_names`` set) on
172.22.0.2 and dnsmasq (``--address=/images.vmetal.test/172.22.0.3``,
``--no-resolv``, DNS only) on 172.22.0.3, and a client. The client sends
``--queries`` A queries for images.vmetal.test to each server in turn,
``--window`` outstanding at a time, and checks every answer; the servers'
CPU seconds (utime + stime from /proc) are read before and after. Prints
queries per CPU second of each server and the ratio, with the load
average; the rate limit is raised out of the way for the run.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, os.pardir))

from tests.fixtures import netns  # noqa: E402

CLIENT = r'''
import json, socket, struct, sys, time
server, n, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
name = b'\x06images\x06vmetal\x04test\x00'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((server, 53))
s.settimeout(1.0)
sent = got = lost = 0
t0 = time.monotonic()
while got + lost < n:
    while sent - got - lost < window and sent < n:
        s.send(struct.pack('!HHHHHH', sent & 0xffff, 0x0100, 1, 0, 0, 0)
               + name + b'\x00\x01\x00\x01')
        sent += 1
    try:
        data = s.recv(512)
    except socket.timeout:
        lost += sent - got - lost
        continue
    if data[3] & 0xf == 0 and struct.unpack('!H', data[6:8])[0] == 1:
        got += 1
print(json.dumps({'answered': got, 'lost': lost,
                  'seconds': time.monotonic() - t0}))
'''


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def ns_pid(ns, exe):
    """The PID of the process running ``exe`` in namespace ``ns``."""
    for pid in netns.run('ip', 'netns', 'pids', ns.name).stdout.split():
        try:
            if os.path.basename(os.readlink('/proc/%s/exe' % pid)) \
                    .startswith(exe):
                return int(pid)
        except OSError:
            pass
    raise RuntimeError('no %s in %s' % (exe, ns.name))


def measure(client, server, pid, queries, window):
    before = cpu_seconds(pid)
    out = json.loads(client.run(netns.PYTHON, '-c', CLIENT, server,
                                str(queries), str(window),
                                timeout=600).stdout)
    out['cpu_seconds'] = cpu_seconds(pid) - before
    out['queries_per_cpu_second'] = out['answered'] / max(
        out['cpu_seconds'], 1e-9)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--queries', type=int, default=20000)
    p.add_argument('--window', type=int, default=16)
    args = p.parse_args(argv)
    netns.require_root_and('network namespaces', 'ip', 'setpriv', 'dnsmasq')
    with netns.Lab('vdnsb') as lab:
        seg = lab.segment('prov')
        agent_ns = lab.namespace('agent')
        agent_ns.attach(seg, 'prov0', '172.22.0.2/24')
        ref_ns = lab.namespace('dnsmasq')
        ref_ns.attach(seg, 'prov0', '172.22.0.3/24')
        client = lab.namespace('client')
        client.attach(seg, 'eth0', '172.22.0.60/24')
        agent = netns.start_agent(
            lab, agent_ns,
            {'interface': 'prov0', 'server_address': '172.22.0.2',
             'tftp_enabled': 'false', 'dns_names': 'images.vmetal.test',
             'dns_rate_limit': str(10 ** 6)},
            {'defaults': {'prefix': 24}, 'hosts': []})
        try:
            assert agent.wait_log('DNS answering', timeout=20)
            with tempfile.NamedTemporaryFile('w', suffix='.log') as log:
                ref_ns.popen('dnsmasq', '-k', '--port=53', '--no-resolv',
                             '--no-hosts', '--no-dhcp-interface=prov0',
                             '--bind-interfaces',
                             '--listen-address=172.22.0.3',
                             '--address=/images.vmetal.test/172.22.0.3',
                             '--cache-size=0', '--user=nobody',
                             '--pid-file=', '--log-facility=' + log.name)
                time.sleep(1.0)
                results = {
                    'vmetal-agent': measure(client, '172.22.0.2',
                                            ns_pid(agent_ns, 'python'),
                                            args.queries, args.window),
                    'dnsmasq': measure(client, '172.22.0.3',
                                       ns_pid(ref_ns, 'dnsmasq'),
                                       args.queries, args.window)}
        finally:
            agent.stop()
    load = os.getloadavg()
    print('load average %.2f %.2f %.2f' % load)
    for name, r in results.items():
        print('%-13s answered %6d lost %4d in %5.2f s, %6.2f CPU s, '
              '%8.0f queries per CPU second' % (
                  name, r['answered'], r['lost'], r['seconds'],
                  r['cpu_seconds'], r['queries_per_cpu_second']))
    ratio = results['vmetal-agent']['queries_per_cpu_second'] / \
        results['dnsmasq']['queries_per_cpu_second']
    print('vmetal-agent / dnsmasq queries per CPU second: %.2f' % ratio)
    print(json.dumps({'load': load, 'results': results, 'ratio': ratio}))


if __name__ == '__main__':
    main()
