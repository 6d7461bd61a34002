"""The TFTP server's protocol mechanics on the loopback interface.

No root needed: the server runs in-process on a free port of 127.0.0.1
and of ::1 (one server, both families, as the agent serves
server_address and server_address6) and the raw probe (tftp_probe.fetch)
is the client. Every test runs once per family.
"""

import hashlib
import os
import socket
import struct
import time

import pytest

from tests.fixtures import tftp_probe
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import server as tftp


@pytest.fixture
def root(tmp_path):
    base = tmp_path / 'root'
    base.mkdir()
    (base / 'small.bin').write_bytes(os.urandom(5000))
    (base / 'exact.bin').write_bytes(os.urandom(1024))   # 2 x 512
    (base / 'text.txt').write_bytes(b'line one\nline two\r\n')
    # 65541 blocks of 8 bytes: block numbers roll over past 65535.
    (base / 'many.bin').write_bytes(os.urandom(8 * 65540 + 3))
    return str(base)


@pytest.fixture(params=['127.0.0.1', '::1'], ids=['ipv4', 'ipv6'])
def host(request):
    """The address the test's client talks to."""
    return request.param


def _udp(host):
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_DGRAM)


def _serve(root, timeout, host):
    srv = tftp.TftpServer(root, '127.0.0.1', 0, timeout=timeout, retries=3,
                          max_windowsize=64, max_transfers=4,
                          address6='::1')
    srv.start()
    srv.host = host
    return srv


@pytest.fixture
def server(root, host):
    srv = _serve(root, 0.2, host)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def patient_server(root, host):
    """A server that retransmits only after 10 s.

    Within a test's waits a transfer ends only by the behaviour under
    test, never by giving up.
    """
    srv = _serve(root, 10, host)
    try:
        yield srv
    finally:
        srv.stop()


def _rrq(server, name='small.bin', options=None):
    """A client socket that sent a read request.

    :returns: (socket, first packet, the transfer's address).
    """
    sock = _udp(server.host)
    sock.settimeout(2)
    sock.sendto(pkt.build_request(pkt.OP_RRQ, name, 'octet', options or {}),
                (server.host, server.port))
    data, peer = sock.recvfrom(70000)
    return sock, data, peer


def fetch(server, name, **kw):
    # test_tftp_limits.py's servers are IPv4 only (no ``host``)
    doc = {'server': getattr(server, 'host', '127.0.0.1'),
           'port': server.port, 'name': name}
    doc.update(kw)
    return tftp_probe.fetch(doc)


def sha(root, name):
    with open(os.path.join(root, name), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_plain_rfc1350(server, root):
    res = fetch(server, 'small.bin')
    assert res['oack'] == {}
    assert res['sha256'] == sha(root, 'small.bin')
    assert res['blocks'] == 5000 // 512 + 1


def test_exact_multiple_ends_with_empty_block(server, root):
    res = fetch(server, 'exact.bin')
    assert res['blocks'] == 3 and res['size'] == 1024


def test_block_number_rollover(server, root):
    res = fetch(server, 'many.bin', options={'blksize': 8,
                                             'windowsize': 64})
    assert res['blocks'] == 65541
    assert res['sha256'] == sha(root, 'many.bin')


def test_window_with_loss_is_resent(server, root):
    res = fetch(server, 'small.bin', options={'blksize': 512,
                                              'windowsize': 4},
                drop_acks=1)
    assert res['sha256'] == sha(root, 'small.bin')
    assert res['oack']['windowsize'] == '4'


def test_netascii(server):
    res = fetch(server, 'text.txt', mode='netascii', keep_body=True,
                options={'tsize': 0})
    assert res['body'] == b'line one\r\nline two\r\0\r\n'
    assert res['oack'] == {}   # no tsize for netascii


def test_option_refusal_by_client_ends_transfer(patient_server):
    server = patient_server
    sock, data, peer = _rrq(server, options={'tsize': 0})
    assert pkt.opcode_of(data) == pkt.OP_OACK
    [transfer] = server.transfers.values()
    sock.sendto(pkt.build_error(pkt.ERR_OPTION, 'size only'), peer)
    _wait(lambda: server.active_transfers == 0)
    # ended by the client's ERROR (no retransmission is due for 10 s):
    # its socket is closed and nothing more was sent
    assert transfer.done and transfer.sock.fileno() == -1
    assert transfer.retries == 0
    sock.settimeout(0.3)
    with pytest.raises(socket.timeout):
        sock.recvfrom(1000)
    sock.close()


def test_silent_client_is_given_up(server):
    sock = _udp(server.host)
    sock.settimeout(2)
    sock.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin'),
                (server.host, server.port))
    first, peer = sock.recvfrom(1000)
    again, _ = sock.recvfrom(1000)
    assert first == again   # the same block, sent again on timeout
    assert server.active_transfers == 1
    _wait(lambda: server.active_transfers == 0, timeout=3)
    sock.close()


def test_duplicate_request_starts_nothing_new(patient_server, root):
    """A retransmitted request of a running transfer starts nothing new."""
    server = patient_server
    sock, first, peer = _rrq(server)
    assert first == pkt.build_data(1, open(os.path.join(root, 'small.bin'),
                                           'rb').read(512))
    [transfer] = server.transfers.values()
    sock.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin'),
                (server.host, server.port))
    # the duplicate is read before the ACK below (same client, in order)
    sock.sendto(pkt.build_ack(1), peer)
    packets = [(first, peer)]
    while len(packets[-1][0]) == 4 + 512:
        data, src = sock.recvfrom(1000)
        packets.append((data, src))
        sock.sendto(pkt.build_ack(len(packets)), peer)
    sock.settimeout(0.3)
    with pytest.raises(socket.timeout):
        sock.recvfrom(1000)         # no DATA of a second transfer
    # every DATA came from the one transfer, each block exactly once
    assert {src for _, src in packets} == {peer}
    assert [struct.unpack('!HH', d[:4]) for d, _ in packets] == [
        (pkt.OP_DATA, n) for n in range(1, 5000 // 512 + 2)]
    _wait(lambda: server.active_transfers == 0)
    assert transfer.done and transfer.retries == 0
    sock.close()


def test_busy(server):
    socks = []
    for _ in range(4):
        s, _, _ = _rrq(server)
        socks.append(s)
    assert server.active_transfers == 4
    extra = _udp(server.host)
    extra.settimeout(2)
    extra.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin'),
                 (server.host, server.port))
    data, _ = extra.recvfrom(1000)
    assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED, 'Server busy')
    for s in socks + [extra]:
        s.close()


@pytest.mark.parametrize('data,code', [
    (b'\x00\x01no-mode\x00', pkt.ERR_ILLEGAL_OP),
    (b'\x00\x01x\x00mail\x00', pkt.ERR_ILLEGAL_OP),
    (pkt.build_request(pkt.OP_WRQ, 'x'), pkt.ERR_ACCESS),
])
def test_bad_requests_get_errors(server, data, code):
    sock = _udp(server.host)
    sock.settimeout(2)
    sock.sendto(data, (server.host, server.port))
    reply, _ = sock.recvfrom(1000)
    assert pkt.parse_error(reply)[0] == code
    sock.close()


def test_garbage_is_dropped_and_server_lives(server, root):
    sock = _udp(server.host)
    for junk in (b'', b'\x00', b'\x00\x04\x00\x01', b'\xff' * 600,
                 struct.pack('!H', 3) + b'data'):
        sock.sendto(junk, (server.host, server.port))
    sock.close()
    assert fetch(server, 'small.bin')['sha256'] == sha(root, 'small.bin')


def test_stop_aborts_transfers(root, host):
    srv = tftp.TftpServer(root, '127.0.0.1', 0, timeout=5, address6='::1')
    srv.start()
    sock = _udp(host)
    sock.settimeout(2)
    sock.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin'),
                (host, srv.port))
    sock.recvfrom(1000)
    srv.stop()
    assert srv.active_transfers == 0
    sock.close()


def _wait(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError('condition not met in %.1f s' % timeout)


def test_error_in_one_transfer_spares_the_server(patient_server, root,
                                                 caplog):
    """An unexpected exception ends only the transfer it happened in."""
    server = patient_server
    from unittest import mock

    from vmetal_ironic.agent.tftp import transfer as tftp_transfer

    real = tftp_transfer.Transfer._on_ack
    calls = []

    def broken(self, block):
        calls.append(block)
        if len(calls) == 1:
            raise RuntimeError('boom')
        return real(self, block)

    with mock.patch.object(tftp_transfer.Transfer, '_on_ack', autospec=True,
                           side_effect=broken):
        sock = _udp(server.host)
        sock.settimeout(2)
        sock.sendto(pkt.build_request(pkt.OP_RRQ, 'small.bin'),
                    (server.host, server.port))
        _, peer = sock.recvfrom(1000)
        [transfer] = server.transfers.values()
        sock.sendto(pkt.build_ack(1), peer)
        _wait(lambda: server.active_transfers == 0)
        sock.close()
        # ended by the error (no retransmission is due for 10 s)
        assert transfer.done and transfer.retries == 0
        assert calls == [1]
        assert 'unexpected error; transfer aborted' in caplog.text
        assert fetch(server, 'small.bin')['sha256'] == sha(root,
                                                           'small.bin')


def test_an_ipv6_address_not_on_the_host_stops_the_start(root, monkeypatch):
    from vmetal_ironic.agent import sockets
    monkeypatch.setattr(sockets, 'TENTATIVE_WAIT', 0.3)
    srv = tftp.TftpServer(root, '127.0.0.1', 0, address6='fd00:dead::1')
    with pytest.raises(OSError):
        srv.start()
    # the IPv4 listener was closed again
    assert srv._listener.fileno() == -1
