"""The callback listener: the conductor's calls, forwarded to ramdisks.

It serves ``https://<callback_address>:<callback_port>/ramdisk/<id>/...``
on the cluster side and forwards ``/ramdisk/<id>/<rest>`` to
``<scheme>://<ramdisk ip>:<port>/<rest>`` for a known id whose address is
still a reservation of its node (:mod:`.registry`; 404 / 403 otherwise).
The request and response streaming, timeouts, body cap and connection cap
are the HTTP proxy's (:mod:`vmetal_ironic.agent.http.handler`).

The listening socket is bound to the network device holding the callback
address (``SO_BINDTODEVICE``). Linux accepts a packet for any local
address on any interface (the weak host model): without this, a server
on the provisioning segment that routes the cluster network via the
agent's provisioning address would reach the listener.
"""

from __future__ import annotations

import ctypes
import dataclasses
import ipaddress
import json
import re
import socket
import ssl
import threading

from oslo_log import log

from vmetal_ironic.agent.http import handler as http_handler
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import server as http_proxy
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import sockets

LOG = log.getLogger(__name__)

RAMDISK = 'ramdisk'
_TOKEN_RE = re.compile(r'(agent_token=)[^&]*')


class _SockaddrIn(ctypes.Structure):
    _fields_ = [('family', ctypes.c_ushort), ('port', ctypes.c_uint16),
                ('addr', ctypes.c_ubyte * 4)]


class _SockaddrIn6(ctypes.Structure):
    _fields_ = [('family', ctypes.c_ushort), ('port', ctypes.c_uint16),
                ('flowinfo', ctypes.c_uint32),
                ('addr', ctypes.c_ubyte * 16),
                ('scope_id', ctypes.c_uint32)]


class _Ifaddrs(ctypes.Structure):
    pass


_Ifaddrs._fields_ = [('next', ctypes.POINTER(_Ifaddrs)),
                     ('name', ctypes.c_char_p), ('flags', ctypes.c_uint),
                     ('addr', ctypes.POINTER(_SockaddrIn)),
                     ('netmask', ctypes.c_void_p),
                     ('ifu', ctypes.c_void_p), ('data', ctypes.c_void_p)]


def interface_of(address: str) -> str | None:
    """The name of the local network device holding ``address``, or None.

    :raises OSError: the interface list cannot be read.
    """
    want = ipaddress.ip_address(address)
    libc = ctypes.CDLL(None, use_errno=True)
    head = ctypes.POINTER(_Ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        raise OSError(ctypes.get_errno(), 'getifaddrs')
    try:
        node = head
        while node:
            ifa = node.contents
            node = ifa.next
            if not ifa.addr:
                continue
            family = ifa.addr.contents.family
            if family == socket.AF_INET and want.version == 4:
                raw = bytes(ifa.addr.contents.addr)
            elif family == socket.AF_INET6 and want.version == 6:
                raw = bytes(ctypes.cast(
                    ifa.addr, ctypes.POINTER(_SockaddrIn6)).contents.addr)
            else:
                continue
            if ipaddress.ip_address(raw) == want:
                return ifa.name.decode()
        return None
    finally:
        libc.freeifaddrs(head)


def route_device(address: str) -> str | None:
    """The local device of the route toward ``address``, or None.

    For a shared address (a VIP on a local subnet) that this host does not
    hold yet: the device holding the source address the kernel would use.
    """
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((address, 9))
            return interface_of(s.getsockname()[0])
    except OSError:
        return None


@dataclasses.dataclass(frozen=True)
class RamdiskUpstream(routes.Upstream):
    """A ramdisk as the proxy's handler connects to it (with its context)."""

    context: ssl.SSLContext | None = None


class CallbackHandler(http_handler.Handler):
    """One conductor connection: route by ramdisk id, then proxy."""

    def _route(self):
        registry = self.server.proxy.registry
        if self.command == 'CONNECT':
            return routes.Refusal(405, 'CONNECT is not supported'), None
        if not self.path.startswith('/'):
            return routes.Refusal(400, 'only origin-form request targets '
                                       'are served'), None
        split = hb.split_target(self.path)
        if split is None:
            return routes.Refusal(404, 'not a ramdisk URL'), None
        rid, rest = split
        bad = routes.bad_path(rest.partition('?')[0])
        if bad:
            return routes.Refusal(400, bad), None
        entry = registry.resolve(rid)
        if isinstance(entry, routes.Refusal):
            return entry, None
        t = entry.target
        upstream = RamdiskUpstream(t.scheme, t.ip, t.port, '',
                                   context=entry.context)
        return routes.Route(RAMDISK, rest), upstream

    def _shown_path(self):
        return _TOKEN_RE.sub(r'\1***', self.path)

    def _refusal_body(self, status, reason):
        # In IPA's own error format: Ironic's AgentClient decodes every
        # answer as JSON before it looks at the status, so a text body
        # ("502 cannot connect: ...") failed the step with "Unable to
        # decode response as JSON ... Extra data: line 1 column 5 (char
        # 4)"; this way it reports the status and the reason.
        return 'application/json', json.dumps({
            'faultcode': 'Server' if status >= 500 else 'Client',
            'faultstring': 'vmetal-dhcp-agent callback listener: %s'
                           % reason,
            'debuginfo': None}).encode()

    def _upstream_failed(self, error):
        # The ramdisk could not be reached, or stopped answering: the
        # conductor sees what it would see talking to the ramdisk
        # itself, a failed connection (reset, no answer), not an HTTP
        # error. Ironic's AgentClient turns a connection failure into
        # AgentConnectionFailed, which it retries ([agent]
        # max_command_attempts) and with fast track takes as "the agent
        # is not up yet, wait for its heartbeat"; a 502 would fail the
        # step at once.
        metrics.http_answered(getattr(self.server.proxy, 'name', ''),
                              'refused', error.status)
        sockets.abort(self.connection)

    def _connect(self, upstream):
        # Headers and body leave in separate writes: without TCP_NODELAY
        # the body of a command could wait for the ramdisk's delayed ACK.
        conn = super()._connect(upstream)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn


class _DeviceBoundServer(http_proxy._Server):
    """The proxy's server, bound to its device or not at all."""

    def get_request(self):
        sock, address = super().get_request()
        # Status line and headers, then the body: two writes (see
        # CallbackHandler._connect) on a keep-alive connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    # Set by CallbackListener for a shared address (active-active).
    freebind = False

    def server_bind(self):
        if self._interface:
            sockets.bind_to_device(self.socket, self._interface,
                                   'callback listener', required=True)
        if self.freebind:
            sockets.freebind(self.socket)
        super().server_bind()


class _FreeBindServer(_DeviceBoundServer):
    freebind = True


class CallbackListener:
    """The callback listener; an agent component.

    :param address: the cluster-side address to bind.
    :param port: the TCP port (0: any free port; see :attr:`port`).
    :param registry: the ramdisks the heartbeats registered.
    :param context: the TLS server context.
    """

    name = 'callback-listener'
    handler_class = CallbackHandler
    # The proxy handler's upstreams; the listener routes by registry.
    api = None
    boot = None
    heartbeat = None

    def __init__(self, address: str, port: int, registry,
                 context: ssl.SSLContext, connect_timeout: float = 10.0,
                 read_timeout: float = 300.0,
                 max_body_size: int = 128 * 1024 * 1024,
                 max_connections: int = 100) -> None:
        self.address = address
        self.port = port
        self.registry = registry
        self.context = context
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body_size = max_body_size
        self.max_connections = max_connections
        self.ssl_context = None
        self.interface: str | None = None
        # Active-active: callback_address may be a VIP not held yet.
        self.shared = False
        self._server: _DeviceBoundServer | None = None

    def start(self) -> None:
        """Bind to the device of the address and serve in a thread.

        :raises OSError: the address is not local, or the socket cannot
            be bound to it or to its device.
        """
        self.interface = interface_of(self.address)
        freebind = False
        if self.interface is None and self.shared:
            # A shared address VRRP moves here when this replica becomes
            # master: bind it now (IP_FREEBIND) on the device that routes
            # to it, so the conductor's calls are served from that moment.
            self.interface = route_device(self.address)
            freebind = self.interface is not None
        if self.interface is None:
            raise OSError('callback_address %s is not an address of this '
                          'host' % self.address)
        cls = _FreeBindServer if freebind else _DeviceBoundServer
        server = cls(self, (self.address, self.port), self.interface,
                     self.context)
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever,
                         kwargs={'poll_interval': 0.5},
                         name='callback-listener', daemon=True).start()
        LOG.info('Callback listener on https://%s:%d%s/ (device %s)',
                 self.address, self.port, hb.PREFIX, self.interface)

    def stop(self) -> None:
        """Stop accepting and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
