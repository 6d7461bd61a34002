"""The agent's HTTP proxy over IPv6, with the real agent between segments.

The client talks to the proxy on the agent's IPv6 address (fd00:22::2,
``server_address6``) on the provisioning segment; the stand-in Ironic is
on the IPv4-only cluster segment. Nothing is routed between the segments
(forwarding is off in the agent's namespace, for both families): every
byte the client gets went through the proxy.
"""

import hashlib
import json
import os

from tests.fixtures import bridge_bed as bridge
from tests.fixtures import netns

ROTATING = ['fd00:22::%x' % (0x1000 + i) for i in range(24)]

# In the client's namespace: hold idle connections to the proxy from
# rotating source addresses of the segment's /64, then ask once from one
# more of them and once from a reserved address; print the statuses.
HOLD_AND_ASK = r'''
import json, socket, sys
server, rotating, reserved = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
held = []
for src in rotating:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect((server, 8080))
    s.sendall(b'GET /held HTTP/1.1\r\n')
    held.append(s)

def ask(src):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect((server, 8080))
    s.sendall(b'GET /v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b' ', 2)[1]) if data else 0

# the held connections are accepted before the two asks come in
import time
time.sleep(1.0)
out = {'rotated': ask('fd00:22::ffff'), 'reserved': ask(reserved)}
print(json.dumps(out))
'''


def _curl6(bed, *args, check=True):
    return bed.curl('-6', '-g', *args, check=check)


def _status6(bed, *args):
    r = _curl6(bed, '-o', '/dev/null', '-w', '%{http_code}', *args,
               check=False)
    return int(r.stdout or 0)


def test_segments_are_separated_and_forwarding_is_off(bed):
    for key in ('net.ipv6.conf.all.forwarding', 'net.ipv4.ip_forward'):
        assert bed.agent_ns.run('sysctl', '-n', key).stdout.strip() == '0'
    r = bed.curl('-o', '/dev/null', 'http://%s:%d/' % (
        bridge.CLUSTER_IP, bridge.BOOT_PORT), timeout=3, check=False)
    assert r.returncode != 0
    # the proxy listens on both addresses, bound to the provisioning device
    listening = bed.agent_ns.run('ss', '-Htln').stdout
    assert '[%s]%%prov0:8080' % bridge.SERVER6 in listening, listening
    assert '%s%%prov0:8080' % bridge.SERVER in listening, listening


def test_curl_over_ipv6_through_the_proxy(bed):
    bed.write_http('v6/boot.ipxe', b'#!ipxe\necho over IPv6\n')
    before = len(bed.requests_seen(bed.boot_log))
    r = _curl6(bed, '-D', '-', bridge.PROXY6 + '/v6/boot.ipxe')
    assert r.stdout.endswith('#!ipxe\necho over IPv6\n')
    assert r.stdout.lower().startswith('http/1.1 200')
    seen = bed.requests_seen(bed.boot_log)[before:]
    # the boot server saw the request, with the upstream's Host
    assert seen == ['GET /v6/boot.ipxe %s:%d' % (bridge.CLUSTER_IP,
                                                 bridge.BOOT_PORT)]


def test_the_api_sees_the_ipv6_client_in_x_forwarded_for(bed):
    r = _curl6(bed, bridge.PROXY6 + '/v1')
    doc = json.loads(r.stdout)
    assert doc['x_forwarded_for'] == bridge.CLIENT6
    assert doc['path'] == '/v1'


def test_a_python_client_downloads_a_large_file_over_ipv6(bed):
    data = os.urandom(1024 * 1024) * 24 + b'tail'
    bed.write_http('v6/big.bin', data)
    code = ('import hashlib, sys, urllib.request\n'
            'h = hashlib.sha256()\n'
            'with urllib.request.urlopen(sys.argv[1], timeout=60) as r:\n'
            '    while True:\n'
            '        b = r.read(1 << 20)\n'
            '        if not b: break\n'
            '        h.update(b)\n'
            'print(h.hexdigest())\n')
    r = bed.client.run(netns.PYTHON, '-c', code,
                       bridge.PROXY6 + '/v6/big.bin', timeout=90)
    assert r.stdout.strip() == hashlib.sha256(data).hexdigest()


def test_range_and_head_over_ipv6(bed):
    bed.write_http('v6/range.bin', b'abcdefghijklmnopqrstuvwxyz' * 40)
    r = _curl6(bed, '-r', '10-19', '-o', '-', bridge.PROXY6 + '/v6/range.bin')
    assert r.stdout == 'klmnopqrst'
    assert _status6(bed, '-I', bridge.PROXY6 + '/v6/range.bin') == 200


def test_hostile_requests_over_ipv6_get_the_ipv4_answers(bed):
    """The same refusals over both families (test_http.py for IPv4)."""
    cases = [
        (['-X', 'POST', '-d', 'x'], '/boot.ipxe', 405),
        ([], '/v1/nodes', 403),
        ([], '/%2e%2e/secret', 400),
        (['--path-as-is'], '/a/../../etc/passwd', 400),
        (['-X', 'POST', '-H', 'Content-Type: application/json',
          '--data-binary', '@-'], '/v1/continue_inspection', 413),
    ]
    big = 'x' * (65536 + 1)
    for extra, path, want in cases:
        for proxy in (bridge.PROXY, bridge.PROXY6):
            args = ['-6', '-g'] if proxy == bridge.PROXY6 else ['-4']
            r = bed.client.run(
                'curl', '-sS', '--max-time', '20', '-o', '/dev/null', '-w',
                '%{http_code}', *args, *extra, proxy + path,
                input=big if '@-' in extra else None, check=False,
                timeout=30)
            assert int(r.stdout or 0) == want, (proxy, path, r.stdout)
    # malformed heads and absolute URIs, raw over IPv6
    code = ('import socket, sys\n'
            'for raw in sys.argv[2:]:\n'
            '    s = socket.create_connection((sys.argv[1], 8080), 5)\n'
            '    s.sendall(raw.encode("latin-1").decode("unicode_escape")'
            '.encode("latin-1"))\n'
            '    print(s.recv(200).split(b"\\r\\n")[0].decode())\n'
            '    s.close()\n')
    raws = [r'GET http://10.99.0.1:9999/ HTTP/1.1\r\nHost: x\r\n\r\n',
            r'CONNECT 10.99.0.1:9999 HTTP/1.1\r\nHost: x\r\n\r\n',
            r'GET / HTTP/1.1\r\n\r\n',
            r'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n',
            r'\x16\x03\x01\x00\xa5garbage\r\n\r\n']
    r = bed.client.run(netns.PYTHON, '-c', code, bridge.SERVER6, *raws)
    lines = r.stdout.splitlines()
    assert [ln.split(' ')[1] for ln in lines] == [
        '400', '405', '400', '400', '400'], lines
    assert bed.agent.running()


def test_rotating_ipv6_sources_share_one_per_client_cap(bed):
    """Unreserved sources of the /64 share one allowance.

    A reservation keeps its own (doc/ipv6.md). The cap is
    http_max_connections_per_client (16).
    """
    reserved = bridge.RESERVED6
    added = ROTATING + ['fd00:22::ffff', reserved]
    for src in added:
        bridge.add6(bed.client, 'eth0', src + '/64')
    mark = bed.agent.mark()
    try:
        r = bed.client.run(netns.PYTHON, '-c', HOLD_AND_ASK, bridge.SERVER6,
                           json.dumps(ROTATING), reserved, timeout=60)
    finally:
        # the newest address would be the client's source for other tests
        for src in added:
            netns.run('ip', '-n', bed.client.name, '-6', 'addr', 'del',
                      src + '/64', 'dev', 'eth0')
    out = json.loads(r.stdout)
    assert out == {'rotated': 503, 'reserved': 200}, out
    assert bed.agent.wait_log('16 connections of this client '
                              '(fd00:22::/64) in use', since=mark)
