"""Socket set-up shared by the agent's servers.

DHCPv4, DHCPv6, DNS, TFTP, the HTTP proxy and the callback listener.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import time

from oslo_log import log

LOG = log.getLogger(__name__)

SO_BINDTODEVICE = getattr(socket, 'SO_BINDTODEVICE', 25)


def bind_to_device(sock: socket.socket, interface: str, what: str,
                   required: bool = True) -> None:
    """Receive and send on ``sock`` only through ``interface``.

    :param sock: a socket not yet bound.
    :param interface: the network device name.
    :param what: the server's name, for the log.
    :param required: raise when the agent lacks CAP_NET_RAW; otherwise
        log it and rely on the address binding alone.
    :raises OSError: the option cannot be set (and ``required``).
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE,
                        interface.encode() + b'\0')
    except PermissionError:
        if required:
            raise
        LOG.debug('%s: no permission to bind to device %s; the address '
                  'binding alone restricts it', what, interface)


def receive_buffer(sock: socket.socket, size: int) -> None:
    """Ask for a receive buffer of ``size`` bytes, if the kernel lets us.

    The kernel caps it at ``net.core.rmem_max`` (without CAP_NET_ADMIN);
    a refusal leaves the default, which only means fewer queued datagrams
    in a burst.
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    except OSError:
        pass


def join_group6(sock: socket.socket, group: str, ifindex: int) -> None:
    """Receive IPv6 multicast ``group`` on interface ``ifindex``.

    Multicast (and link-local) sends leave through that interface too.
    """
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack(
        '@I', ifindex)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)


#: Linux's IP_FREEBIND and IPV6_FREEBIND (not in every Python's socket).
IP_FREEBIND = getattr(socket, 'IP_FREEBIND', 15)
IPV6_FREEBIND = 78


def freebind(sock: socket.socket) -> None:
    """Let ``sock`` bind an address the host does not hold (yet).

    A VIP that keepalived moves here later, an IPv6 address still in
    duplicate address detection.
    """
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)


def abort(sock: socket.socket) -> None:
    """Make the close of ``sock`` reset its connection (zero linger).

    The peer sees the connection fail, as from a host that went away,
    not an answer. ``sock`` stays open for its owner to close; errors are
    ignored (the peer may be gone already).
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack('ii', 1, 0))
    except OSError:
        pass


def family_of(address: str) -> socket.AddressFamily:
    """AF_INET6 for an IPv6 address literal, AF_INET otherwise."""
    return socket.AF_INET6 if ':' in address else socket.AF_INET


def sockaddr(address: str, port: int, interface: str | None = None) -> tuple:
    """The socket address to bind (or connect) ``address``:``port``.

    IPv6 gives ``(address, port, 0, scope id)``: a link-local address
    (``fe80::/10``) is scoped to ``interface`` (its index), as a
    link-local address means nothing without its link.

    :raises OSError: a link-local address and no such interface.
    """
    if ':' not in address:
        return (address, port)
    scope = 0
    if interface and ipaddress.ip_address(address).is_link_local:
        scope = socket.if_nametoindex(interface)
    return (address, port, 0, scope)


#: Seconds to wait for an IPv6 address to leave the tentative state
#: (duplicate address detection: one probe of 1 s by default).
TENTATIVE_WAIT = 5.0


def bind(sock: socket.socket, address: tuple, what: str,
         wait: float = TENTATIVE_WAIT) -> None:
    """``sock.bind(address)``; an IPv6 address still in DAD is waited for.

    A freshly configured IPv6 address is tentative until duplicate address
    detection ends, and bind(2) gives EADDRNOTAVAIL meanwhile: at an
    agent's start right after its pod's interface came up, that is the
    normal case, not a configuration error.

    :raises OSError: the address is still not bindable after ``wait``.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            sock.bind(address)
            return
        except OSError as e:
            if (e.errno != errno.EADDRNOTAVAIL or len(address) != 4
                    or time.monotonic() >= deadline):
                raise
            LOG.debug('%s: [%s]:%d not bindable yet (tentative?); waiting',
                      what, address[0], address[1])
            time.sleep(0.1)
