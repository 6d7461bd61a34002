"""The DHCP server loop: receive, look up, run the chain, send.

It is the only place that sends. Nothing a client sends can raise out of
the loop: malformed packets are logged (rate limited) and dropped, unknown
clients get silence, and any unexpected error is logged with the packet's
xid and MAC and the loop goes on (STYLE habit 3).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import handlers
from vmetal_ironic.agent.dhcp.reply import Reply
from vmetal_ironic.agent.dhcp import transport as transport_mod
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import ratelimit
from vmetal_ironic.agent.sources.reservations import Table

LOG = log.getLogger(__name__)


class RateLimitedLog(ratelimit.RateLimitedLog):
    """A :class:`~.ratelimit.RateLimitedLog` writing to this module's log.

    At most ``burst`` messages per ``period`` seconds, per key.
    """

    def __init__(self, burst: int = 10, period: float = 1.0) -> None:
        super().__init__(burst, period, logger=lambda: LOG)


class DHCPServer(component.Component):
    """Agent component: serves DHCP on one interface from a :class:`Table`.

    :param table: the reservation table (shared with the sources).
    :param chain: the handler chain.
    :param transport_factory: returns a bound
        :class:`~vmetal_ironic.agent.dhcp.transport.Transport`; called by
        :meth:`start`, so socket errors (privileges, unknown interface)
        surface at start-up.
    """

    name = 'dhcp'

    def __init__(self, table: Table, chain: handlers.Chain,
                 transport_factory: Callable[[], transport_mod.Transport]
                 ) -> None:
        self.table = table
        self.chain = chain
        self.transport_factory = transport_factory
        self.transport: transport_mod.Transport | None = None
        # Leases for unknown MACs (agent/discovery.py); None: silence.
        self.discovery: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._bad = RateLimitedLog()
        self._log = RateLimitedLog(burst=5, period=10.0)
        self.stats = {'received': 0, 'replied': 0, 'malformed': 0,
                      'unknown': 0, 'dhcp_off': 0, 'errors': 0}

    def handle(self, data: bytes) -> Reply | None:
        """Turn one datagram into a reply or None (no I/O).

        :param data: the UDP payload.
        :returns: the reply to send, or None for silence.
        """
        try:
            req = codec.parse(data)
        except codec.MalformedPacket as e:
            self.stats['malformed'] += 1
            metrics.DHCP_PARSE_FAILED.inc()
            self._bad.warning('Malformed DHCP packet dropped (%d bytes, '
                              'xid %s, chaddr %s): %s', len(data),
                              data[4:8].hex() or '-',
                              data[28:34].hex(':') or '-', e)
            return None
        metrics.received(req.msg_type)
        table = self.table
        host = table.by_mac.get(req.chaddr)
        if host is None:
            host = table.lookup(req.chaddr, req.options)
            if host is None and self.discovery is not None:
                host = self.discovery.host_for(req)
            if host is None:
                self.stats['unknown'] += 1
                metrics.dropped(metrics.DROP_UNKNOWN_MAC)
                if LOG.isEnabledFor(10):
                    LOG.debug('%s xid %#x from %s: no reservation, silence',
                              codec.msg_name(req.msg_type), req.xid, req.mac)
                return None
        elif self.discovery is not None and self.discovery.leased:
            self.discovery.seen_reserved(req.chaddr)
        if req.giaddr != codec.ZERO4 and not host.net.contains(req.giaddr):
            metrics.dropped(metrics.DROP_RELAY_NOT_ALLOWED)
            self._log.info('%s xid %#x from %s relayed by %s, outside the '
                           'reserved subnet of %s: ignored',
                           codec.msg_name(req.msg_type), req.xid,
                           host.label, codec.ipv4_text(req.giaddr),
                           host.address, key=(req.chaddr, 'relay'))
            return None
        if not host.boot.dhcp:
            self.stats['dhcp_off'] += 1
            metrics.dropped(metrics.DROP_DHCP_OFF)
            self._log.info('%s xid %#x from %s: the node boots without DHCP '
                           '(boot profile dhcp=off): silence',
                           codec.msg_name(req.msg_type), req.xid,
                           host.label, key=(req.chaddr, 'dhcp-off'))
            return None
        return self.chain(req, host)

    def serve_forever(self) -> None:
        """Receive and answer until :meth:`stop`."""
        assert self.transport is not None
        recv = self.transport.recv
        send = self.transport.send
        handle = self.handle
        stats = self.stats
        while not self._stopping:
            try:
                data, _src = recv()
            except OSError as e:
                if self._stopping:
                    break
                LOG.warning('DHCP receive error: %s', e)
                continue
            if not data:
                continue
            stats['received'] += 1
            try:
                reply = handle(data)
                if reply is not None:
                    try:
                        send(reply)
                    except OSError as e:
                        # e.g. EMSGSIZE, ENOBUFS: the kernel's word, not
                        # a bug; one line per client and reason, no trace.
                        stats['errors'] += 1
                        self._log.warning(
                            'Cannot send the %s to %s (xid %s, %d bytes): '
                            '%s', codec.msg_name(reply.msg_type),
                            reply.chaddr.hex(':'), data[4:8].hex(),
                            len(reply.payload), e,
                            key=(reply.chaddr, 'send'))
                        continue
                    stats['replied'] += 1
                    metrics.sent(reply.msg_type)
            except Exception:
                stats['errors'] += 1
                LOG.exception('Error answering a DHCP packet (xid %s, '
                              'chaddr %s); dropped', data[4:8].hex(),
                              data[28:34].hex(':'))

    def start(self) -> None:
        """Open the sockets (raises OSError) and start the loop thread."""
        self._stopping = False
        self.transport = self.transport_factory()
        self._thread = threading.Thread(target=self.serve_forever,
                                        name='dhcp-server', daemon=True)
        self._thread.start()
        LOG.info('DHCP server started with %d reservations', len(self.table))

    def stop(self) -> None:
        """Stop the loop and close the sockets."""
        self._stopping = True
        if self.transport is not None:
            self.transport.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        LOG.info('DHCP server stopped: %s', self.stats)

    def reload(self) -> None:
        """Nothing to reload: the sources feed the table."""
