"""The proof: a deploy with the segments really separated.

Three kinds of namespace (:mod:`tests.fixtures.segments`): "cluster" (a
real Ironic 39, API + conductor, and its HTTP boot server), "agent" (the
real vmetal-dhcp-agent, one leg in each segment, IP forwarding off) and
"server" (one leg on the provisioning segment). The IPAM database is a
temporary PostgreSQL database reached through PostgreSQL's Unix socket
from every namespace, so no namespace is routed to the server.

The tests run in order on one bed: separation first, then two servers
(plain HTTP and automatic TLS ramdisks) cleaned and deployed across the
agent, the attacks on the callback path while both are deployed, then
undeploy (cleaning again) and delete.
"""

import os
import pathlib
import secrets
import shutil
import tempfile

import pytest

from tests.fixtures import ironic_helpers as helpers
from tests.fixtures import netns
from tests.fixtures import segments as seg
from tests.functional import databases
from vmetal_ironic.agent.http import heartbeat as hb

MAC_A = '52:54:00:5e:00:0a'
MAC_B = '52:54:00:5e:00:0b'
TEST_TIMEOUT = 300
PROBE_IP = '172.22.0.250'


_require = seg.require


@pytest.fixture(autouse=True)
def deadline():
    """Bound each test (the bed's clean-up still runs on expiry)."""
    with seg.deadline(TEST_TIMEOUT):
        yield


@pytest.fixture(scope='module')
def bed():
    _require()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-2seg-'))
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with seg.Bed(seg.postgresql_socket_url(url)) as b:
                b.start()
                b.nodes = {}
                yield b
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def curl(ns, *args, timeout=10):
    """curl in ``ns``: (HTTP status or 0, body)."""
    r = ns.run('curl', '-sS', '--max-time', str(timeout), '-o', '-',
               '-w', '\n%{http_code}', *args, check=False,
               timeout=timeout + 10)
    body, _, code = r.stdout.rpartition('\n')
    return int(code or 0), body + r.stderr


def _connection_failed(curl_output):
    """curl's message for a connection closed or reset with no answer."""
    text = curl_output.lower()
    return 'empty reply' in text or 'reset' in text


def test_1_segments_are_separated(bed):
    probe = bed.lab.namespace('probe')
    probe.attach(bed.prov, 'eth0', PROBE_IP + '/24')
    for key in ('net.ipv4.ip_forward', 'net.ipv4.conf.all.forwarding'):
        assert bed.agent_ns.run('sysctl', '-n', key).stdout.strip() == '0'
    listener = probe.popen(netns.PYTHON, '-m', 'http.server', '9999',
                           '--bind', PROBE_IP)
    seg.wait_port(probe, PROBE_IP, 9999)
    # What each side must reach (the controls) ...
    assert seg.connect(probe, seg.AGENT_PROV, seg.PROXY_PORT) == ''
    assert seg.connect(bed.cluster, seg.AGENT_CLUS, seg.CALLBACK_PORT) == ''
    # ... and nothing else.
    cluster_side = ((seg.CLUSTER_IP, seg.API_PORT),
                    (seg.CLUSTER_IP, seg.BOOT_PORT),
                    (seg.AGENT_CLUS, seg.CALLBACK_PORT))
    provisioning_side = ((PROBE_IP, 9999),
                         (seg.AGENT_PROV, seg.PROXY_PORT))
    for address, port in cluster_side:
        assert seg.connect(probe, address, port) != '', (address, port)
    for address, port in provisioning_side:
        assert seg.connect(bed.cluster, address, port) != '', address
    # Even with routes through the agent nothing crosses it: forwarding
    # is off, and the agent's listeners are bound to their devices, so
    # its cluster address does not answer on the provisioning leg (nor
    # its provisioning address on the cluster leg), although Linux
    # accepts traffic for any local address on any interface.
    probe.route('10.99.0.0/24', 'via', seg.AGENT_PROV)
    bed.cluster.route('172.22.0.0/24', 'via', seg.AGENT_CLUS)
    assert seg.connect(probe, seg.AGENT_PROV, seg.PROXY_PORT) == ''
    for address, port in cluster_side:
        assert seg.connect(probe, address, port) != '', (address, port)
    assert seg.connect(bed.cluster, seg.AGENT_CLUS, seg.CALLBACK_PORT) == ''
    for address, port in provisioning_side:
        assert seg.connect(bed.cluster, address, port) != '', address
    bed.cluster.run('ip', 'route', 'del', '172.22.0.0/24')
    netns.stop_process(listener)


def _check_boot(server, node, events):
    """The DHCP exchange and the iPXE chain of one ramdisk boot."""
    proxy = 'http://%s:%d' % (seg.AGENT_PROV, seg.PROXY_PORT)
    dhcp = [e for e in events if e['event'] == 'dhcp']
    assert dhcp and dhcp[-1]['server'] == seg.AGENT_PROV
    assert dhcp[-1]['bootfile'] == proxy + '/boot.ipxe'
    fetched = [(e['url'], e['status']) for e in events
               if e['event'] == 'fetch']
    node_files = '%s/%s/' % (proxy, node['uuid'])
    assert (proxy + '/boot.ipxe', 200) in fetched
    assert (proxy + '/pxelinux.cfg/' + server.mac.replace(':', '-'),
            200) in fetched
    assert (node_files + 'deploy_kernel', 200) in fetched
    assert (node_files + 'deploy_ramdisk', 200) in fetched
    [boot] = [e for e in events if e['event'] == 'boot' and e['booted']][-1:]
    assert boot['api_url'] == proxy
    return dhcp[-1]['ip']


def _deploy_boot(events, mark):
    """The events of the boot that served the deploy, from its DHCP on.

    The server "reboots" as soon as cleaning ends (its lookup fails); on a
    quick machine that boot's DHCP and iPXE chain come before ``provide``
    returns (before ``mark``), and the deploy's first lookup after it.
    """
    first = next(i for i in range(mark, len(events))
                 if events[i]['event'] == 'lookup'
                 and events[i]['status'] == 200)
    start = max((i for i in range(first) if events[i]['event'] == 'dhcp'),
                default=mark)
    return events[start:]


def _deploy(bed, name, mac, tls):
    env = bed.ironic
    server = bed.add_server(name, mac, tls=tls)
    node = env.create_node(mac=mac, deploy='direct')
    bed.nodes[name] = (server, node)
    with helpers.explained(env, server, bed.agent):
        env.provide(node['uuid'], timeout=120)
    cleaning = server.events()
    assert any(e['event'] == 'command' and e['name'] == 'get_clean_steps'
               for e in cleaning)
    mark = len(cleaning)
    with helpers.explained(env, server, bed.agent):
        deployed = helpers.deploy(bed.ironic, node, timeout=120)
    assert deployed['provision_state'] == 'active', deployed['last_error']
    events = _deploy_boot(server.events(), mark)
    ip = _check_boot(server, node, events)
    # The address Ironic rendered is the one DHCP handed out.
    [network] = deployed['network_data']['networks']
    assert network['ip_address'] == ip
    assert network['link'] and deployed['network_data']['links'][0][
        'ethernet_mac_address'] == mac
    # Lookup and heartbeat through the proxy; the conductor's commands
    # arrived from the agent's provisioning address, over TLS when the
    # ramdisk serves TLS.
    assert any(e['event'] == 'lookup' and e['status'] == 200
               for e in events)
    beats = [e for e in events if e['event'] == 'heartbeat']
    assert beats and all(b['callback_url'] == '%s://%s:9999' % (
        'https' if tls else 'http', ip) for b in beats)
    assert any(b['status'] == 202 for b in beats)
    requests = [e for e in events if e['event'] == 'command-request']
    assert requests
    assert {e['peer'] for e in requests} == {seg.AGENT_PROV}
    assert {e['scheme'] for e in requests} == {'https' if tls else 'http'}
    names = [e['name'] for e in events if e['event'] == 'command']
    for step in ('get_deploy_steps', 'execute_deploy_step', 'sync'):
        assert step in names
    # The image came through the proxy, whole.
    [image] = [e for e in events if e['event'] == 'image']
    assert image['url'].startswith('http://%s:' % seg.IMAGE_HOST)
    assert image['status'] == 200 and image['hash_ok']
    assert image['bytes'] == seg.IMAGE_SIZE
    # The conductor called the agent's listener (HTTPS, verified with the
    # agent's CA it got in the heartbeat).
    assert 'Callback: node %s ramdisk %s://%s:9999 is https://%s:%d/' \
        'ramdisk/' % (node['uuid'], 'https' if tls else 'http', ip,
                      seg.AGENT_CLUS, seg.CALLBACK_PORT) in bed.agent.log()
    return server, node, ip


def test_2_deploy_plain_ramdisk(bed):
    bed.ip_a = _deploy(bed, 'a', MAC_A, tls=False)[2]


def test_3_deploy_tls_ramdisk(bed):
    bed.ip_b = _deploy(bed, 'b', MAC_B, tls=True)[2]


def test_4_attacks_are_refused(bed):
    (srv_a, node_a), (srv_b, _) = bed.nodes['a'], bed.nodes['b']
    # Both servers hold their reserved addresses, statically now.
    for server, ip in ((srv_a, bed.ip_a), (srv_b, bed.ip_b)):
        server.power_off()
        server.ns.run('ip', 'addr', 'flush', 'dev', 'eth0')
        server.ns.run('ip', 'addr', 'add', ip + '/24', 'dev', 'eth0')
    proxy = 'http://%s:%d/v1/heartbeat/' % (seg.AGENT_PROV, seg.PROXY_PORT)

    def beat(server, node_uuid, callback):
        return curl(server.ns, '-H', 'Content-Type: application/json',
                    '-d', '{"callback_url": "%s", "agent_version": "10", '
                    '"agent_token": "x"}' % callback, proxy + node_uuid)

    # A callback URL for an address that is not the node's reservation.
    for target in ('http://172.22.0.119:9999', 'http://%s:%d' % (
            seg.CLUSTER_IP, seg.API_PORT)):
        status, body = beat(srv_a, node_a['uuid'], target)
        assert status == 403, body
    # A forged heartbeat from another reserved server.
    for target in (bed.ip_b, bed.ip_a):
        status, body = beat(srv_b, node_a['uuid'], 'http://%s:9999'
                            % target)
        assert status == 403, body
    # A port other than the original one: Ironic refuses the heartbeat
    # (no valid token), so the listener never learns that id.
    status, _ = beat(srv_a, node_a['uuid'], 'http://%s:22' % bed.ip_a)
    assert status != 202
    with open(os.path.join(bed.lab.path('agent-state'),
                           'callback.secret'), 'rb') as f:
        secret = f.read()
    listener = 'https://%s:%d' % (seg.AGENT_CLUS, seg.CALLBACK_PORT)
    ca = bed.agent_ca()
    other_port = hb.ramdisk_id(secret, node_a['uuid'], bed.ip_a, 22, 'http')
    unknown = ''.join(secrets.choice('abcdefghijklmnopqrstuvwxyz234567')
                      for _ in range(26))
    for path in ('/ramdisk/%s/v1/commands/' % other_port,
                 '/ramdisk/%s/v1/commands/' % unknown,
                 '/v1/commands/', '/ramdisk/', '/'):
        status, body = curl(bed.cluster, '--cacert', ca, listener + path)
        assert status in (403, 404), (path, status, body)
    # The real id still forwards, to the original port only (the
    # ramdisk is off now: the listener resets the conductor's connection,
    # as the ramdisk's host would; it does not go elsewhere).
    real = hb.ramdisk_id(secret, node_a['uuid'], bed.ip_a, 9999, 'http')
    status, out = curl(bed.cluster, '--cacert', ca,
                       listener + '/ramdisk/%s/v1/commands/' % real)
    assert status == 0 and _connection_failed(out), out
    # Plain HTTP to the listener is not served.
    status, _ = curl(bed.cluster, 'http://%s:%d/ramdisk/%s/v1/commands/'
                     % (seg.AGENT_CLUS, seg.CALLBACK_PORT, real))
    assert status != 200
    for server in (srv_a, srv_b):
        server.ns.run('ip', 'addr', 'flush', 'dev', 'eth0')
        server.power_on()


def test_5_undeploy_and_delete(bed):
    env = bed.ironic
    for name in ('a', 'b'):
        server, node = bed.nodes[name]
        mark = len(server.events())
        done = helpers.undeploy(env, node, timeout=120)
        assert done['provision_state'] == 'available', done['last_error']
        names = [e.get('name') for e in server.events()[mark:]
                 if e['event'] == 'command']
        assert 'get_clean_steps' in names
        env.delete(node['uuid'])
        assert env.ipam.list_reservations(node_uuid=node['uuid']) == []
