"""The handler chain: each handler answers one kind of message.

A handler takes a parsed request and the client's reservation and returns
a :class:`Reply` or None (silence); it never sends anything itself. Only
the server loop sends (STYLE habit 2). :class:`Chain` dispatches by
message type; the first handler that returns a reply wins.

Destinations (RFC 2131 4.1): a relayed request (giaddr set) is answered to
the relay's port 67; a client with an address (ciaddr set, RENEWING,
REBINDING, INFORM) by unicast to it; a client that set the broadcast flag,
and every NAK that is not relayed, by broadcast; any other client by an
Ethernet frame to its chaddr carrying the offered address (it has no
address yet, so no ARP is involved).
"""

from __future__ import annotations

import abc
import logging

from oslo_log import log

from vmetal_ironic.agent import codec
from vmetal_ironic.agent.netboot import Decider
from vmetal_ironic.agent.options import OptionCache
from vmetal_ironic.agent.reservations import Host

LOG = log.getLogger(__name__)

# Destination kinds.
TO_RELAY = 1        # giaddr:67
TO_CLIENT = 2       # ciaddr:68, the client has an address
TO_BROADCAST = 3    # 255.255.255.255:68
TO_L2 = 4           # yiaddr:68 in an Ethernet frame to chaddr


class Reply:
    """What the server loop sends: payload and destination."""

    __slots__ = ('payload', 'kind', 'addr', 'chaddr', 'msg_type')

    def __init__(self, payload: bytes, kind: int, addr: bytes,
                 chaddr: bytes, msg_type: int) -> None:
        self.payload = payload
        self.kind = kind
        self.addr = addr
        self.chaddr = chaddr
        self.msg_type = msg_type


def destination(req: codec.Request, msg_type: int,
                yiaddr: bytes) -> tuple[int, bytes]:
    """Where a reply to ``req`` goes: (kind, IPv4 address bytes)."""
    if req.giaddr != codec.ZERO4:
        return TO_RELAY, req.giaddr
    if msg_type == codec.NAK:
        return TO_BROADCAST, b'\xff\xff\xff\xff'
    if req.ciaddr != codec.ZERO4:
        return TO_CLIENT, req.ciaddr
    if req.flags & codec.BROADCAST_FLAG or req.htype != 1 or req.hlen != 6:
        return TO_BROADCAST, b'\xff\xff\xff\xff'
    return TO_L2, yiaddr


class Context:
    """What every handler shares: server identity and the caches."""

    def __init__(self, server_id: bytes, decider: Decider) -> None:
        self.server_id = server_id
        self.decider = decider
        self.cache = OptionCache(server_id)
        self.debug = LOG.isEnabledFor(logging.DEBUG)

    def answer(self, req: codec.Request, host: Host, msg_type: int,
               yiaddr: bytes, with_lease: bool = True) -> Reply:
        """Build an OFFER or ACK for ``host``."""
        opts = req.options
        decision = self.decider(host.boot, opts)
        prl = opts.get(codec.OPT_PRL)
        # Per-host and per-request options, after the cached ones.
        tail = host.hostname_opt if (
            prl is None or codec.OPT_HOSTNAME in prl) else b''
        relay = opts.get(codec.OPT_RELAY_AGENT)
        if relay is not None:
            tail += codec.opt(codec.OPT_RELAY_AGENT, relay)
        body = self.cache.get(host.net, decision, prl, with_lease) + tail
        if decision is not None:
            siaddr = decision.siaddr
            file = decision.file if decision.file and \
                len(decision.file) < 128 else b''
        else:
            siaddr, file = codec.ZERO4, b''
        payload = codec.build_reply(req, msg_type, yiaddr, siaddr, file, body)
        if len(payload) > 548:
            limit = req.max_size()
            if len(payload) > limit:
                budget = limit - (len(payload) - len(body)) - len(tail)
                body = self.cache.fit(host.net, decision, prl, with_lease,
                                      budget) + tail
                payload = codec.build_reply(req, msg_type, yiaddr, siaddr,
                                            file, body)
        kind, addr = destination(req, msg_type, yiaddr)
        return Reply(payload, kind, addr, req.chaddr, msg_type)

    def nak(self, req: codec.Request) -> Reply:
        """Build a NAK (server identifier and option 82 only)."""
        body = codec.opt(codec.OPT_SERVER_ID, self.server_id)
        relay = req.options.get(codec.OPT_RELAY_AGENT)
        if relay is not None:
            body += codec.opt(codec.OPT_RELAY_AGENT, relay)
        payload = codec.build_reply(req, codec.NAK, codec.ZERO4, codec.ZERO4,
                                    b'', body)
        kind, addr = destination(req, codec.NAK, codec.ZERO4)
        return Reply(payload, kind, addr, req.chaddr, codec.NAK)


class Handler(abc.ABC):
    """One step of the chain, for the message types in ``msg_types``."""

    msg_types: tuple[int, ...] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @abc.abstractmethod
    def handle(self, req: codec.Request, host: Host) -> Reply | None:
        """Answer ``req`` from the reserved client ``host``.

        :param req: the parsed request.
        :param host: the client's reservation.
        :returns: a :class:`Reply`, or None for silence.
        """


class DiscoverHandler(Handler):
    """DISCOVER -> OFFER of the reserved address."""

    msg_types = (codec.DISCOVER,)

    def handle(self, req, host):
        if self.ctx.debug:
            LOG.debug('DISCOVER xid %#x from %s: offering %s', req.xid,
                      host.label, host.address)
        return self.ctx.answer(req, host, codec.OFFER, host.ip)


class RequestHandler(Handler):
    """REQUEST -> ACK, NAK, or silence (RFC 2131 4.3.2).

    SELECTING names a server identifier (another server's: silence);
    INIT-REBOOT names the address in option 50; RENEWING and REBINDING
    name it in ciaddr. The reserved address gets an ACK, any other a NAK.
    """

    msg_types = (codec.REQUEST,)

    def handle(self, req, host):
        opts = req.options
        sid = opts.get(codec.OPT_SERVER_ID)
        if sid is not None and sid != self.ctx.server_id:
            if self.ctx.debug:
                LOG.debug('REQUEST xid %#x from %s is for server %s: '
                          'ignored', req.xid, host.label, sid.hex())
            return None
        wanted = opts.get(codec.OPT_REQUESTED_IP)
        if wanted is None:
            wanted = req.ciaddr
            if wanted == codec.ZERO4:
                LOG.info('REQUEST xid %#x from %s names no address: '
                         'dropped', req.xid, host.label)
                return None
        if wanted != host.ip:
            LOG.info('REQUEST xid %#x from %s for %s, reserved %s: NAK',
                     req.xid, host.label, '.'.join(map(str, wanted)),
                     host.address)
            return self.ctx.nak(req)
        if self.ctx.debug:
            LOG.debug('REQUEST xid %#x from %s: ACK %s', req.xid,
                      host.label, host.address)
        return self.ctx.answer(req, host, codec.ACK, host.ip)


class InformHandler(Handler):
    """INFORM -> ACK with configuration, no lease (RFC 2131 4.3.5)."""

    msg_types = (codec.INFORM,)

    def handle(self, req, host):
        if req.ciaddr == codec.ZERO4:
            LOG.info('INFORM xid %#x from %s without ciaddr: dropped',
                     req.xid, host.label)
            return None
        LOG.debug('INFORM xid %#x from %s', req.xid, host.label)
        return self.ctx.answer(req, host, codec.ACK, codec.ZERO4,
                               with_lease=False)


class DeclineHandler(Handler):
    """DECLINE: the client found its reserved address in use; log it."""

    msg_types = (codec.DECLINE,)

    def handle(self, req, host):
        addr = req.options.get(codec.OPT_REQUESTED_IP, b'')
        LOG.warning('DECLINE xid %#x from %s: address %s is in use by '
                    'another host on the segment', req.xid, host.label,
                    '.'.join(map(str, addr)) if len(addr) == 4
                    else host.address)
        return None


class ReleaseHandler(Handler):
    """RELEASE: reservations are static, nothing to free; log it."""

    msg_types = (codec.RELEASE,)

    def handle(self, req, host):
        LOG.info('RELEASE xid %#x from %s of %s', req.xid, host.label,
                 '.'.join(map(str, req.ciaddr)))
        return None


DEFAULT_HANDLERS = (DiscoverHandler, RequestHandler, InformHandler,
                    DeclineHandler, ReleaseHandler)


class Chain:
    """Dispatch a request to the handlers of its message type."""

    def __init__(self, handlers: list[Handler]) -> None:
        by_type: dict[int, list[Handler]] = {}
        for h in handlers:
            for t in h.msg_types:
                by_type.setdefault(t, []).append(h)
        self._by_type = {t: tuple(hs) for t, hs in by_type.items()}

    @classmethod
    def default(cls, ctx: Context) -> 'Chain':
        """The standard chain of :data:`DEFAULT_HANDLERS`."""
        return cls([h(ctx) for h in DEFAULT_HANDLERS])

    def __call__(self, req: codec.Request, host: Host) -> Reply | None:
        """The first reply of the handlers for ``req``'s type, or None."""
        for h in self._by_type.get(req.msg_type, ()):
            reply = h.handle(req, host)
            if reply is not None:
                return reply
        return None
