"""The TFTP server against hostile clients on the loopback interface.

No root needed: the server runs in-process on a free port of 127.0.0.1;
clients are raw sockets (and tftp_probe.fetch), some bound to other
loopback addresses (127.0.0.0/8 is all local) to act as many hosts.
Nothing here asserts a duration: waits are bounded, assertions count
packets, bytes, descriptors and memory.
"""

import hashlib
import os
import socket
import struct
import time

import pytest

from tests.functional.agent.tftp.test_tftp_loopback import _wait
from tests.functional.agent.tftp.test_tftp_loopback import fetch
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import server as tftp

MiB = 1024 * 1024


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp('limits')
    line = b'0123456789 abcdefghij\r\n' * 2 + b'x\n'
    text = (line * (4 * MiB // len(line) + 1))[:4 * MiB]
    (base / 'text4m.txt').write_bytes(text)
    (base / 'text17m.txt').write_bytes(text * 4 + text[:MiB])
    (base / 'small.bin').write_bytes(os.urandom(5000))
    (base / 'big.bin').write_bytes(os.urandom(2 * MiB))
    return str(base)


def serve(root, **kw):
    args = dict(timeout=10, retries=3, max_windowsize=64, max_transfers=200,
                max_per_client=200)
    args.update(kw)
    srv = tftp.TftpServer(root, '127.0.0.1', 0, **args)
    srv.start()
    return srv


@pytest.fixture
def stopper():
    servers = []
    yield servers.append
    for s in servers:
        s.stop()


def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise AssertionError('no VmRSS')


def fds():
    return len(os.listdir('/proc/self/fd'))


def wait(predicate):
    _wait(predicate, timeout=10.0)


def client(address='127.0.0.1'):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    sock.settimeout(5)
    return sock


def netascii_sha(root, name):
    with open(os.path.join(root, name), 'rb') as f:
        return hashlib.sha256(pkt.to_netascii(f.read())).hexdigest()


def test_100_netascii_requests_keep_rss_flat(root, stopper):
    srv = serve(root)
    stopper(srv)
    before = rss()
    socks = []
    for _ in range(100):
        s = client()
        s.sendto(pkt.build_request(pkt.OP_RRQ, 'text4m.txt', 'netascii',
                                   {'blksize': 1468}), ('127.0.0.1', srv.port))
        data, _ = s.recvfrom(2000)
        assert pkt.opcode_of(data) == pkt.OP_OACK
        socks.append(s)
    assert srv.active_transfers == 100
    held = rss() - before
    # converting each file in memory held 100 x 4.4 MiB
    assert held < 40 * MiB, held
    res = fetch(srv, 'text4m.txt', mode='netascii',
                options={'blksize': 65464, 'windowsize': 2})
    assert res['sha256'] == netascii_sha(root, 'text4m.txt')
    assert rss() - before < 40 * MiB
    for s in socks:
        s.close()


def test_netascii_past_the_old_in_memory_cap(root, stopper):
    """17 MiB of netascii (the in-memory conversion refused > 16 MiB)."""
    srv = serve(root)
    stopper(srv)
    before = rss()
    res = fetch(srv, 'text17m.txt', mode='netascii', timeout=10,
                options={'blksize': 65464, 'windowsize': 2})
    assert res['sha256'] == netascii_sha(root, 'text17m.txt')
    assert rss() - before < 40 * MiB


def _silent_client(srv, options):
    """Send one RRQ, never acknowledge; the packets received."""
    s = client()
    req = pkt.build_request(pkt.OP_RRQ, 'small.bin', 'octet', options)
    s.sendto(req, ('127.0.0.1', srv.port))
    got = [s.recvfrom(70000)[0]]
    wait(lambda: srv.active_transfers == 0)
    s.settimeout(0.2)
    while True:
        try:
            got.append(s.recvfrom(70000)[0])
        except socket.timeout:
            break
    s.close()
    return req, got


@pytest.mark.parametrize('options,opcode', [
    ({}, pkt.OP_DATA), ({'blksize': 1468, 'windowsize': 64}, pkt.OP_OACK)])
def test_spoofed_request_is_worth_little_more_than_itself(root, stopper,
                                                          options, opcode):
    srv = serve(root, timeout=0.2, retries=5)    # initial_retries 1
    stopper(srv)
    req, got = _silent_client(srv, options)
    assert [pkt.opcode_of(d) for d in got] == [opcode, opcode]
    if opcode == pkt.OP_OACK:
        # no window of 64 x 1468 bytes before the client acknowledged
        assert sum(map(len, got)) <= 2 * (len(req) + 4)
    else:
        assert sum(map(len, got)) == 2 * (4 + 512)


def test_negotiated_timeout_is_capped(root, stopper):
    srv = serve(root, timeout=0.2, retries=5, max_timeout=5)
    stopper(srv)
    _, got = _silent_client(srv, {'timeout': 255, 'blksize': 512})
    oack = got[0][2:-1].split(b'\0')
    assert b'timeout' not in oack and b'blksize' in oack


def test_duplicate_and_stale_acks_neither_double_nor_resend(root, stopper):
    srv = serve(root)          # retransmission only after 10 s
    stopper(srv)
    s = client()
    s.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin', 'octet',
                               {'windowsize': 4}), ('127.0.0.1', srv.port))
    oack, peer = s.recvfrom(2000)
    assert pkt.opcode_of(oack) == pkt.OP_OACK
    s.sendto(pkt.build_ack(0), peer)
    blocks = []
    for _ in range(4):
        blocks.append(struct.unpack('!H', s.recvfrom(2000)[0][2:4])[0])
    s.sendto(pkt.build_ack(4), peer)
    for ack in (4, 4, 4, 2, 0, 3):       # duplicates and stale ones
        s.sendto(pkt.build_ack(ack), peer)
    for _ in range(4):
        blocks.append(struct.unpack('!H', s.recvfrom(2000)[0][2:4])[0])
    s.sendto(pkt.build_ack(8), peer)
    while True:
        data = s.recvfrom(2000)[0]
        blocks.append(struct.unpack('!H', data[2:4])[0])
        if len(data) < 516:
            break
    s.sendto(pkt.build_ack(blocks[-1]), peer)
    # every block exactly once, in order: nothing resent, no window twice
    assert blocks == list(range(1, 5000 // 512 + 2))
    wait(lambda: srv.active_transfers == 0)
    s.close()


def test_port_unreachable_ends_the_transfer(root, stopper):
    srv = serve(root, timeout=0.3, retries=100, initial_retries=100)
    stopper(srv)
    s = client()
    s.sendto(pkt.build_request(pkt.OP_RRQ, 'big.bin'),
             ('127.0.0.1', srv.port))
    _, peer = s.recvfrom(2000)
    [transfer] = srv.transfers.values()
    s.sendto(pkt.build_ack(1), peer)
    s.close()                  # the next DATA draws an ICMP unreachable
    wait(lambda: srv.active_transfers == 0)
    # ended by the ICMP error, not by running out of 100 retries
    assert transfer.done and transfer.retries <= 3


def test_busy_per_client_and_overall(root, stopper):
    srv = serve(root, max_transfers=6, max_per_client=2)
    stopper(srv)
    socks, answers = [], []
    for host in range(2, 6):            # 4 hosts x 3 requests
        for _ in range(3):
            s = client('127.0.0.%d' % host)
            s.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin'),
                     ('127.0.0.1', srv.port))
            answers.append(s.recvfrom(2000)[0])
            socks.append(s)
    errors = [pkt.parse_error(a) for a in answers
              if pkt.opcode_of(a) == pkt.OP_ERROR]
    assert srv.active_transfers == 6
    assert errors == [(pkt.ERR_UNDEFINED, 'Server busy')] * 6
    for s in socks:
        s.close()


def test_at_its_limits_with_hostile_clients(root, stopper):
    """Every slot held by clients that never acknowledge, from many hosts.

    Descriptors and memory stay under the figures of doc/limits.md for
    this configuration (64 transfers: 2 descriptors each; no per-transfer
    buffer), refusals are "Server busy", and a legitimate client that
    retries as TFTP clients do is served once the hostile transfers are
    given up (each after 1 + initial_retries timeouts).
    """
    srv = serve(root, timeout=0.3, retries=5, max_transfers=64,
                max_per_client=4)
    stopper(srv)
    base_fds, base_rss = fds(), rss()
    hostile, busy = [], 0
    for host in range(2, 22):           # 20 hosts x 5 requests
        for _ in range(5):
            s = client('127.0.0.%d' % host)
            s.sendto(pkt.build_request(pkt.OP_RRQ, 'big.bin', 'octet',
                                       {'blksize': 65464, 'windowsize': 64,
                                        'timeout': 255}),
                     ('127.0.0.1', srv.port))
            data = s.recvfrom(70000)[0]
            if pkt.opcode_of(data) == pkt.OP_ERROR:
                assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED,
                                                 'Server busy')
                busy += 1
            hostile.append(s)
    assert srv.active_transfers == 64 and busy == 100 - 64
    # the server's descriptors: 2 per transfer (the client sockets of this
    # test are the other 100)
    assert fds() - base_fds <= 2 * 64 + len(hostile)
    assert rss() - base_rss < 16 * MiB
    legit = None
    for _ in range(50):
        res = fetch(srv, 'small.bin', timeout=2)
        if 'error' not in res:
            legit = res
            break
        assert res['error'] == [pkt.ERR_UNDEFINED, 'Server busy']
        time.sleep(0.2)
    assert legit is not None and legit['size'] == 5000
    wait(lambda: srv.active_transfers == 0)
    for s in hostile:
        s.close()
    assert fds() <= base_fds
