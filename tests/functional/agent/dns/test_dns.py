"""The agent's boot-name DNS responder against real resolvers.

dig (bind9-dnsutils), the C library's resolver (getent, Python's
getaddrinfo) with a private resolv.conf, and real DHCP clients (udhcpc,
dhclient) that must learn the agent's address as DNS server.
"""

import json
import os
import signal
import time

from tests.fixtures import netns
from tests.functional.agent.dns import dns_bed as c

UDHCPC_SCRIPT = r'''#!/bin/sh
case "$1" in
  bound|renew) echo "$1 ip=$ip dns=$dns" >> "%(out)s" ;;
esac
exit 0
'''
DHCLIENT_SCRIPT = r'''#!/bin/sh
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    echo "$reason ip=$new_ip_address dns=$new_domain_name_servers" \
      >> "%(out)s" ;;
esac
exit 0
'''


def dig(ns, *args, server=c.SERVER, check=True):
    """dig's output (+norec: the agent is no recursor)."""
    return ns.run('dig', '@' + server, '+tries=1', '+time=2', *args,
                  check=check, timeout=20).stdout


def status(out):
    for line in out.splitlines():
        if 'status:' in line:
            return line.split('status:')[1].split(',')[0].strip()
    return None


def answers(out):
    return sorted(line.split()[-1] for line in out.splitlines()
                  if line and not line.startswith(';')
                  and '\tIN\t' in line)


def test_dig_a_and_aaaa(bed):
    for name in c.NAMES:
        assert dig(bed.client, '+short', name).split() == [c.SERVER]
        assert dig(bed.client, '+short', name, 'AAAA').split() == \
            [c.SERVER6]
    out = dig(bed.client, 'images.vmetal.test')
    assert status(out) == 'NOERROR'
    flags = [ln for ln in out.splitlines() if ln.startswith(';; flags:')][0]
    assert ' aa' in flags and ' ra' not in flags
    assert 'images.vmetal.test.\t30\tIN\tA\t172.22.0.2' in out


def test_dig_case_insensitive_and_echoes_question(bed):
    out = dig(bed.client, 'ImAgEs.VMETAL.test')
    assert status(out) == 'NOERROR'
    assert answers(out) == [c.SERVER]
    assert ';ImAgEs.VMETAL.test.\t\tIN\tA' in out


def test_dig_nxdomain_nodata_refused(bed):
    out = dig(bed.client, 'example.org')
    assert status(out) == 'NXDOMAIN' and answers(out) == []
    out = dig(bed.client, 'x.images.vmetal.test')
    assert status(out) == 'NXDOMAIN'
    out = dig(bed.client, 'images.vmetal.test', 'MX')
    assert status(out) == 'NOERROR' and answers(out) == []
    out = dig(bed.client, 'images.vmetal.test', 'CH', 'TXT')
    assert status(out) == 'REFUSED'


def test_dig_any_without_edns_and_over_ipv6(bed):
    out = dig(bed.client, '+notcp', '+noedns', 'ironic.vmetal.test', 'ANY')
    assert status(out) == 'NOERROR'
    assert answers(out) == sorted([c.SERVER, c.SERVER6])
    out = dig(bed.client, '+short', 'images.vmetal.test', server=c.SERVER6)
    assert out.split() == [c.SERVER]


def test_c_library_resolver_with_private_resolv_conf(bed):
    bed.resolv_conf(bed.client, 'nameserver %s\noptions timeout:2 '
                    'attempts:1\n' % c.SERVER)
    out = bed.client.run('getent', 'ahostsv4', 'images.vmetal.test').stdout
    assert out.split()[0] == c.SERVER
    out = bed.client.run('getent', 'hosts', 'ironic.vmetal.test').stdout
    assert out.split()[0] in (c.SERVER, c.SERVER6)
    code = ('import json, socket; print(json.dumps(sorted({a[4][0] for a '
            'in socket.getaddrinfo("images.vmetal.test", 8080, '
            'type=socket.SOCK_STREAM)})))')
    out = bed.client.run(netns.PYTHON, '-c', code).stdout
    assert json.loads(out) == sorted([c.SERVER, c.SERVER6])
    r = bed.client.run('getent', 'hosts', 'nothing.vmetal.test',
                       check=False)
    assert r.returncode == 2 and not r.stdout


def test_nothing_on_the_cluster_side(bed):
    # The cluster routes 172.22.0.0/24 through the agent's cluster leg:
    # a query to the provisioning address arriving there is not taken.
    for server in (c.SERVER, c.AGENT_CLUSTER):
        r = bed.cluster.run('dig', '@' + server, '+tries=1', '+time=2',
                            '+notcp', 'images.vmetal.test', check=False,
                            timeout=20)
        assert r.returncode == 9, r.stdout
        assert status(r.stdout) is None
    listening = bed.agent_ns.run('ss', '-Hlnu', 'sport', '=', '53').stdout
    locals_ = sorted(line.split()[3] for line in listening.splitlines())
    assert locals_ == sorted(['172.22.0.2%prov0:53', '[fd00:22::2]%prov0:53'])


def _script(bed, name, template):
    out = bed.lab.path(name + '.events')
    path = bed.lab.path(name + '.sh')
    with open(path, 'w') as f:
        f.write(template % {'out': out})
    os.chmod(path, 0o755)
    open(out, 'w').close()
    return path, out


def _wait_line(path, prefix, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            for line in f.read().splitlines():
                if line.startswith(prefix):
                    return line
        time.sleep(0.2)
    return None


def test_udhcpc_gets_the_agent_as_dns_server(bed):
    netns.require_root_and('DHCP clients', 'udhcpc', 'dhclient')
    results = {}
    for mac in (c.MAC_NO_DNS, c.MAC_OWN_DNS):
        ns = bed.dhcp_client(mac)
        script, events = _script(bed, 'udhcpc-' + mac[-2:], UDHCPC_SCRIPT)
        p = ns.popen('udhcpc', '-f', '-q', '-i', 'eth0', '-s', script,
                     '-t', '10', '-T', '1', '-A', '1')
        try:
            results[mac] = _wait_line(events, 'bound')
        finally:
            netns.stop_process(p)
    assert results[c.MAC_NO_DNS] == 'bound ip=%s dns=%s' % (
        c.IP_NO_DNS, c.SERVER)
    # fallback (the default): a host with DNS servers of its own keeps them
    assert results[c.MAC_OWN_DNS] == 'bound ip=%s dns=%s' % (
        c.IP_OWN_DNS, c.OWN_DNS)


def test_dhclient_gets_the_agent_as_dns_server(bed):
    netns.require_root_and('DHCP clients', 'dhclient')
    ns = bed.dhcp_client(c.MAC_NO_DNS)
    script, events = _script(bed, 'dhclient', DHCLIENT_SCRIPT)
    conf = bed.lab.path('dhclient.conf')
    with open(conf, 'w') as f:
        f.write('timeout 20;\nretry 1;\ninitial-interval 1;\n'
                'request subnet-mask, routers, domain-name-servers;\n')
    p = ns.popen('dhclient', '-4', '-d', '-cf', conf, '-sf', script,
                 '-lf', bed.lab.path('dhclient.leases'),
                 '-pf', bed.lab.path('dhclient.pid'), 'eth0')
    try:
        line = _wait_line(events, 'BOUND')
    finally:
        p.send_signal(signal.SIGTERM)
        netns.stop_process(p)
    assert line == 'BOUND ip=%s dns=%s' % (c.IP_NO_DNS, c.SERVER)
