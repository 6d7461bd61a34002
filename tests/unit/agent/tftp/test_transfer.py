"""One TFTP read transfer: lock-step, windows, retransmission, rollover."""

import pytest

from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import transfer as tftp_transfer

PEER = ('192.0.2.7', 2000)


def make(server, sock, data, options=None, timeout=1.0, window=64):
    nego = pkt.negotiate(options or {}, len(data), timeout,
                         max_windowsize=window)
    return tftp_transfer.Transfer(server, sock, PEER, 'f.bin',
                                  (None, len(data), data), nego)


def blocks(sent):
    return [pkt.parse_ack(b'\x00\x04' + d[2:4]) for d in sent
            if pkt.opcode_of(d) == pkt.OP_DATA]


def test_lock_step_to_the_end(fake_server, fake_socket):
    data = bytes(range(256)) * 4          # 1024 bytes: 2 full + 1 empty
    t = make(fake_server, fake_socket, data)
    t.start()
    assert fake_socket.sent == [pkt.build_data(1, data[:512])]
    t.on_datagram(pkt.build_ack(1))
    assert fake_socket.sent[-1] == pkt.build_data(2, data[512:])
    t.on_datagram(pkt.build_ack(2))
    assert fake_socket.sent[-1] == pkt.build_data(3, b'')
    assert not t.done
    t.on_datagram(pkt.build_ack(3))
    assert t.done and fake_socket.closed
    assert fake_server.done == [t]


def test_duplicate_ack_is_never_answered(fake_server, fake_socket):
    t = make(fake_server, fake_socket, b'x' * 2000)
    t.start()
    t.on_datagram(pkt.build_ack(1))
    sent = len(fake_socket.sent)
    t.on_datagram(pkt.build_ack(1))       # Sorcerer's Apprentice
    t.on_datagram(pkt.build_ack(0))       # stale
    t.on_datagram(pkt.build_ack(9))       # ahead of what was sent
    assert len(fake_socket.sent) == sent


def test_oack_first_then_window(fake_server, fake_socket):
    data = bytes(100)
    t = make(fake_server, fake_socket, data,
             {'blksize': '8', 'windowsize': '4', 'tsize': '0'})
    t.start()
    assert fake_socket.sent == [pkt.build_oack(
        {'blksize': '8', 'windowsize': '4', 'tsize': '100'})]
    t.on_datagram(pkt.build_ack(3))       # not the OACK's ACK 0: ignored
    assert len(fake_socket.sent) == 1
    t.on_datagram(pkt.build_ack(0))
    assert blocks(fake_socket.sent) == [1, 2, 3, 4]
    t.on_datagram(pkt.build_ack(2))       # a partial window: go on from 3
    assert blocks(fake_socket.sent)[4:] == [3, 4, 5, 6]


def test_timeout_resends_then_gives_up(fake_server, fake_socket):
    t = make(fake_server, fake_socket, b'y' * 600, timeout=1.0)
    t.start()
    first = list(fake_socket.sent)
    t.tick(t.deadline - 0.5)              # not yet due
    assert fake_socket.sent == first
    for n in range(fake_server.retries):
        t.tick(t.deadline + 0.01)
        assert fake_socket.sent[-1] == first[0]
        assert t.retries == n + 1
    assert not t.done
    t.tick(t.deadline + 0.01)
    assert t.done and fake_server.done == [t]
    assert len(fake_socket.sent) == 1 + fake_server.retries


def test_client_error_ends_the_transfer(fake_server, fake_socket):
    t = make(fake_server, fake_socket, b'z' * 600)
    t.start()
    t.on_datagram(pkt.build_error(pkt.ERR_OPTION, 'no'))
    assert t.done and fake_socket.closed and fake_server.done == [t]


@pytest.mark.parametrize('junk', [b'', b'\x00', b'\x00\x04\x00',
                                  b'\x00\x03\x00\x01data', b'\xff\xff'])
def test_malformed_or_foreign_packets_are_ignored(fake_server, fake_socket,
                                                  junk):
    t = make(fake_server, fake_socket, b'z' * 600)
    t.start()
    t.on_datagram(junk)
    assert not t.done and len(fake_socket.sent) == 1


def test_block_numbers_roll_over(fake_server, fake_socket):
    data = bytes(8 * 65537)               # 65538 blocks of 8 bytes
    t = make(fake_server, fake_socket, data, {'blksize': '8'})
    t.start()
    t.on_datagram(pkt.build_ack(0))
    for n in range(1, 65539):
        t.on_datagram(pkt.build_ack(n & 0xFFFF))
    assert t.done and t.acked == 65538
    assert blocks(fake_socket.sent[-4:]) == [65535, 0, 1, 2]
    assert fake_socket.sent[-1] == pkt.build_data(2, b'')
