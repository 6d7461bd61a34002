"""The callback path over IPv6: ramdisk <- agent <- "conductor".

    [ns sa] 172.24.0.61 + fd00:24::61 (node A) --+
    [ns sb] 172.24.0.62 + fd00:24::62 (node B) --+-(prov)-- prov0 [agent]
                                            172.24.0.2 + fd00:24::2
                                                  clus0 10.98.0.2
                                                      |
                               (clus) -- clus1 10.98.0.1 [ns cluster]
                                         stand-in Ironic API :6385
                                         the "conductor" (curl)

The bed of test_callback.py with IPv6 on the provisioning segment (the
cluster segment stays IPv4) and dual-stack reservations. A ramdisk
heartbeats through the proxy's IPv6 address from its reserved IPv6
address with an IPv6 ``callback_url`` (``http://[addr]:port``); the agent
checks it against the node's IPv6 reservation, rewrites it to its
cluster-side callback listener and carries the conductor's calls to
``[addr]:port``. Forwarding is off in the agent's namespace.
"""

import json

import pytest

from tests.fixtures import bridge_bed
from tests.fixtures import netns
from tests.functional.agent.http import test_callback as v4

AGENT_PROV6 = 'fd00:24::2'
IP6_A, IP6_B = 'fd00:24::61', 'fd00:24::62'
PROXY6 = 'http://[%s]:8080' % AGENT_PROV6
HOSTS6 = {'defaults': dict(v4.HOSTS['defaults'], prefix6=64),
          'hosts': v4.HOSTS['hosts'] + [
              {'mac': v4.MAC_A, 'ip': IP6_A, 'node_uuid': v4.NODE_A},
              {'mac': v4.MAC_B, 'ip': IP6_B, 'node_uuid': v4.NODE_B}]}


class Bed6(v4.Bed):
    def __init__(self, lab):
        super().__init__(lab)
        self.agent_ns.run('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=0')
        bridge_bed.add6(self.agent_ns, 'prov0', AGENT_PROV6 + '/64')
        bridge_bed.add6(self.server_a, 'eth0', IP6_A + '/64')
        bridge_bed.add6(self.server_b, 'eth0', IP6_B + '/64')

    def start_agent(self):
        opts = {'interface': 'prov0', 'server_address': v4.AGENT_PROV,
                'server_address6': AGENT_PROV6, 'tftp_enabled': 'false',
                'ironic_api_url': 'http://%s:%d' % (v4.CLUSTER,
                                                    v4.API_PORT),
                'state_dir': self.state, 'callback_read_timeout': 30}
        self.agent = netns.start_agent(self.lab, self.agent_ns, opts,
                                       HOSTS6)
        v4.wait_port(self.cluster, v4.AGENT_CLUS, 8081)
        v4.wait_port(self.server_a, AGENT_PROV6, 8080)


@pytest.fixture(scope='module')
def cb6():
    yield from v4.serve(Bed6, 'vc6', [('server_a', IP6_A, 'a-http6'),
                                      ('server_b', IP6_B, 'b-http6')])


def test_segments_are_separated(cb6):
    assert cb6.agent_ns.run(
        'sysctl', '-n', 'net.ipv6.conf.all.forwarding').stdout.strip() == '0'
    r = cb6.cluster.run('curl', '-sS', '--max-time', '3', '-g',
                        'http://[%s]:9999/v1/commands/' % IP6_A, check=False)
    assert r.returncode != 0
    r = cb6.server_a.run('curl', '-sS', '--max-time', '3',
                         'http://%s:%d/' % (v4.CLUSTER, v4.API_PORT),
                         check=False)
    assert r.returncode != 0


def test_ipv6_heartbeat_is_rewritten_and_the_conductor_reaches_it(cb6):
    mark = cb6.agent.mark()
    doc = cb6.register(cb6.server_a, v4.NODE_A, 'http://[%s]:9999' % IP6_A,
                       url=PROXY6, extra=('-g',))
    url = doc['callback_url']
    assert url.startswith('https://%s:8081/ramdisk/' % v4.AGENT_CLUS)
    assert doc['agent_token'] == 'tok-' + v4.NODE_A
    ca = cb6.ca_file(doc['agent_verify_ca'], 'agent-ca6.pem')
    status, body, _ = cb6.conductor('--cacert', ca, url + '/v1/commands/')
    assert status == 200, body
    echo = json.loads(body)
    # the ramdisk was reached at its IPv6 address, Host in brackets
    assert echo == {'ramdisk': 'a-http6', 'method': 'GET',
                    'path': '/v1/commands/', 'query': '',
                    'host': '[%s]:9999' % IP6_A, 'body_length': 0}
    command = json.dumps({'name': 'deploy.get_deploy_steps', 'params': {}})
    status, body, _ = cb6.conductor(
        '--cacert', ca, '-X', 'POST', '-H', 'Content-Type: application/json',
        '-d', command, url + '/v1/commands/?wait=true&agent_token=TOK6')
    echo = json.loads(body)
    assert (status, echo['method'], echo['body_length']) == (
        200, 'POST', len(command))
    assert 'TOK6' not in cb6.agent.log()
    assert 'ramdisk http://[%s]:9999 is' % IP6_A in cb6.agent.log(since=mark)
    # the same URL at the next heartbeat
    again = cb6.register(cb6.server_a, v4.NODE_A, 'http://[%s]:9999' % IP6_A,
                         url=PROXY6, extra=('-g',))
    assert again['callback_url'] == url


def test_ipv6_heartbeats_that_do_not_match_the_reservation_are_refused(cb6):
    before = len(cb6.forwarded())
    cases = [
        # node A's name from node B's IPv6 address
        (cb6.server_b, v4.NODE_A, 'http://[%s]:9999' % IP6_B),
        # the URL names node B's address, the heartbeat comes from A's
        (cb6.server_a, v4.NODE_A, 'http://[%s]:9999' % IP6_B),
        # IPv4 callback URL, IPv6 source
        (cb6.server_a, v4.NODE_A, 'http://%s:9999' % v4.IP_A),
        # a zone (link-local) in the URL
        (cb6.server_a, v4.NODE_A, 'http://[fe80::1%25eth0]:9999'),
    ]
    for ns, node, callback in cases:
        status, body = cb6.heartbeat(
            ns, node, {'callback_url': callback, 'agent_token': 't'},
            url=PROXY6, extra=('-g',))
        assert status == 403, (callback, body)
    # an unreserved source address of the same /64
    bridge_bed.add6(cb6.server_a, 'eth0', 'fd00:24::99/64')
    try:
        status, body = cb6.heartbeat(
            cb6.server_a, v4.NODE_A,
            {'callback_url': 'http://[fd00:24::99]:9999', 'agent_token': 't'},
            url=PROXY6, extra=('-g', '--interface', 'fd00:24::99'))
    finally:
        # (the newest address would become the namespace's source)
        netns.run('ip', '-n', cb6.server_a.name, '-6', 'addr', 'del',
                  'fd00:24::99/64', 'dev', 'eth0')
    assert status == 403 and 'not a reservation' in body
    assert len(cb6.forwarded()) == before


def test_dual_stack_node_heartbeats_over_ipv4_too(cb6):
    cb6.ramdisk(cb6.server_b, v4.IP_B, 9999, 'b-http4')
    doc = cb6.register(cb6.server_b, v4.NODE_B, 'http://%s:9999' % v4.IP_B)
    ca = cb6.ca_file(doc['agent_verify_ca'], 'agent-ca4.pem')
    status, body, _ = cb6.conductor('--cacert', ca,
                                    doc['callback_url'] + '/v1/commands/')
    assert (status, json.loads(body)['ramdisk']) == (200, 'b-http4')


def test_https_ramdisk_over_ipv6_is_pinned(cb6):
    cert = v4.self_signed(IP6_A, cb6.lab.path('ramdisk-a6'))
    cb6.ramdisk(cb6.server_a, IP6_A, 9443, 'a-https6', cert=cert)
    doc = cb6.register(cb6.server_a, v4.NODE_A, 'https://[%s]:9443' % IP6_A,
                       verify_ca=cert[0], url=PROXY6, extra=('-g',))
    ca = cb6.ca_file(doc['agent_verify_ca'], 'agent-ca6s.pem')
    url = doc['callback_url'] + '/v1/commands/'
    status, body, _ = cb6.conductor('--cacert', ca, url)
    assert (status, json.loads(body)['ramdisk']) == (200, 'a-https6')
    cb6.ramdisk(cb6.server_a, IP6_A, 9443, 'impostor6',
                cert=v4.self_signed(IP6_A, cb6.lab.path('impostor6')))
    status, body, r = cb6.conductor('--cacert', ca, url, check=False)
    assert status == 0 and r.returncode in (52, 56), r
    assert 'impostor6' not in body


def test_the_registry_keeps_the_ipv6_ramdisk_across_a_restart(cb6):
    doc = cb6.register(cb6.server_b, v4.NODE_B, 'http://[%s]:9999' % IP6_B,
                       url=PROXY6, extra=('-g',))
    cb6.agent.stop()
    cb6.start_agent()
    ca = cb6.ca_file(doc['agent_verify_ca'], 'agent-ca6r.pem')
    status, body, _ = cb6.conductor('--cacert', ca,
                                    doc['callback_url'] + '/v1/commands/')
    assert (status, json.loads(body)['ramdisk']) == (200, 'b-http6')
