"""Socket addresses of the agent's servers: families and scope ids."""

import errno
import socket
from unittest import mock

import pytest

from vmetal_ironic.agent import sockets


def test_ipv4_address_is_a_pair():
    assert sockets.sockaddr('172.22.0.2', 69, 'lo') == ('172.22.0.2', 69)
    assert sockets.family_of('172.22.0.2') == socket.AF_INET


def test_ipv6_address_is_a_four_tuple_scoped_only_when_link_local():
    assert sockets.sockaddr('fd00:6::2', 8080, 'lo') == ('fd00:6::2', 8080,
                                                         0, 0)
    assert sockets.sockaddr('fe80::2', 69, 'lo') == (
        'fe80::2', 69, 0, socket.if_nametoindex('lo'))
    assert sockets.family_of('fe80::2') == socket.AF_INET6


def test_link_local_on_a_missing_interface_is_an_error():
    with pytest.raises(OSError):
        sockets.sockaddr('fe80::2', 69, 'no-such-if0')


class _Sock:
    def __init__(self, failures, code=errno.EADDRNOTAVAIL):
        self.failures, self.code, self.calls = failures, code, 0

    def bind(self, address):
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError(self.code, 'not yet')


def test_a_tentative_ipv6_address_is_waited_for():
    sock = _Sock(3)
    with mock.patch.object(sockets.time, 'sleep', autospec=True):
        sockets.bind(sock, ('fd00:6::2', 69, 0, 0), 'TFTP')
    assert sock.calls == 4


@pytest.mark.parametrize('address,code', [
    (('172.22.0.2', 69), errno.EADDRNOTAVAIL),      # IPv4: no DAD
    (('fd00:6::2', 69, 0, 0), errno.EADDRINUSE),    # another error
])
def test_other_failures_are_raised_at_once(address, code):
    sock = _Sock(1, code)
    with pytest.raises(OSError):
        sockets.bind(sock, address, 'TFTP')
    assert sock.calls == 1


def test_the_wait_is_bounded():
    sock = _Sock(10 ** 6)
    with pytest.raises(OSError):
        sockets.bind(sock, ('fd00:6::2', 69, 0, 0), 'TFTP', wait=0.3)
    assert 1 < sock.calls < 10


def test_receive_buffer_is_asked_for_and_a_refusal_kept_quiet():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        before = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        sockets.receive_buffer(sock, before * 2)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= before
    sock.close()
    sockets.receive_buffer(sock, 1 << 20)    # a closed socket: no error


def test_join_group6_joins_on_the_interface_and_sends_there():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        ifindex = socket.if_nametoindex('lo')
        sockets.join_group6(sock, 'ff02::1:2', ifindex)
        assert sock.getsockopt(socket.IPPROTO_IPV6,
                               socket.IPV6_MULTICAST_IF) == ifindex
