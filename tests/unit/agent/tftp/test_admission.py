"""Which TFTP requests are served (admission), without sockets.

The request port is a recording fake; only refusals and the duplicate
check are exercised here (a started transfer opens a socket: see the
functional loopback tests).
"""

import os

import pytest

from vmetal_ironic.agent.tftp import admission
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import server as tftp

CLIENT = ('192.0.2.9', 3000)


@pytest.fixture
def srv(tmp_path, fake_socket):
    (tmp_path / 'ok.bin').write_bytes(b'data')
    s = tftp.TftpServer(str(tmp_path), '127.0.0.1', 0, max_transfers=2)
    s._listener = fake_socket
    return s


def admit(srv, data):
    """What the server would start for ``data`` from CLIENT."""
    return admission.admit(srv, data, CLIENT)


def refusal(sock):
    [(data, addr)] = sock.sent
    assert addr == CLIENT
    return pkt.parse_error(data)


def test_write_request_is_refused(srv, fake_socket):
    assert admit(srv, pkt.build_request(pkt.OP_WRQ, 'x')) is None
    assert refusal(fake_socket) == (pkt.ERR_ACCESS,
                                    'Write requests are refused')


@pytest.mark.parametrize('data', [b'\x00\x01no-mode\x00',
                                  b'\x00\x01\x00octet\x00'])
def test_malformed_request_is_refused(srv, fake_socket, data):
    assert admit(srv, data) is None
    assert refusal(fake_socket)[0] == pkt.ERR_ILLEGAL_OP


def test_unknown_mode_is_refused(srv, fake_socket):
    assert admit(srv, b'\x00\x01ok.bin\x00mail\x00') is None
    assert refusal(fake_socket) == (pkt.ERR_ILLEGAL_OP,
                                    'Mode mail not supported')


@pytest.mark.parametrize('name,code', [
    ('nope.bin', pkt.ERR_NOT_FOUND), ('../etc/passwd', pkt.ERR_ACCESS),
    ('/etc/passwd', pkt.ERR_ACCESS)])
def test_files_outside_or_missing_are_refused(srv, fake_socket, name, code):
    assert admit(srv, pkt.build_request(pkt.OP_RRQ, name)) is None
    assert refusal(fake_socket)[0] == code
    assert srv.transfers == {}


def test_busy_server_refuses(srv, fake_socket):
    srv.transfers = {('192.0.2.1', 1): object(), ('192.0.2.2', 1): object()}
    assert admit(srv, pkt.build_request(pkt.OP_RRQ, 'ok.bin')) is None
    assert refusal(fake_socket) == (pkt.ERR_UNDEFINED, 'Server busy')


def test_repeated_request_of_a_running_transfer_is_ignored(srv,
                                                           fake_socket):
    running = object()
    srv.transfers = {CLIENT: running}
    assert admit(srv, pkt.build_request(pkt.OP_RRQ, 'ok.bin')) is None
    assert fake_socket.sent == [] and srv.transfers == {CLIENT: running}


@pytest.mark.parametrize('data', [b'', b'\x00', b'\x00\x04\x00\x01',
                                  b'\x00\x03\x00\x01x', b'\xff' * 600])
def test_other_datagrams_on_the_request_port_are_dropped(srv, fake_socket,
                                                         data):
    assert admit(srv, data) is None
    assert fake_socket.sent == [] and srv.transfers == {}


def test_a_read_request_with_room_is_admitted(srv, fake_socket):
    request, opened, addr, key = admit(
        srv, pkt.build_request(pkt.OP_RRQ, 'ok.bin'))
    try:
        assert (request.filename, addr, key) == ('ok.bin', CLIENT,
                                                 CLIENT[0])
        assert fake_socket.sent == []
    finally:
        os.close(opened.fd)
