"""Two agents on one provisioning segment, with real clients and VRRP.

See tests/fixtures/aa_bed.py for the bed. The tests run in order on one
bed: first both agents serve (RFC 2131 4.3.2 with two servers), then
the agent holding the shared addresses is killed with SIGKILL in the
middle of a DHCP exchange, of a dhclient lease and of a deploy (a
ramdisk registered through the callback path), and everything continues
through the other agent.
"""

import hashlib
import json
import os
import threading
import time

import pytest

from tests.fixtures import aa_bed as c
from tests.fixtures.bridge_bed import wait_port
from tests.fixtures import netns
from tests.functional.agent.dhcp.test_real_clients import client_script
from tests.functional.agent.dhcp.test_real_clients import wait_lines

KERNEL = os.urandom(3 * 1024 * 1024)
KERNEL_SHA = hashlib.sha256(KERNEL).hexdigest()


# The agents' default iPXE script URL names the VIP (service_address).
BOOT_IPXE = b"""#!ipxe
echo vmetal active-active: boot.ipxe is running
chain http://%s:8080/proof/${net0/mac:hexhyp}/${net0/ip} ||
""" % c.VIP_PROV.encode()
PROOF_IPXE = b"""#!ipxe
echo vmetal active-active: proof reached
poweroff ||
sleep 300
"""
VM_TIMEOUT = 60


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, 0o644)


@pytest.fixture(scope='module')
def aa():
    if not netns.have_root():
        pytest.skip('needs root: network namespaces')
    missing = netns.missing_binaries('ip', 'setpriv', 'curl', 'keepalived',
                                     'dhclient', 'udhcpc',
                                     'qemu-system-x86_64')
    if missing:
        pytest.fail('missing binaries: %s' % ', '.join(missing))
    with netns.Lab('vaa') as lab:
        b = c.Bed(lab)
        with open(os.path.join(b.boot_dir, 'kernel'), 'wb') as f:
            f.write(KERNEL)
        os.chmod(os.path.join(b.boot_dir, 'kernel'), 0o644)
        write(b.boot_dir, 'boot.ipxe', BOOT_IPXE)
        write(b.boot_dir, 'proof/%s/%s' % (c.MAC_VM.replace(':', '-'),
                                           c.IP_VM), PROOF_IPXE)
        b.start_cluster_side()
        b.start_agent(1)
        b.start_agent(2)
        b.start_keepalived(1)
        b.start_keepalived(2)
        b.wait_holder()
        b.client_c = b.client(c.MAC_C)
        try:
            yield b
        finally:
            b.stop()


def probe(ns, **spec):
    spec.setdefault('iface', 'eth0')
    out = ns.run(netns.PYTHON, '-m', 'tests.fixtures.dhcp_multi',
                 json.dumps(spec), timeout=30, cwd=netns.REPO,
                 env=dict(os.environ, PYTHONPATH=netns.REPO))
    return sorted((json.loads(ln) for ln in out.stdout.splitlines()
                   if ln.startswith('{')), key=lambda r: r['server_id'])


def test_both_agents_offer_the_reserved_address(aa):
    offers = probe(aa.client_c, mac=c.MAC_C, send='discover')
    assert [(r['msg_type'], r['yiaddr'], r['server_id']) for r in offers] \
        == [(2, c.IP_C, c.PROV[1]), (2, c.IP_C, c.PROV[2])]
    # each agent's replies come from its own address, not the VIP
    assert [r['src_ip'] for r in offers] == [c.PROV[1], c.PROV[2]]


@pytest.mark.parametrize('n', [1, 2])
def test_request_naming_one_server_is_answered_by_it_only(aa, n):
    replies = probe(aa.client_c, mac=c.MAC_C, send='select',
                    server_id=c.PROV[n], requested=c.IP_C)
    assert [(r['msg_type'], r['yiaddr'], r['server_id']) for r in replies] \
        == [(5, c.IP_C, c.PROV[n])]


@pytest.mark.parametrize('n', [1, 2])
def test_renewal_unicast_to_one_agent_is_answered_by_it(aa, n):
    ns = aa.client_c      # one port per MAC on the bridge
    ns.run('ip', 'addr', 'replace', c.IP_C + '/24', 'dev', 'eth0')
    try:
        replies = probe(ns, mac=c.MAC_C, send='renew', server_id=c.PROV[n],
                        server_mac=c.MACS[n], requested=c.IP_C)
    finally:
        ns.run('ip', 'addr', 'flush', 'dev', 'eth0')
    assert [(r['msg_type'], r['server_id'], r['dst_ip']) for r in replies] \
        == [(5, c.PROV[n], c.IP_C)]


def ramdisk_heartbeat(aa, ns):
    doc = {'callback_url': 'http://%s:9999' % c.IP_A,
           'agent_token': 'tok-a', 'agent_version': '13.0.0'}
    before = len(forwarded(aa))
    r = ns.run('curl', '-sS', '--max-time', '20', '-o', '/dev/null', '-w',
               '%{http_code}', '-X', 'POST', '-H',
               'Content-Type: application/json', '-d', json.dumps(doc),
               'http://%s:8080/v1/heartbeat/%s' % (c.VIP_PROV, c.NODE_A),
               timeout=30)
    assert r.stdout == '202'
    seen = forwarded(aa)
    assert len(seen) == before + 1
    return seen[-1]['body']


def forwarded(aa):
    with open(aa.api_log) as f:
        return [json.loads(line) for line in f]


def conductor(aa, url, ca):
    r = aa.cluster.run('curl', '-sS', '--max-time', '20', '--cacert', ca,
                       '-w', '\n%{http_code}', url + '/v1/commands/',
                       timeout=30, check=False)
    body, _, status = r.stdout.rpartition('\n')
    return int(status or 0), body


def kernel_via_vip(ns):
    """The SHA-256 of the boot file fetched through the VIP."""
    r = ns.run('sh', '-c', 'curl -sSf --max-time 20 http://%s:8080/kernel '
               '| sha256sum' % c.VIP_PROV, timeout=30)
    return r.stdout.split()[0]


def test_agent_killed_mid_deploy_and_mid_exchange(aa):
    # A server mid-deploy: its ramdisk heartbeats through the VIP (the holder)
    ns_a = aa.client(c.MAC_A, address=c.IP_A)
    aa.lab.procs.append(ns_a.popen(
        netns.PYTHON, c.STAND_INS, 'ramdisk', '--address', c.IP_A,
        '--port', '9999', '--name', 'ramdisk-a'))
    wait_port(ns_a, c.IP_A, 9999)
    assert kernel_via_vip(ns_a) == KERNEL_SHA
    doc = ramdisk_heartbeat(aa, ns_a)
    url = doc['callback_url']
    assert url.startswith('https://%s:8081/ramdisk/' % c.VIP_CLUS)
    ca = aa.lab.path('agent-ca.pem')
    with open(ca, 'w') as f:
        f.write(doc['agent_verify_ca'])
    status, body = conductor(aa, url, ca)
    assert status == 200 and json.loads(body)['ramdisk'] == 'ramdisk-a'

    # A dhclient lease (16 s) from one of the agents.
    ns_b = aa.client(c.MAC_B)
    script, events = client_script(aa.lab, 'dhclient-b')
    conf = aa.lab.path('dhclient.conf')
    with open(conf, 'w') as f:
        f.write('timeout 30;\nretry 1;\ninitial-interval 1;\n')
    dhclient = ns_b.popen('dhclient', '-4', '-d', '-v', '-cf', conf, '-sf',
                          script, '-lf', aa.lab.path('dhclient.leases'),
                          '-pf', aa.lab.path('dhclient.pid'), 'eth0')
    lines = wait_lines(events, ['BOUND'], timeout=30)
    assert any(ln.startswith('BOUND ip=%s ' % c.IP_B) for ln in lines), \
        lines

    # Mid-exchange: both agents offered, the client picked the holder ...
    h = aa.holder()
    o = 3 - h
    offers = probe(aa.client_c, mac=c.MAC_C, send='discover')
    assert [r['server_id'] for r in offers] == [c.PROV[1], c.PROV[2]]
    aa.kill9(h)
    killed = time.monotonic()
    mover = threading.Thread(target=lambda: moved.append(
        aa.wait_holder(o)), daemon=True)
    moved = []
    mover.start()
    n_events = len(lines)
    # ... whose REQUEST now gets silence (the other agent is not named),
    assert probe(aa.client_c, mac=c.MAC_C, send='select',
                 server_id=c.PROV[h], requested=c.IP_C) == []
    # and the client's next DISCOVER is answered by the other agent alone.
    offers = probe(aa.client_c, mac=c.MAC_C, send='discover')
    assert [(r['yiaddr'], r['server_id']) for r in offers] == \
        [(c.IP_C, c.PROV[o])]

    # The shared addresses move to the other agent (/healthz failed).
    mover.join(timeout=60)
    assert moved, 'the VIPs did not move'
    print('VIPs moved %.1f s after the SIGKILL' % (moved[0] - killed))
    # Boot files through the same URL, now served by the other agent.
    assert kernel_via_vip(ns_a) == KERNEL_SHA
    # The conductor reaches the ramdisk at the same URL right away, before
    # its next heartbeat: the new holder reads the shared registry.
    status, body = conductor(aa, url, ca)
    assert status == 200 and json.loads(body)['ramdisk'] == 'ramdisk-a'
    assert 'ramdisks loaded from' in aa.agents[o].log()
    # The ramdisk's next heartbeat reaches Ironic through the other agent
    # with the same callback URL and CA (Ironic refuses a changed one) ...
    again = ramdisk_heartbeat(aa, ns_a)
    assert again['callback_url'] == url
    assert again['agent_verify_ca'] == doc['agent_verify_ca']
    # ... and the conductor still reaches the ramdisk at that URL.
    status, body = conductor(aa, url, ca)
    assert status == 200 and json.loads(body)['ramdisk'] == 'ramdisk-a'
    assert url.rsplit('/', 1)[1] in aa.agents[o].log()

    # dhclient: if bound by the killed agent, RENEW fails and REBIND
    # (broadcast) is answered by the other; else it renews with it.
    try:
        deadline = time.monotonic() + 30
        later = []
        while time.monotonic() < deadline:
            with open(events) as f:
                later = f.read().splitlines()[n_events:]
            if any('server=%s' % c.PROV[o] in ln for ln in later):
                break
            time.sleep(0.3)
    finally:
        netns.stop_process(dhclient)
    renewed = [ln for ln in later if 'server=%s' % c.PROV[o] in ln]
    assert renewed and 'ip=%s ' % c.IP_B in renewed[0], later

    # udhcpc after the failover: bound by the other agent.
    script, ev = client_script(aa.lab, 'udhcpc-c')
    p = aa.client_c.popen('udhcpc', '-f', '-i', 'eth0', '-s', script,
                          '-t', '10', '-T', '1', '-A', '1')
    try:
        got = wait_lines(ev, ['bound'], timeout=15)
    finally:
        netns.stop_process(p)
        aa.client_c.run('ip', 'addr', 'flush', 'dev', 'eth0')
    assert any(ln.startswith('bound ip=%s ' % c.IP_C) for ln in got), got

    # The killed agent comes back: both serve DHCP again, the VIPs stay
    # where they are (nopreempt).
    aa.start_agent(h)
    offers = probe(aa.client_c, mac=c.MAC_C, send='discover')
    assert [r['server_id'] for r in offers] == [c.PROV[1], c.PROV[2]]
    time.sleep(3)
    assert aa.holder() == o


def test_qemu_pxe_boot_with_the_vip_holder_killed_as_it_starts(aa):
    """SeaBIOS + iPXE: DHCP from either agent, boot.ipxe through the VIP.

    The VIP holder is killed as the machine powers on: the firmware's
    DHCP, its script and the proof URL are served by the survivor.
    """
    h = aa.holder()
    o = 3 - h
    begin = time.monotonic()
    proc, console = aa.start_vm('vm', c.MAC_VM)
    aa.kill9(h)
    want = 'GET /proof/%s/%s ' % (c.MAC_VM.replace(':', '-'), c.IP_VM)
    try:
        deadline = time.monotonic() + VM_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if any(ln.startswith(want) for ln in aa.requests_seen()):
                break
            time.sleep(0.5)
    finally:
        netns.stop_process(proc)
    print('QEMU machine: proof after %.1f s' % (time.monotonic() - begin))
    seen = aa.requests_seen()
    with open(console, errors='replace') as f:
        tail = f.read()[-3000:]
    assert any(ln.startswith(want) for ln in seen), (seen[-5:], tail)
    assert any(ln.startswith('GET /boot.ipxe ') for ln in seen)
    assert aa.holder() == o
    assert c.IP_VM in aa.agents[o].log()
