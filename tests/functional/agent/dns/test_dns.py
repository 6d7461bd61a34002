"""The agent's boot-name DNS responder against real resolvers.

dig (bind9-dnsutils), the C library's resolver (getent, Python's
getaddrinfo) with a private resolv.conf, and real DHCP clients (udhcpc,
dhclient) that must learn the agent's address as DNS server.
"""

import json
import os
import signal

from tests.fixtures import netns
from tests.functional.agent.dns import dns_bed as c


def test_dig_a_and_aaaa(bed):
    for name in c.NAMES:
        assert c.dig(bed.client, '+short', name).split() == [c.SERVER]
        assert c.dig(bed.client, '+short', name, 'AAAA').split() == \
            [c.SERVER6]
    out = c.dig(bed.client, 'images.vmetal.test')
    assert c.status(out) == 'NOERROR'
    flags = [ln for ln in out.splitlines() if ln.startswith(';; flags:')][0]
    assert ' aa' in flags and ' ra' not in flags
    assert 'images.vmetal.test.\t30\tIN\tA\t172.22.0.2' in out


def test_dig_case_insensitive_and_echoes_question(bed):
    out = c.dig(bed.client, 'ImAgEs.VMETAL.test')
    assert c.status(out) == 'NOERROR'
    assert c.answers(out) == [c.SERVER]
    assert ';ImAgEs.VMETAL.test.\t\tIN\tA' in out


def test_dig_nxdomain_nodata_refused(bed):
    out = c.dig(bed.client, 'example.org')
    assert c.status(out) == 'NXDOMAIN' and c.answers(out) == []
    out = c.dig(bed.client, 'x.images.vmetal.test')
    assert c.status(out) == 'NXDOMAIN'
    out = c.dig(bed.client, 'images.vmetal.test', 'MX')
    assert c.status(out) == 'NOERROR' and c.answers(out) == []
    out = c.dig(bed.client, 'images.vmetal.test', 'CH', 'TXT')
    assert c.status(out) == 'REFUSED'


def test_dig_any_without_edns_and_over_ipv6(bed):
    out = c.dig(bed.client, '+notcp', '+noedns', 'ironic.vmetal.test', 'ANY')
    assert c.status(out) == 'NOERROR'
    assert c.answers(out) == sorted([c.SERVER, c.SERVER6])
    out = c.dig(bed.client, '+short', 'images.vmetal.test', server=c.SERVER6)
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
        assert c.status(r.stdout) is None
    r = bed.cluster.run('dig', '@' + c.SERVER, '+tries=1', '+time=2',
                        '+tcp', 'images.vmetal.test', check=False,
                        timeout=20)
    assert r.returncode == 9 and c.status(r.stdout) is None, r.stdout
    for proto in ('-Hlnu', '-Hlnt'):
        listening = bed.agent_ns.run('ss', proto, 'sport', '=',
                                     '53').stdout
        locals_ = sorted(line.split()[3] for line in listening.splitlines())
        assert locals_ == ['172.22.0.2%prov0:53', '[fd00:22::2]%prov0:53']


def test_udhcpc_gets_the_agent_as_dns_server(bed):
    netns.require_root_and('DHCP clients', 'udhcpc', 'dhclient')
    results = {}
    for mac in (c.MAC_NO_DNS, c.MAC_OWN_DNS):
        ns = bed.dhcp_client(mac)
        script, events = c.client_script(bed.lab, 'udhcpc-' + mac[-2:],
                                         c.UDHCPC_SCRIPT)
        p = ns.popen('udhcpc', '-f', '-q', '-i', 'eth0', '-s', script,
                     '-t', '10', '-T', '1', '-A', '1')
        try:
            results[mac] = c.wait_line(events, 'bound')
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
    script, events = c.client_script(bed.lab, 'dhclient', c.DHCLIENT_SCRIPT)
    conf = bed.lab.path('dhclient.conf')
    with open(conf, 'w') as f:
        f.write('timeout 20;\nretry 1;\ninitial-interval 1;\n'
                'request subnet-mask, routers, domain-name-servers;\n')
    p = ns.popen('dhclient', '-4', '-d', '-cf', conf, '-sf', script,
                 '-lf', bed.lab.path('dhclient.leases'),
                 '-pf', bed.lab.path('dhclient.pid'), 'eth0')
    try:
        line = c.wait_line(events, 'BOUND')
    finally:
        p.send_signal(signal.SIGTERM)
        netns.stop_process(p)
    assert line == 'BOUND ip=%s dns=%s' % (c.IP_NO_DNS, c.SERVER)


def _metric(bed, name, **labels):
    text = bed.cluster.run('curl', '-sf', 'http://%s:9180/metrics'
                           % c.AGENT_CLUSTER).stdout
    want = '%s{%s}' % (name, ','.join('%s="%s"' % kv
                                      for kv in sorted(labels.items())))
    for line in text.splitlines():
        if line.startswith(want + ' '):
            return float(line.split()[-1])
    return 0.0


def _udp_rcvbuf_errors(ns):
    """Datagrams the kernel dropped on full receive buffers in ``ns``."""
    lines = [ln.split() for ln in ns.run('cat', '/proc/net/snmp').stdout
             .splitlines() if ln.startswith('Udp:')]
    return int(lines[1][lines[0].index('RcvbufErrors')])


def test_hostile_clients(bed):
    garbage0 = _metric(bed, 'vmetal_dns_dropped_total', reason='garbage')
    limited0 = _metric(bed, 'vmetal_dns_dropped_total',
                       reason='rate_limited')
    kernel0 = _udp_rcvbuf_errors(bed.agent_ns)
    out = json.loads(bed.client.run(
        netns.PYTHON, '-m', 'tests.functional.agent.dns.hostile', c.SERVER,
        '53', cwd=netns.REPO, timeout=60,
        env=dict(os.environ, PYTHONPATH=netns.REPO)).stdout)
    h = out['hostile']
    for name in ('empty', 'short', 'response', 'oversized',
                 'random_response'):
        assert h[name] is None, (name, h)
    for name in ('pointer_to_itself', 'pointer_loop', 'pointer_chain',
                 'label_past_end', 'two_questions', 'random'):
        assert h[name] == 1, (name, h)          # FORMERR
    assert h['notify_opcode'] == 4              # NOTIMP
    # 3000 queries at once from one socket: the burst of dns_rate_limit
    # (50 per second) per window answered, the rest dropped
    assert 1 <= out['flood_answered'] <= 50 * (int(out['flood_seconds'])
                                               + 2), out
    assert out['after_flood'] == 0
    # 20 idle TCP connections: 4 kept, the others closed at once, and
    # those 4 closed once idle; UDP is answered meanwhile
    assert out['tcp_closed_at_once'] == 16, out
    assert out['udp_while_tcp_held'] == 0
    assert out['tcp_closed_after_idle'] == 20, out
    assert _metric(bed, 'vmetal_dns_dropped_total',
                   reason='garbage') >= garbage0 + 4
    # every flood query was answered, rate limited, or dropped by the
    # kernel before the agent read it (under load the socket buffer fills)
    limited = _metric(bed, 'vmetal_dns_dropped_total',
                      reason='rate_limited') - limited0
    kernel = _udp_rcvbuf_errors(bed.agent_ns) - kernel0
    assert limited > out['flood_answered'], (limited, kernel, out)
    assert limited + kernel + out['flood_answered'] >= 3000, (limited,
                                                              kernel, out)
    assert _metric(bed, 'vmetal_dns_queries_total', type='other',
                   result='formerr') >= 5
    # the agent is fine: a real resolver still gets its answer, and no
    # traceback was logged
    assert c.dig(bed.client, '+short', 'images.vmetal.test').split() == \
        [c.SERVER]
    assert c.dig(bed.client, '+tcp', '+short', 'images.vmetal.test',
                 server=c.SERVER6).split() == [c.SERVER]
    assert bed.agent.running()
    assert 'Traceback' not in bed.agent.log()
