"""Hostile-input limits of the TFTP server: negotiation caps, sparing
retransmission before the first ACK, lifetime, per-client cap, "busy"
when out of descriptors, streamed netascii, rate-limited refusals."""

import errno
import os
import random
from unittest import mock

import pytest

from vmetal_ironic.agent.tftp import files as tftp_files
from vmetal_ironic.agent.tftp import netascii
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import server as tftp
from vmetal_ironic.agent.tftp import transfer as tftp_transfer

PEER = ('192.0.2.7', 2000)


def make(server, sock, data, options=None, timeout=1.0):
    nego = pkt.negotiate(options or {}, len(data), timeout)
    return tftp_transfer.Transfer(server, sock, PEER, 'f.bin',
                                  (None, len(data), data), nego)


def test_negotiated_timeout_above_the_cap_is_not_acknowledged():
    nego = pkt.negotiate({'timeout': '255'}, 10, 1.0, max_timeout=5)
    assert nego.timeout == 1.0 and 'timeout' not in nego.oack
    nego = pkt.negotiate({'timeout': '5'}, 10, 1.0, max_timeout=5)
    assert nego.timeout == 5.0 and nego.oack == {'timeout': '5'}


@pytest.mark.parametrize('value', [' 512', '+512', '5_12', '0x200', '',
                                   '\u0665', '9' * 5000])
def test_option_values_are_plain_digits(value):
    assert pkt.negotiate({'blksize': value}, 10, 1.0).oack == {}


@pytest.mark.parametrize('options,first', [
    ({}, pkt.OP_DATA), ({'blksize': '1024'}, pkt.OP_OACK)])
def test_unacknowledged_start_is_retransmitted_sparingly(
        fake_server, fake_socket, options, first):
    fake_server.retries, fake_server.initial_retries = 5, 1
    t = make(fake_server, fake_socket, b'x' * 100000, options)
    t.start()
    for k in range(1, 10):
        t.tick(t.deadline + 0.001)
    assert t.done and fake_server.done == [t]
    assert [pkt.opcode_of(d) for d in fake_socket.sent] == [first, first]
    assert fake_server.refusals[0][1] == 'no-ack'


def test_after_the_first_ack_the_full_retries_apply(fake_server,
                                                    fake_socket):
    fake_server.retries, fake_server.initial_retries = 4, 0
    t = make(fake_server, fake_socket, b'x' * 100000)
    t.start()
    t.on_datagram(pkt.build_ack(1))
    sent = len(fake_socket.sent)
    while not t.done:
        t.tick(t.deadline + 0.001)
    assert len(fake_socket.sent) - sent == 4


def test_transfer_lifetime(fake_server, fake_socket):
    fake_server.max_transfer_time = 30
    t = make(fake_server, fake_socket, b'x' * 100000)
    t.start()
    t.on_datagram(pkt.build_ack(1))
    t.tick(t.begin + 29)
    assert not t.done
    t.on_datagram(pkt.build_ack(2))    # still progressing
    t.tick(t.begin + 31)
    assert t.done and fake_server.refusals[-1][1] == 'lifetime'


class Failing:
    """A netascii-like source whose second block cannot be read."""

    size = 5000

    def block(self, n):
        if n >= 2:
            raise OSError(errno.EIO, 'Input/output error')
        return b'a' * 512

    def release(self, acked):
        pass


def test_read_error_mid_transfer_ends_it_with_an_error(fake_server,
                                                       fake_socket):
    nego = pkt.negotiate({}, None, 1.0)
    t = tftp_transfer.Transfer(fake_server, fake_socket, PEER, 'f.bin',
                               (None, Failing.size, Failing()), nego)
    t.start()
    t.on_datagram(pkt.build_ack(1))
    assert t.done
    assert pkt.parse_error(fake_socket.sent[-1]) == (pkt.ERR_UNDEFINED,
                                                     'Read error')


def test_netascii_blocks_match_the_whole_conversion(tmp_path):
    rnd = random.Random(3)
    for trial in range(200):
        raw = bytes(rnd.choice(b'ab\r\n') for _ in range(rnd.randint(0,
                                                                     3000)))
        path = tmp_path / ('f%d' % trial)
        path.write_bytes(raw)
        fd = os.open(path, os.O_RDONLY)
        try:
            bs = rnd.choice([8, 9, 13, 512])
            blocks = netascii.NetasciiBlocks(fd, len(raw), bs)
            whole = pkt.to_netascii(raw)
            assert blocks.size == len(whole)
            out = []
            for n in range(1, len(whole) // bs + 2):
                got = blocks.block(n)
                assert blocks.block(n) == got     # a retransmission
                out.append(got)
                blocks.release(n - 1)
                assert len(blocks) <= 2
            assert b''.join(out) == whole
        finally:
            os.close(fd)


@pytest.fixture
def srv(tmp_path, fake_socket):
    (tmp_path / 'ok.bin').write_bytes(b'data')
    s = tftp.TftpServer(str(tmp_path), '127.0.0.1', 0, max_transfers=10,
                        max_per_client=2)
    s._listener = fake_socket
    return s


CLIENT = ('192.0.2.9', 3000)


def test_per_client_cap_answers_busy(srv, fake_socket):
    srv._per_ip = {CLIENT[0]: 2}
    srv._on_request(pkt.build_request(pkt.OP_RRQ, 'ok.bin'), CLIENT)
    [(data, addr)] = fake_socket.sent
    assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED, 'Server busy')


@pytest.mark.parametrize('err', [errno.EMFILE, errno.ENFILE])
def test_out_of_descriptors_is_busy_not_access_violation(srv, fake_socket,
                                                         err):
    with mock.patch.object(tftp_files.os, 'open', autospec=True,
                           side_effect=OSError(err, os.strerror(err))):
        srv._on_request(pkt.build_request(pkt.OP_RRQ, 'ok.bin'), CLIENT)
    [(data, addr)] = fake_socket.sent
    assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED, 'Server busy')


def test_no_socket_for_a_transfer_is_busy(srv, fake_socket):
    with mock.patch.object(tftp_transfer, 'udp_socket', autospec=True,
                           side_effect=OSError(errno.EMFILE, 'Too many')):
        srv._on_request(pkt.build_request(pkt.OP_RRQ, 'ok.bin'), CLIENT)
    [(data, addr)] = fake_socket.sent
    assert pkt.parse_error(data) == (pkt.ERR_UNDEFINED, 'Server busy')
    assert srv.transfers == {} and srv._per_ip == {}


def test_refused_requests_write_few_lines(srv, fake_socket):
    with mock.patch.object(tftp, 'LOG', autospec=True) as log:
        for k in range(2000):
            srv._on_request(b'\x00\x01../x\x00octet\x00',
                            ('192.0.2.%d' % (k % 3), 4000 + k))
    # 5 lines per source and reason in a window, 3 sources
    assert 3 <= log.warning.call_count <= 15
    assert srv.suppressed_logs >= 1985
    assert len(fake_socket.sent) == 2000


class FullBuffer:
    """A connected socket whose send buffer fills after ``room`` sends."""

    def __init__(self, room):
        self.room = room
        self.sent = []
        self.closed = False

    def send(self, data):
        if len(self.sent) >= self.room:
            raise BlockingIOError(11, 'Resource temporarily unavailable')
        self.sent.append(bytes(data))

    def fileno(self):
        return 7

    def close(self):
        self.closed = True


def test_a_full_send_buffer_ends_the_window_early(fake_server):
    sock = FullBuffer(room=3)
    data = bytes(512 * 20)
    t = make(fake_server, sock, data, {'windowsize': '16'})
    t.start()                       # OACK
    t.on_datagram(pkt.build_ack(0))
    # blocks 1 and 2 went out; block 3 met a full buffer: the rest of the
    # window is not read and built for nothing
    assert len(sock.sent) == 3 and t.sent == 2
    t.on_datagram(pkt.build_ack(5))     # beyond what was sent: ignored
    assert t.acked == 0
    sock.room = 100
    t.on_datagram(pkt.build_ack(2))
    assert t.sent == 2 + 16


def test_netascii_window_is_bounded(tmp_path, fake_socket):
    (tmp_path / 't.txt').write_bytes(b'a\n' * 1000)
    s = tftp.TftpServer(str(tmp_path), '127.0.0.1', 0, max_windowsize=4096)
    s._listener = fake_socket
    captured = {}

    def fake_udp(*args, **kwargs):
        sock = FullBuffer(room=1000)
        captured['sock'] = sock
        return sock

    class Epoll:
        def register(self, fd, events):
            pass

    s._epoll = Epoll()
    with mock.patch.object(tftp_transfer, 'udp_socket', autospec=True,
                           side_effect=fake_udp):
        s._on_request(pkt.build_request(pkt.OP_RRQ, 't.txt', 'netascii',
                                        {'windowsize': '4096'}), CLIENT)
    assert captured['sock'].sent[0] == pkt.build_oack({'windowsize': '64'})
