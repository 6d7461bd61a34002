"""The callback path with real sockets: ramdisk <- agent <- "conductor".

    [ns server-a] 172.24.0.61 (node A) --+
    [ns server-b] 172.24.0.62 (node B) --+-(prov)-- prov0 172.24.0.2 [agent]
                                                   clus0 10.98.0.2
                                                      |
                               (clus) -- clus1 10.98.0.1 [ns cluster]
                                         stand-in Ironic API :6385
                                         the "conductor" (curl)

The real ``vmetal-dhcp-agent`` (unprivileged, state directory in the lab)
proxies heartbeats from the servers to the stand-in API and carries the
conductor's calls back through its callback listener; ramdisks are
stand-ins that answer like the Ironic Python Agent, on HTTP or on HTTPS
with a self-signed certificate as IPA's automatic TLS makes one. Nothing
is routed between the segments: the agent runs with forwarding off.
"""

import datetime
import ipaddress
import json
import os
import pwd
import re
import subprocess
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import NameOID
import pytest

from tests.fixtures.bridge_bed import wait_port
from tests.fixtures import netns

AGENT_PROV = '172.24.0.2'
AGENT_CLUS = '10.98.0.2'
CLUSTER = '10.98.0.1'
IP_A, IP_B = '172.24.0.61', '172.24.0.62'
MAC_A, MAC_B = '52:54:00:cc:00:01', '52:54:00:cc:00:02'
NODE_A = '3f1c0a5e-7b1d-4e0a-9a53-0c1d5e6f7a01'
NODE_B = '3f1c0a5e-7b1d-4e0a-9a53-0c1d5e6f7a02'
API_PORT = 6385
PROXY = 'http://%s:8080' % AGENT_PROV
PROXY_TLS = 'https://%s:8443' % AGENT_PROV
STAND_INS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'stand_ins.py')
BIG = 200 * 1024 * 1024
HOSTS = {'defaults': {'prefix': 24, 'lease_time': 600},
         'hosts': [{'mac': MAC_A, 'ip': IP_A, 'node_uuid': NODE_A},
                   {'mac': MAC_B, 'ip': IP_B, 'node_uuid': NODE_B}]}


def self_signed(ip, path_prefix):
    """A certificate as IPA's automatic TLS makes it (tls_utils)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'ramdisk')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    with open(path_prefix + '.crt', 'w') as f:
        f.write(pem)
    with open(path_prefix + '.key', 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path_prefix + '.key', 0o644)
    return pem, path_prefix + '.crt', path_prefix + '.key'


class Bed:
    def __init__(self, lab):
        self.lab = lab
        prov = lab.segment('prov')
        self.clus = clus = lab.segment('clus')
        self.agent_ns = lab.namespace('agent')
        self.agent_ns.attach(prov, 'prov0', AGENT_PROV + '/24')
        self.agent_ns.attach(clus, 'clus0', AGENT_CLUS + '/24')
        self.agent_ns.run('sysctl', '-qw', 'net.ipv4.ip_forward=0')
        self.cluster = lab.namespace('cluster')
        self.cluster.attach(clus, 'clus1', CLUSTER + '/24')
        self.server_a = lab.namespace('sa')
        self.server_a.attach(prov, 'eth0', IP_A + '/24', mac=MAC_A)
        self.server_b = lab.namespace('sb')
        self.server_b.attach(prov, 'eth0', IP_B + '/24', mac=MAC_B)
        self.api_log = lab.path('api.log')
        open(self.api_log, 'w').close()
        self.state = lab.path('state')
        os.mkdir(self.state, 0o700)
        nobody = pwd.getpwnam('nobody')
        os.chown(self.state, nobody.pw_uid, nobody.pw_gid)
        self.ramdisks = {}
        self.agent = None
        # The HTTPS side of the proxy, with a certificate of an operator CA.
        _, self.prov_cert, self.prov_key = self_signed(
            AGENT_PROV, lab.path('prov'))

    def start_api(self):
        self.cluster.popen(netns.PYTHON, STAND_INS, 'api', '--address',
                           CLUSTER, '--port', str(API_PORT), '--log',
                           self.api_log, stdout=subprocess.DEVNULL)
        wait_port(self.cluster, CLUSTER, API_PORT)

    def start_agent(self):
        opts = {'interface': 'prov0', 'server_address': AGENT_PROV,
                'tftp_enabled': 'false',
                'ironic_api_url': 'http://%s:%d' % (CLUSTER, API_PORT),
                'state_dir': self.state,
                'https_port': 8443, 'https_cert_file': self.prov_cert,
                'https_key_file': self.prov_key,
                'callback_read_timeout': 30}
        self.agent = netns.start_agent(self.lab, self.agent_ns, opts, HOSTS)
        wait_port(self.cluster, AGENT_CLUS, 8081)

    def ramdisk(self, ns, ip, port, name, cert=None):
        """(Re)start a stand-in ramdisk on ``ip:port``."""
        old = self.ramdisks.pop((ip, port), None)
        if old is not None:
            netns.stop_process(old)
        argv = [netns.PYTHON, STAND_INS, 'ramdisk', '--address', ip,
                '--port', str(port), '--name', name]
        if cert:
            argv += ['--cert', cert[1], '--key', cert[2]]
        self.ramdisks[(ip, port)] = ns.popen(*argv,
                                             stdout=subprocess.DEVNULL)
        wait_port(ns, ip, port)

    def heartbeat(self, ns, node, doc, url=PROXY, extra=()):
        """POST a heartbeat from ``ns``; (HTTP status, body)."""
        r = ns.run('curl', '-sS', '--max-time', '20', '-o', '/dev/stdout',
                   '-w', '\n%{http_code}', '-X', 'POST', '-H',
                   'Content-Type: application/json', '-d', json.dumps(doc),
                   *extra, url + '/v1/heartbeat/' + node, timeout=30)
        body, _, status = r.stdout.rpartition('\n')
        return int(status), body

    def forwarded(self):
        """The heartbeats the stand-in API received."""
        with open(self.api_log) as f:
            return [json.loads(line) for line in f]

    def conductor(self, *args, timeout=60, check=True):
        """curl in the cluster namespace: (status, body)."""
        r = self.cluster.run('curl', '-sS', '--max-time', str(timeout),
                             '-w', '\n%{http_code}', *args,
                             timeout=timeout + 10, check=check)
        body, _, status = r.stdout.rpartition('\n')
        return int(status or 0), body, r

    def ca_file(self, pem, name='agent-ca.pem'):
        path = self.lab.path(name)
        with open(path, 'w') as f:
            f.write(pem)
        return path

    def register(self, ns, node, callback_url, verify_ca=None, url=PROXY,
                 extra=()):
        """Heartbeat, then the rewritten document as the API got it."""
        doc = {'callback_url': callback_url, 'agent_token': 'tok-' + node,
               'agent_version': '13.0.0'}
        if verify_ca:
            doc['agent_verify_ca'] = verify_ca
        before = len(self.forwarded())
        status, body = self.heartbeat(ns, node, doc, url=url, extra=extra)
        assert status == 202, body
        seen = self.forwarded()
        assert len(seen) == before + 1
        return seen[-1]['body']


def serve(bed_class, tag, ramdisks):
    """Build, start and yield a bed; ``ramdisks``: (ns name, ip, name)."""
    if not netns.have_root():
        pytest.skip('needs root: network namespaces')
    missing = netns.missing_binaries('ip', 'setpriv', 'curl')
    if missing:
        pytest.fail('missing binaries: %s' % ', '.join(missing))
    with netns.Lab(tag) as lab:
        b = bed_class(lab)
        b.start_api()
        b.start_agent()
        for ns, ip, name in ramdisks:
            b.ramdisk(getattr(b, ns), ip, 9999, name)
        try:
            yield b
        finally:
            b.agent.stop()


@pytest.fixture(scope='module')
def cb():
    yield from serve(Bed, 'vcb', [('server_a', IP_A, 'a-http'),
                                  ('server_b', IP_B, 'b-http')])


def test_segments_are_separated(cb):
    r = cb.server_a.run('curl', '-sS', '--max-time', '3',
                        'http://%s:%d/' % (CLUSTER, API_PORT), check=False)
    assert r.returncode != 0
    r = cb.cluster.run('curl', '-sS', '--max-time', '3',
                       'http://%s:9999/v1/commands/' % IP_A, check=False)
    assert r.returncode != 0


def test_heartbeat_is_rewritten_and_the_conductor_reaches_the_ramdisk(cb):
    doc = cb.register(cb.server_a, NODE_A, 'http://%s:9999' % IP_A)
    url = doc['callback_url']
    assert url.startswith('https://%s:8081/ramdisk/' % AGENT_CLUS)
    assert doc['agent_token'] == 'tok-' + NODE_A
    ca = cb.ca_file(doc['agent_verify_ca'])
    status, body, _ = cb.conductor('--cacert', ca, url + '/v1/commands/')
    assert status == 200
    echo = json.loads(body)
    assert echo == {'ramdisk': 'a-http', 'method': 'GET',
                    'path': '/v1/commands/', 'query': '',
                    'host': '%s:9999' % IP_A, 'body_length': 0}
    command = json.dumps({'name': 'clean.get_clean_steps', 'params': {}})
    status, body, _ = cb.conductor(
        '--cacert', ca, '-X', 'POST', '-H', 'Content-Type: application/json',
        '-d', command, url + '/v1/commands/?wait=true&agent_token=SECRETTOK')
    echo = json.loads(body)
    assert (status, echo['method'], echo['query'], echo['body_length']) == (
        200, 'POST', 'wait=true&agent_token=SECRETTOK', len(command))
    assert 'SECRETTOK' not in cb.agent.log()
    # The same ramdisk gets the same URL on every heartbeat.
    assert cb.register(cb.server_a, NODE_A,
                       'http://%s:9999' % IP_A)['callback_url'] == url


def test_the_conductor_must_verify_the_agent(cb):
    doc = cb.register(cb.server_b, NODE_B, 'http://%s:9999' % IP_B)
    status, _, r = cb.conductor(doc['callback_url'] + '/v1/commands/',
                                check=False)
    assert r.returncode == 60        # curl: peer certificate not trusted
    other = cb.ca_file(self_signed(AGENT_CLUS, cb.lab.path('other'))[0],
                       'other-ca.pem')
    status, _, r = cb.conductor('--cacert', other,
                                doc['callback_url'] + '/v1/commands/',
                                check=False)
    assert r.returncode == 60


def test_https_ramdisk_is_pinned_to_its_certificate(cb):
    cert = self_signed(IP_A, cb.lab.path('ramdisk-a'))
    cb.ramdisk(cb.server_a, IP_A, 9443, 'a-https', cert=cert)
    doc = cb.register(cb.server_a, NODE_A, 'https://%s:9443' % IP_A,
                      verify_ca=cert[0])
    assert doc['agent_verify_ca'] != cert[0]
    ca = cb.ca_file(doc['agent_verify_ca'])
    url = doc['callback_url'] + '/v1/commands/'
    status, body, _ = cb.conductor('--cacert', ca, url)
    assert (status, json.loads(body)['ramdisk']) == (200, 'a-https')
    # A ramdisk that presents another certificate is not reached: the
    # conductor's connection is reset, as on a failed TLS handshake.
    cb.ramdisk(cb.server_a, IP_A, 9443, 'impostor',
               cert=self_signed(IP_A, cb.lab.path('impostor')))
    status, body, r = cb.conductor('--cacert', ca, url, check=False)
    assert status == 0 and r.returncode in (52, 56), r
    assert 'impostor' not in body
    cb.ramdisk(cb.server_a, IP_A, 9443, 'a-https', cert=cert)
    status, body, _ = cb.conductor('--cacert', ca, url)
    assert (status, json.loads(body)['ramdisk']) == (200, 'a-https')


def test_heartbeat_over_https_on_the_provisioning_side(cb):
    doc = cb.register(cb.server_a, NODE_A, 'http://%s:9999' % IP_A,
                      url=PROXY_TLS, extra=('--cacert', cb.prov_cert))
    assert doc['callback_url'].startswith('https://%s:8081/' % AGENT_CLUS)
    # Verified: without the proxy's certificate curl refuses.
    status, _ = cb.heartbeat(cb.server_a, NODE_A, {'callback_url': ''},
                             url=PROXY_TLS, extra=('--cacert', cb.prov_cert))
    assert status == 202
    r = cb.server_a.run('curl', '-sS', '--max-time', '5',
                        PROXY_TLS + '/v1', check=False)
    assert r.returncode == 60


@pytest.mark.parametrize('who,node,callback', [
    # a callback URL for an address that is not the node's reservation
    ('a', NODE_A, 'http://%s:9999' % IP_B),
    # a forged heartbeat: B's reserved address speaks for node A
    ('b', NODE_A, 'http://%s:9999' % IP_B),
    ('b', NODE_A, 'http://%s:9999' % IP_A),
    # a node named by name cannot be attributed
    ('a', 'node-a', 'http://%s:9999' % IP_A),
    # a host name instead of the address
    ('a', NODE_A, 'http://ramdisk-a:9999'),
])
def test_unattributable_heartbeats_are_refused(cb, who, node, callback):
    ns = cb.server_a if who == 'a' else cb.server_b
    before = len(cb.forwarded())
    status, body = cb.heartbeat(ns, node, {'callback_url': callback,
                                           'agent_token': 'x'})
    assert status == 403, body
    assert len(cb.forwarded()) == before


def test_query_and_form_heartbeats_cannot_bypass_the_rewrite(cb):
    before = len(cb.forwarded())
    r = cb.server_a.run(
        'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST',
        '-d', 'callback_url=http://%s:9999' % IP_A,
        PROXY + '/v1/heartbeat/' + NODE_A)
    assert r.stdout == '400'
    r = cb.server_a.run(
        'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST',
        '-H', 'Content-Type: application/json', '-d', '{"callback_url": ""}',
        PROXY + '/v1/heartbeat/%s?callback_url=http://%s:9999'
        % (NODE_A, IP_A))
    assert r.stdout == '400'
    assert len(cb.forwarded()) == before


def test_listener_refuses_what_it_cannot_attribute(cb):
    doc = cb.register(cb.server_a, NODE_A, 'http://%s:9999' % IP_A)
    ca = cb.ca_file(doc['agent_verify_ca'])
    url = doc['callback_url']
    base = url.rsplit('/', 1)[0]
    rid = url.rsplit('/', 1)[1]
    listener = 'https://%s:8081' % AGENT_CLUS

    def status(*args):
        return cb.conductor('--cacert', ca, '--path-as-is', *args)[0]

    # unknown ramdisk ids, other paths
    assert status(base + '/' + 'a' * 26 + '/v1/commands/') == 404
    assert status(base + '/' + rid[:-1] + '/v1/commands/') == 404
    assert status(listener + '/v1/commands/') == 404
    # no way to another port: the id fixes it, Host is rewritten
    assert status(base + '/' + rid + ':22/v1/commands/') == 404
    _, body, _ = cb.conductor('--cacert', ca, '-H', 'Host: %s:22' % IP_A,
                              url + '/v1/commands/')
    assert json.loads(body)['host'] == '%s:9999' % IP_A
    other_port = cb.register(cb.server_a, NODE_A, 'http://%s:9998' % IP_A)
    assert other_port['callback_url'] != url
    _, body, _ = cb.conductor('--cacert', ca, url + '/v1/commands/')
    assert json.loads(body)['host'] == '%s:9999' % IP_A
    # not an open proxy: absolute form, CONNECT, dot segments
    assert status('--request-target', 'http://%s:9999/v1/commands/' % IP_A,
                  listener) == 400
    assert status('-X', 'CONNECT', '--request-target', '%s:9999' % IP_A,
                  listener) == 405
    assert status(url + '/../../v1/commands/') == 400


def test_a_gone_reservation_closes_the_path(cb):
    doc = cb.register(cb.server_b, NODE_B, 'http://%s:9999' % IP_B)
    ca = cb.ca_file(doc['agent_verify_ca'])
    url = doc['callback_url'] + '/v1/commands/'
    assert cb.conductor('--cacert', ca, url)[0] == 200
    assert _status_without_reservation(cb, MAC_B, ca, url) == 403


def test_a_reservation_between_two_phases_keeps_the_path(cb):
    # Ironic removes the cleaning network and adds the deploy's while a
    # fast-track ramdisk runs on: for that moment the node's MAC has no
    # reservation, its address is nobody else's, and the conductor's
    # commands must still reach it (they failed the deploy step with 403).
    doc = cb.register(cb.server_b, NODE_B, 'http://%s:9999' % IP_B)
    ca = cb.ca_file(doc['agent_verify_ca'])
    url = doc['callback_url'] + '/v1/commands/'
    assert _status_without_reservation(cb, MAC_B, ca, url,
                                       moved=False) == 200


OTHER_MAC = '52:54:00:00:0c:ff'
OTHER_NODE = '0b0b0b0b-0000-4000-8000-00000000c0ff'


def _status_without_reservation(cb, mac, ca, url, moved=True):
    """The listener's answer once ``mac``'s reservation is gone.

    With ``moved`` its address is reserved for another machine at the
    same time; without, nobody holds it (Ironic between two phases of a
    fast track). The reservations are restored afterwards.
    """
    gone = [h for h in HOSTS['hosts'] if h['mac'] == mac]
    hosts = [h for h in HOSTS['hosts'] if h['mac'] != mac]
    if moved:
        hosts += [{'mac': OTHER_MAC, 'ip': h['ip'], 'node_uuid': OTHER_NODE}
                  for h in gone]
    reloads = cb.agent.log().count('Reloaded ')
    cb.agent.write_hosts({'defaults': HOSTS['defaults'], 'hosts': hosts})
    cb.agent.hup()
    try:
        for _ in range(100):
            if cb.agent.log().count('Reloaded ') > reloads:
                break
            time.sleep(0.1)
        else:
            raise AssertionError('the agent did not reload its hosts file')
        return cb.conductor('--cacert', ca, url)[0]
    finally:
        cb.agent.write_hosts(HOSTS)
        cb.agent.hup()


def _hwm_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM')


def test_large_command_response_streams_with_flat_memory(cb):
    doc = cb.register(cb.server_a, NODE_A, 'http://%s:9999' % IP_A)
    ca = cb.ca_file(doc['agent_verify_ca'])
    before = _hwm_kib(cb.agent.proc.pid)
    r = cb.cluster.run('curl', '-sS', '--max-time', '120', '--cacert', ca,
                       '-o', '/dev/null', '-w',
                       '%{http_code} %{size_download}',
                       doc['callback_url'] + '/big/%d' % BIG, timeout=130)
    assert r.stdout == '200 %d' % BIG
    grown = _hwm_kib(cb.agent.proc.pid) - before
    assert grown < 32 * 1024, 'agent peak RSS grew by %d KiB' % grown


def test_restart_keeps_the_callback_url_and_the_ca(cb):
    doc = cb.register(cb.server_a, NODE_A, 'http://%s:9999' % IP_A)
    cb.agent.stop()
    cb.start_agent()
    again = cb.register(cb.server_a, NODE_A, 'http://%s:9999' % IP_A)
    assert again['callback_url'] == doc['callback_url']
    assert again['agent_verify_ca'] == doc['agent_verify_ca']
    ca = cb.ca_file(again['agent_verify_ca'])
    assert cb.conductor('--cacert', ca, again['callback_url']
                        + '/v1/commands/')[0] == 200


def test_a_restart_between_heartbeat_and_command_is_invisible(cb):
    # A ramdisk that heartbeats once, then the agent restarts: the
    # conductor's next call reaches it without another heartbeat.
    cb.ramdisk(cb.server_a, IP_A, 9997, 'a-restart')
    doc = cb.register(cb.server_a, NODE_A, 'http://%s:9997' % IP_A)
    ca = cb.ca_file(doc['agent_verify_ca'])
    cb.agent.stop()
    cb.start_agent()
    assert re.search(r'Callback: [1-9]\d* ramdisks loaded from',
                     cb.agent.log())
    status, body, _ = cb.conductor('--cacert', ca, doc['callback_url']
                                   + '/v1/commands/')
    assert (status, json.loads(body)['ramdisk']) == (200, 'a-restart')
    # Loaded entries are still checked against the reservations.
    assert _status_without_reservation(
        cb, MAC_A, ca, doc['callback_url'] + '/v1/commands/') == 403


def _ipa_ramdisk(cb, port):
    """IPA 13's HTTP stack (cheroot + werkzeug, TLS) on IP_A:``port``.

    Registered by a heartbeat of node A: (callback URL, agent CA file).
    """
    cert = self_signed(IP_A, cb.lab.path('ipa-%d' % port))
    old = cb.ramdisks.pop((IP_A, port), None)
    if old is not None:
        netns.stop_process(old)
    cb.ramdisks[(IP_A, port)] = cb.server_a.popen(
        netns.PYTHON, STAND_INS, 'ipa', '--address', IP_A, '--port',
        str(port), '--name', 'ipa', '--cert', cert[1], '--key', cert[2],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(cb.server_a, IP_A, port)
    doc = cb.register(cb.server_a, NODE_A, 'https://%s:%d' % (IP_A, port),
                      verify_ca=cert[0])
    return doc['callback_url'], cb.ca_file(doc['agent_verify_ca'],
                                           'ipa-ca-%d.pem' % port)


def _conduct(cb, url, ca, plan):
    r = cb.cluster.run(netns.PYTHON, STAND_INS, 'conductor', '--url', url,
                       '--cert', ca, '--plan', json.dumps(plan),
                       timeout=120)
    return json.loads(r.stdout)


def test_ipa_answers_reach_the_conductor_as_json(cb):
    # IPA 13's server (cheroot): bodies with Content-Length and chunked
    # ones (re-chunked by the listener), small, around a 4 KiB chunk and
    # large, one after another on the conductor's keep-alive session.
    port = 9301
    url, ca = _ipa_ramdisk(cb, port)
    plan = [{'size': size, 'chunked': chunked}
            for size in (0, 4000, 4096, 70000, 2 * 1024 * 1024)
            for chunked in (False, True)]
    answers = _conduct(cb, url, ca, plan)
    for params, answer in zip(plan, answers):
        assert answer['status'] == 200, (params, answer)
        result = answer['doc']['command_result']
        assert len(result['pad']) == params['size'], params
        assert result['query'] == 'wait=true&agent_token=tok'


def test_listener_failures_reach_the_conductor_as_ironic_reads_them(cb):
    # A ramdisk the listener cannot reach: the conductor's connection
    # fails, as it would talking to the ramdisk itself, so Ironic's
    # AgentClient raises AgentConnectionFailed (retried; with fast track
    # "agent not up yet, wait for the heartbeat") instead of failing the
    # step on an HTTP error. Its own refusals (an unknown ramdisk id) are
    # in IPA's error format: AgentClient decodes every answer as JSON
    # before it looks at the status, and a text body ("502 cannot
    # connect...") became "Unable to decode response as JSON ... Extra
    # data: line 1 column 5 (char 4)".
    port = 9302
    url, ca = _ipa_ramdisk(cb, port)
    netns.stop_process(cb.ramdisks.pop((IP_A, port)))
    [down] = _conduct(cb, url, ca, [{}])
    assert 'connection_failed' in down, down
    assert down['connection_failed'] in ('ConnectionError', 'SSLError'), down
    base = url.rsplit('/', 1)[0]
    [unknown] = _conduct(cb, base + '/' + 'a' * 26, ca, [{}])
    assert unknown['status'] == 404 and 'doc' in unknown, unknown
    assert unknown['doc']['faultcode'] == 'Client'
    assert 'unknown ramdisk' in unknown['doc']['faultstring']
