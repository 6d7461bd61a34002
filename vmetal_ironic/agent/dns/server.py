"""The agent's boot-name DNS responder on the provisioning side (UDP).

It answers the names of ``[dhcp_agent]dns_names`` with the agent's own
provisioning-side address (see :mod:`.zone` for what it answers and
doc/dns.md for why): one UDP socket per address it serves on, each bound
to that address and to the provisioning interface, so that nothing
listens on the cluster side and every answer leaves from the address the
query was sent to. One thread waits on all of them; it keeps no state per
client beyond the bounded per-source rate limit.

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
from vmetal_ironic.agent.dns import wire
from vmetal_ironic.agent.dns import zone as zone_mod
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.ratelimit import Limiter
from vmetal_ironic.agent.ratelimit import RateLimitedLog
from vmetal_ironic.agent import sockets
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)

IP_FREEBIND = getattr(socket, 'IP_FREEBIND', 15)
IPV6_FREEBIND = 78
# Datagrams read per socket and wake-up (fairness between sockets).
_BATCH = 64
_HOST_LABEL = re.compile(r'^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$')


def udp_socket(address: str, port: int, interface: str | None,
               freebind: bool = False) -> socket.socket:
    """A non-blocking UDP socket bound to ``address`` (and ``interface``).

    :param freebind: bind an address the host does not hold (yet): a VIP
        of active-active replicas, an IPv6 address still in DAD.
    :raises OSError: the socket cannot be bound.
    """
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if interface:
            sockets.bind_to_device(sock, interface, 'DNS')
        if freebind:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((address, port))
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


class DnsServer(component.Component):
    """Answers :class:`~.zone.Zone` queries on UDP; an agent component.

    :param zone: what to answer.
    :param addresses: the addresses to listen on; (address, freebind)
        pairs or plain addresses.
    :param port: the UDP port (0: any free port, the same on every
        address; see :attr:`port`).
    :param interface: the provisioning interface to bind to (None: the
        address binding alone; tests).
    :param rate: queries answered per second and source address.
    """

    name = 'dns'

    def __init__(self, zone: zone_mod.Zone, addresses: list, port: int = 53,
                 interface: str | None = None, rate: int = 100) -> None:
        self.zone = zone
        self.addresses = [a if isinstance(a, tuple) else (a, False)
                          for a in addresses]
        self.port = port
        self.interface = interface
        self.limiter = Limiter(burst=rate, period=1.0)
        self._log = RateLimitedLog(burst=5, period=10.0, logger=lambda: LOG)
        self._socks: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake: tuple[int, int] | None = None

    def start(self) -> None:
        """Bind every address and serve in a thread; returns once bound.

        :raises OSError: an address cannot be bound.
        """
        try:
            for address, freebind in self.addresses:
                sock = udp_socket(address, self.port, self.interface,
                                  freebind)
                self._socks.append(sock)
                if self.port == 0:
                    self.port = sock.getsockname()[1]
        except BaseException:
            self._close()
            raise
        self._wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name='dns',
                                        daemon=True)
        self._thread.start()
        LOG.info('DNS answering %s on %s port %d (UDP)',
                 ', '.join(sorted(n.decode('ascii', 'replace')
                                  for n in self._names())),
                 ', '.join(a for a, _f in self.addresses), self.port)

    def _names(self):
        for n in self.zone.names:
            labels, i = [], 0
            while n[i]:
                labels.append(n[i + 1:i + 1 + n[i]])
                i += 1 + n[i]
            yield b'.'.join(labels)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the sockets and end the thread."""
        if self._thread is None:
            self._close()
            return
        self._stopping = True
        try:
            os.write(self._wake[1], b'x')
        except OSError:
            pass
        self._thread.join(timeout)
        self._thread = None
        self._close()

    def _close(self) -> None:
        for sock in self._socks:
            sock.close()
        self._socks = []
        if self._wake is not None:
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def _run(self) -> None:
        with selectors.DefaultSelector() as sel:
            for sock in self._socks:
                sel.register(sock, selectors.EVENT_READ)
            sel.register(self._wake[0], selectors.EVENT_READ)
            while not self._stopping:
                try:
                    for key, _events in sel.select():
                        if key.fileobj is not self._wake[0]:
                            self._read(key.fileobj)
                except Exception:
                    # Never let one bad datagram stop the server.
                    LOG.exception('DNS: unexpected error in the server '
                                  'loop; going on')

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
        """The answer to one datagram from ``addr``, or None; counts it."""
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
        if (not host or not all(_HOST_LABEL.match(lb)
                                for lb in host.split('.'))
                or len(host) > 253):
            raise exception.ConfigError(
                reason=_('[dhcp_agent]dns_names: "%s" is not a host name')
                % name)
        out.append(host.lower())
    return out


def service_addresses(group) -> tuple[str, str | None]:
    """(IPv4, IPv6 or None): the addresses the names resolve to."""
    return (group.service_address or group.server_address,
            group.server_address6 or None)


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
    ipv4, ipv6 = service_addresses(g)
    addresses = [(g.server_address, False)]
    if g.service_address:
        addresses.append((g.service_address, True))
    if ipv6:
        addresses.append((str(ipaddress.IPv6Address(ipv6)), True))
    return [DnsServer(zone_mod.Zone(names, ipv4, ipv6, g.dns_ttl),
                      addresses, port=g.dns_port, interface=g.interface,
                      rate=g.dns_rate_limit)]
