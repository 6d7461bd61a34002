"""The DHCPv6 server: socket, receive loop, lookup, reply.

One UDP socket on ``[::]:547`` bound to the provisioning interface
(``SO_BINDTODEVICE``) and joined to All_DHCP_Relay_Agents_and_Servers
(``ff02::1:2``) on that interface only: requests arriving on any other
interface are never seen. Replies go back through the same socket, to
the client's link-local address on port 546 (scope: the interface) or,
for a relayed request, to the relay on port 547, wrapped in one
Relay-reply per Relay-forward (RFC 8415 19).

Nothing a client sends raises out of the loop: malformed datagrams are
counted and dropped with a rate-limited line, an unknown client gets
silence, a direct (unrelayed) message must come from a link-local
address, a relayed one from a relay whose link-address is unspecified
or in the reserved prefix.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable

from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.dhcp6 import handlers
from vmetal_ironic.agent.dhcp6 import ident
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.ratelimit import RateLimitedLog
from vmetal_ironic.agent import sockets
from vmetal_ironic.agent.sources.reservations import Table

LOG = log.getLogger(__name__)

ALL_SERVERS = 'ff02::1:2'
SERVER_PORT = 547
CLIENT_PORT = 546
_UNSPECIFIED = bytes(16)


class Transport:
    """The server's UDP socket on one interface (the thin I/O edge)."""

    def __init__(self, interface: str, port: int = SERVER_PORT,
                 rcvbuf: int = 4 * 1024 * 1024) -> None:
        self.interface = interface
        self.ifindex = socket.if_nametoindex(interface)
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sockets.bind_to_device(self.sock, interface, 'DHCPv6')
            sockets.receive_buffer(self.sock, rcvbuf)
            # The wildcard: the clients send to ff02::1:2 (no address to
            # free-bind; the device binding keeps other links out).
            sockets.bind(self.sock, sockets.sockaddr('::', port, interface),
                         'DHCPv6')
            # replies to link-local clients leave through this interface
            sockets.join_group6(self.sock, ALL_SERVERS, self.ifindex)
        except BaseException:
            self.sock.close()
            raise

    def recv(self) -> tuple[bytes, tuple]:
        # one byte more than accepted: a longer datagram is seen as such
        return self.sock.recvfrom(codec.MAX_MESSAGE + 1)

    def send(self, payload: bytes, addr: tuple) -> None:
        self.sock.sendto(payload, addr)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class DHCPv6Server(component.Component):
    """Agent component: serves DHCPv6 from the table's IPv6 hosts.

    :param table: the reservation table (shared with the sources).
    :param responder: builds the replies.
    :param transport_factory: returns a bound :class:`Transport`; called
        by :meth:`start`.
    :param max_payload: largest reply (interface MTU less IPv6 and UDP
        headers).
    """

    name = 'dhcp6'

    def __init__(self, table: Table, responder: handlers.Responder,
                 transport_factory: Callable[[], Transport] | None,
                 max_payload: int = 1500 - 48) -> None:
        self.table = table
        self.responder = responder
        self.transport_factory = transport_factory
        self.max_payload = max(max_payload, 1280 - 48)
        self.transport: Transport | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._bad = RateLimitedLog(burst=10, period=1.0, logger=lambda: LOG)
        self._log = RateLimitedLog(burst=5, period=10.0, logger=lambda: LOG)
        self.stats = {'received': 0, 'replied': 0, 'malformed': 0,
                      'unknown': 0, 'errors': 0}

    def lookup(self, msg: codec.Message, source: bytes):
        """(host, how it was found) of a message, or (None, None)."""
        by_mac = self.table.by_mac6
        for mac, how in ident.candidate_macs(msg, source):
            host = by_mac.get(mac)
            if host is not None:
                return host, how
        cid = msg.client_id
        if cid is not None:
            host = self.table.by_duid6.get(cid)
            if host is not None:
                return host, 'duid-reservation'
        return None, None

    def handle(self, data: bytes, src: tuple) -> tuple[int, bytes] | None:
        """One datagram -> (reply type, payload) or None (no I/O).

        :param src: the sender's socket address (host, port, flow, scope).
        """
        try:
            msg = codec.parse(data)
        except codec.MalformedPacket as e:
            self.stats['malformed'] += 1
            metrics.dhcp6_parse_failed()
            self._bad.info('Malformed DHCPv6 packet from %s (%d bytes): %s',
                           src[0], len(data), e, key=src[0])
            return None
        metrics.dhcp6_received(msg.msg_type)
        source = _packed(src[0])
        if source is None:
            return None
        why = self.responder.screen(msg)
        if why is None and not msg.relays and source[:2] != b'\xfe\x80':
            why = 'not from a link-local address'
        if why is not None:
            metrics.dhcp6_dropped(metrics.DROP_SCREENED)
            self._log.info('%s xid %#x from %s: %s: ignored',
                           codec.msg_name(msg.msg_type), msg.xid_int,
                           src[0], why, key=(src[0], 'screen'))
            return None
        host, how = self.lookup(msg, source)
        if host is None:
            self.stats['unknown'] += 1
            metrics.dhcp6_dropped(metrics.DROP_UNKNOWN_MAC)
            if LOG.isEnabledFor(10):
                LOG.debug('%s xid %#x from %s (DUID %s): no reservation, '
                          'silence', codec.msg_name(msg.msg_type),
                          msg.xid_int, src[0], (msg.client_id or b'').hex())
            return None
        if msg.relays:
            link = msg.relays[-1].link
            if link != _UNSPECIFIED and not host.net.contains(link):
                metrics.dhcp6_dropped(metrics.DROP_RELAY_NOT_ALLOWED)
                self._log.info('%s xid %#x from %s relayed from link %s, '
                               'outside the reserved prefix of %s: ignored',
                               codec.msg_name(msg.msg_type), msg.xid_int,
                               host.label, socket.inet_ntop(
                                   socket.AF_INET6, link), host.address,
                               key=(host.mac, 'relay6'))
                return None
        answer = self.responder.answer(msg, host)
        if answer is None:
            return None
        rtype, body = answer
        payload = codec.build(rtype, msg.xid, body, msg.relays)
        if len(payload) > self.max_payload:
            self._log.warning('%s xid %#x to %s: %d bytes, more than the '
                              'interface carries (%d): dropped',
                              codec.msg_name(rtype), msg.xid_int, host.label,
                              len(payload), self.max_payload,
                              key=(host.mac, 'size6'))
            return None
        if LOG.isEnabledFor(10):
            LOG.debug('%s xid %#x from %s (found by %s): %s %s',
                      codec.msg_name(msg.msg_type), msg.xid_int, host.label,
                      how, codec.msg_name(rtype), host.address)
        return rtype, payload

    def serve_forever(self) -> None:
        """Receive and answer until :meth:`stop`."""
        assert self.transport is not None
        recv, send = self.transport.recv, self.transport.send
        while not self._stopping:
            try:
                data, src = recv()
            except OSError as e:
                if self._stopping:
                    break
                LOG.warning('DHCPv6 receive error: %s', e)
                continue
            if not data:
                continue
            self.stats['received'] += 1
            try:
                out = self.handle(data, src)
                if out is None:
                    continue
                rtype, payload = out
                port = SERVER_PORT if data[0] == codec.RELAY_FORW \
                    else CLIENT_PORT
                try:
                    send(payload, (src[0], port, 0, src[3]))
                except OSError as e:
                    self.stats['errors'] += 1
                    self._log.warning('Cannot send the %s to %s: %s',
                                      codec.msg_name(rtype), src[0], e,
                                      key=(src[0], 'send'))
                    continue
                self.stats['replied'] += 1
                metrics.dhcp6_sent(rtype)
            except Exception:
                self.stats['errors'] += 1
                LOG.exception('Error answering a DHCPv6 packet from %s '
                              '(%d bytes); dropped', src[0], len(data))

    def start(self) -> None:
        """Open the socket (raises OSError) and start the loop thread."""
        self._stopping = False
        if self.transport_factory is None:
            raise OSError('no DHCPv6 transport configured')
        self.transport = self.transport_factory()
        self._thread = threading.Thread(target=self.serve_forever,
                                        name='dhcp6-server', daemon=True)
        self._thread.start()
        LOG.info('DHCPv6 server started with %d IPv6 reservations',
                 len(self.table.by_mac6))

    def stop(self) -> None:
        """Stop the loop and close the socket."""
        self._stopping = True
        if self.transport is not None:
            self.transport.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        LOG.info('DHCPv6 server stopped: %s', self.stats)

    def reload(self) -> None:
        """Nothing to reload: the sources feed the table."""


def _packed(host: str) -> bytes | None:
    try:
        return socket.inet_pton(socket.AF_INET6, host.split('%', 1)[0])
    except (OSError, ValueError):
        return None


def server_duid(interface: str) -> bytes:
    """A DUID-LL (type 3) of the interface's MAC, stable across restarts.

    :raises OSError: the interface has no readable Ethernet address.
    """
    with open('/sys/class/net/%s/address' % interface) as f:
        mac = bytes.fromhex(f.read().strip().replace(':', ''))
    if len(mac) != 6:
        raise OSError('%s has no Ethernet address' % interface)
    return b'\x00\x03\x00\x01' + mac
