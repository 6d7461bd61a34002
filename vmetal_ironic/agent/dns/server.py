"""The agent's boot-name DNS responder on the provisioning side.

It answers the names of ``[dhcp_agent]dns_names`` with the agent's own
provisioning-side address (see :mod:`.zone` for what it answers and
doc/dns.md for why): a UDP socket and a TCP listener per address it
serves on, each bound to that address and to the provisioning interface,
so that nothing listens on the cluster side and every answer leaves from
the address the query was sent to. One thread waits on all of them; it
keeps no state per client beyond the bounded per-source rate limit and
the bounded TCP connections (:mod:`.transport`).

Usage::

    server = DnsServer(zone.Zone(['images.vmetal.test'], '172.22.0.2',
                                 None, 60), ['172.22.0.2'], port=53,
                       interface='prov0')
    server.start()   # returns once every socket is bound
    ...
    server.stop()
"""

from __future__ import annotations

import ipaddress
import os
import re
import selectors
import socket
import threading

from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.agent.dns import advertise
from vmetal_ironic.agent.dns import transport
from vmetal_ironic.agent.dns import wire
from vmetal_ironic.agent.dns import zone as zone_mod
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.ratelimit import Limiter
from vmetal_ironic.agent.ratelimit import RateLimitedLog
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)

# Datagrams read per socket and wake-up (fairness between sockets).
_BATCH = 64
_HOST_LABEL = re.compile(r'[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?')
_UDP, _TCP, _WAKE = 'udp', 'tcp', 'wake'


class DnsServer(component.Component):
    """Answers :class:`~.zone.Zone` queries; an agent component.

    :param zone: what to answer.
    :param addresses: the addresses to listen on; (address, freebind)
        pairs or plain addresses.
    :param port: the UDP and TCP port (0: any free port, the same on
        every address; see :attr:`port`).
    :param interface: the provisioning interface to bind to (None: the
        address binding alone; tests).
    :param rate: queries answered per second and source address.
    :param tcp: serve DNS over TCP too.
    """

    name = 'dns'

    def __init__(self, zone: zone_mod.Zone, addresses: list, port: int = 53,
                 interface: str | None = None, rate: int = 100,
                 tcp: bool = True) -> None:
        self.zone = zone
        self.addresses = [a if isinstance(a, tuple) else (a, False)
                          for a in addresses]
        self.port = port
        self.interface = interface
        self.tcp = tcp
        self.limiter = Limiter(burst=rate, period=1.0)
        self._log = RateLimitedLog(burst=5, period=10.0, logger=lambda: LOG)
        self._socks: list[tuple[str, socket.socket]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake: tuple[int, int] | None = None
        self._sel: selectors.BaseSelector | None = None
        self.connections: transport.TcpConnections | None = None

    def start(self) -> None:
        """Bind every address and serve in a thread; returns once bound.

        :raises OSError: an address cannot be bound.
        """
        kinds = [(_UDP, socket.SOCK_DGRAM)]
        if self.tcp:
            kinds.append((_TCP, socket.SOCK_STREAM))
        try:
            for address, freebind in self.addresses:
                for what, kind in kinds:
                    sock = transport.bound_socket(
                        kind, address, self.port, self.interface, freebind)
                    self._socks.append((what, sock))
                    if self.port == 0:
                        self.port = sock.getsockname()[1]
        except BaseException:
            self._close()
            raise
        self._wake = wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._sel = sel = selectors.DefaultSelector()
        for what, sock in self._socks:
            sel.register(sock, selectors.EVENT_READ, what)
        sel.register(wake[0], selectors.EVENT_READ, _WAKE)
        self.connections = conns = transport.TcpConnections(self.handle, sel)
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, args=(sel, conns, dict(
                (sock.fileno(), sock) for _w, sock in self._socks)),
            name='dns', daemon=True)
        self._thread.start()
        LOG.info('DNS answering %s on %s port %d (%s)',
                 ', '.join(sorted(wire.decode_name(n)
                                  for n in self.zone.names)),
                 ', '.join(a for a, _f in self.addresses), self.port,
                 'UDP and TCP' if self.tcp else 'UDP')

    def stop(self, timeout: float = 5.0) -> None:
        """Close the sockets and end the thread."""
        if self._thread is not None and self._wake is not None:
            self._stopping = True
            try:
                os.write(self._wake[1], b'x')
            except OSError:
                pass
            self._thread.join(timeout)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self.connections is not None:
            self.connections.close_all()
        if self._sel is not None:
            self._sel.close()
            self._sel = None
        for _what, sock in self._socks:
            sock.close()
        self._socks = []
        if self._wake is not None:
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def _run(self, sel: selectors.BaseSelector,
             conns: transport.TcpConnections,
             socks: dict[int, socket.socket]) -> None:
        while not self._stopping:
            try:
                for key, _events in sel.select(conns.expire()):
                    if key.data == _UDP:
                        self._read(socks[key.fd])
                    elif key.data == _TCP:
                        conns.accept(socks[key.fd])
                    elif key.data is None:
                        conns.readable(key.fd)
            except Exception:
                # Never let one bad datagram stop the server.
                LOG.exception('DNS: unexpected error in the server loop; '
                              'going on')

    def _read(self, sock: socket.socket) -> None:
        for _i in range(_BATCH):
            try:
                data, addr = sock.recvfrom(wire.MAX_QUERY + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                LOG.debug('DNS: receive error: %s', e)
                return
            reply = self.handle(data, addr)
            if reply is not None:
                try:
                    sock.sendto(reply, addr)
                except OSError as e:
                    LOG.debug('DNS: cannot answer %s: %s', addr, e)

    def handle(self, data: bytes, addr: tuple) -> bytes | None:
        """The answer to one message from ``addr``, or None; counts it."""
        if addr[1] == 0:
            metrics.dns_dropped(metrics.DNS_DROP_GARBAGE)
            return None
        allowed, suppressed = self.limiter.allow(addr[0])
        if suppressed:
            self._log.warning('DNS: dropped %d queries from %s over '
                              'the rate limit', suppressed, addr[0],
                              key=(addr[0], 'rate'))
        if not allowed:
            metrics.dns_dropped(metrics.DROP_RATE_LIMITED)
            return None
        try:
            reply, qtype, result = self.zone.respond(data)
        except Exception:
            self._log.warning('DNS: could not answer %d bytes from %s',
                              len(data), addr[0], key=(addr[0], 'error'))
            LOG.debug('DNS: error on a query from %s', addr, exc_info=True)
            metrics.dns_dropped(metrics.DNS_DROP_GARBAGE)
            return None
        if reply is None:
            metrics.dns_dropped(metrics.DNS_DROP_GARBAGE)
            return None
        metrics.dns_answered(qtype, result)
        return reply


def check_names(names: list[str]) -> list[str]:
    """``dns_names`` validated: host names of letters, digits, ``-``, ``_``.

    :raises ConfigError: naming the option and the value.
    """
    out = []
    for name in names:
        host = name.strip().rstrip('.')
        if (not host or not all(_HOST_LABEL.fullmatch(lb)
                                for lb in host.split('.'))
                or len(host) > 253):
            raise exception.ConfigError(
                reason=_('[dhcp_agent]dns_names: "%s" is not a host name')
                % name)
        out.append(host.lower())
    return out


def create_components(conf, table):
    """The DNS responder, or none when ``dns_names`` is empty.

    The :class:`~vmetal_ironic.agent.component.ComponentFactory` of entry
    point ``dns``.

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param table: the agent's reservation table (unused).
    :returns: a list of zero or one :class:`DnsServer`.
    :raises ConfigError: an invalid name, or no server_address.
    """
    g = conf.dhcp_agent
    if not g.dns_names:
        LOG.info('DNS responder is off ([dhcp_agent]dns_names is empty)')
        return []
    names = check_names(g.dns_names)
    if not g.server_address:
        raise exception.ConfigError(
            reason=_('[dhcp_agent]dns_names needs server_address'))
    ipv4, ipv6 = advertise.service_addresses(g)
    addresses = [(g.server_address, False)]
    if g.service_address:
        addresses.append((g.service_address, True))
    if ipv6:
        addresses.append((str(ipaddress.IPv6Address(ipv6)), True))
    return [DnsServer(zone_mod.Zone(names, ipv4, ipv6, g.dns_ttl),
                      addresses, port=g.dns_port, interface=g.interface,
                      rate=g.dns_rate_limit, tcp=g.dns_tcp)]
