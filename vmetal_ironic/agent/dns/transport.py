"""Sockets of the DNS responder: UDP, and bounded DNS over TCP.

Every socket is bound to one of the agent's provisioning addresses and to
the provisioning interface. TCP (RFC 1035 4.2.2, RFC 7766) is what a
resolver falls back to and what dig uses for ANY; it costs at most
:data:`MAX_CONNECTIONS` connections at once (:data:`MAX_PER_SOURCE` per
address), each closed after :data:`IDLE` seconds without a complete query,
after :data:`MAX_QUERIES` queries, or at the first message that gets no
answer or is longer than :data:`~.wire.MAX_QUERY`.
"""

from __future__ import annotations

import selectors
import socket
import struct
import time
from typing import Callable

from vmetal_ironic.agent.dns import wire
from vmetal_ironic.agent import sockets


MAX_CONNECTIONS = 64
MAX_PER_SOURCE = 4
IDLE = 5.0
MAX_QUERIES = 32
_LEN = struct.Struct('!H')


def bound_socket(kind: int, address: str, port: int,
                 interface: str | None,
                 freebind: bool = False) -> socket.socket:
    """A non-blocking socket of ``kind`` bound to ``address``.

    :param kind: ``socket.SOCK_DGRAM`` or ``socket.SOCK_STREAM`` (then
        listening).
    :param interface: the device to bind to as well (None: none).
    :param freebind: bind an address the host does not hold (yet): a VIP
        of active-active replicas, an IPv6 address still in DAD.
    :raises OSError: the socket cannot be bound.
    """
    sock = socket.socket(sockets.family_of(address), kind)
    try:
        if interface:
            sockets.bind_to_device(sock, interface, 'DNS')
        if freebind:
            sockets.freebind(sock)
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(16)
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


class _Conn:
    __slots__ = ('sock', 'peer', 'buf', 'deadline', 'queries')

    def __init__(self, sock: socket.socket, peer: tuple,
                 deadline: float) -> None:
        self.sock = sock
        self.peer = peer
        self.buf = b''
        self.deadline = deadline
        self.queries = 0


class TcpConnections:
    """The DNS-over-TCP connections in progress (one thread uses it).

    :param handle: ``handle(message, peer)`` -> response or None.
    :param selector: where connections are registered (data ``None``)
        while open.
    :param clock: monotonic time source (tests pass their own).
    """

    def __init__(self, handle: Callable[[bytes, tuple], bytes | None],
                 selector: selectors.BaseSelector,
                 clock: Callable[[], float] = time.monotonic,
                 max_connections: int = MAX_CONNECTIONS,
                 max_per_source: int = MAX_PER_SOURCE,
                 idle: float = IDLE) -> None:
        self.handle = handle
        self.selector = selector
        self.clock = clock
        self.max_connections = max_connections
        self.max_per_source = max_per_source
        self.idle = idle
        self.conns: dict[int, _Conn] = {}
        self._per_source: dict[str, int] = {}
        self.refused = 0

    def __len__(self) -> int:
        return len(self.conns)

    def accept(self, listener: socket.socket) -> int:
        """Accept what waits on ``listener``; returns how many were."""
        new = 0
        for _i in range(16):
            try:
                sock, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break       # out of descriptors, a reset: try again later
            ip = peer[0]
            if (len(self.conns) >= self.max_connections
                    or self._per_source.get(ip, 0) >= self.max_per_source):
                self.refused += 1
                sock.close()
                continue
            sock.setblocking(False)
            self.conns[sock.fileno()] = _Conn(sock, peer,
                                              self.clock() + self.idle)
            self._per_source[ip] = self._per_source.get(ip, 0) + 1
            self.selector.register(sock, selectors.EVENT_READ, None)
            new += 1
        return new

    def readable(self, fd: int) -> None:
        """Read from connection ``fd``; answer its complete queries."""
        conn = self.conns.get(fd)
        if conn is None:
            return
        try:
            data = conn.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            self.close(fd)
            return
        conn.buf += data
        while len(conn.buf) >= 2:
            (n,) = _LEN.unpack_from(conn.buf)
            if n > wire.MAX_QUERY:
                self.close(fd)
                return
            if len(conn.buf) < 2 + n:
                if len(conn.buf) > 2 + wire.MAX_QUERY:
                    self.close(fd)
                return
            msg, conn.buf = conn.buf[2:2 + n], conn.buf[2 + n:]
            conn.queries += 1
            reply = self.handle(msg, conn.peer)
            if reply is None or not self._send(conn, reply) \
                    or conn.queries >= MAX_QUERIES:
                self.close(fd)
                return
            conn.deadline = self.clock() + self.idle

    def _send(self, conn: _Conn, reply: bytes) -> bool:
        data = _LEN.pack(len(reply)) + reply
        try:
            return conn.sock.send(data) == len(data)
        except OSError:
            return False

    def expire(self) -> float | None:
        """Close the idle connections; seconds until the next deadline."""
        now = self.clock()
        for fd, conn in list(self.conns.items()):
            if conn.deadline <= now:
                self.close(fd)
        if not self.conns:
            return None
        return max(0.0, min(c.deadline for c in self.conns.values()) - now)

    def close(self, fd: int) -> None:
        """Close connection ``fd`` (unknown ones are ignored)."""
        conn = self.conns.pop(fd, None)
        if conn is None:
            return
        ip = conn.peer[0]
        left = self._per_source.get(ip, 1) - 1
        if left > 0:
            self._per_source[ip] = left
        else:
            self._per_source.pop(ip, None)
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        try:
            conn.sock.close()
        except OSError:
            pass

    def close_all(self) -> None:
        """Close every connection."""
        for fd in list(self.conns):
            self.close(fd)
