"""The handler chain: each handler answers one kind of message.

A handler takes a parsed request and the client's reservation and returns
a :class:`Reply` or None (silence); it never sends anything itself. Only
the server loop sends (STYLE habit 2). :class:`Chain` dispatches by
message type; the first handler that returns a reply wins.

Destinations are chosen by :mod:`~vmetal_ironic.agent.dhcp.reply`.
"""

from __future__ import annotations

import abc
import logging

from oslo_log import log

from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp.netboot import Decider
from vmetal_ironic.agent.dhcp.options import OptionCache
from vmetal_ironic.agent.dhcp import reply
from vmetal_ironic.agent.dhcp.reply import Reply
from vmetal_ironic.agent.sources.reservations import Host

LOG = log.getLogger(__name__)


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
        return reply.make(req, msg_type, yiaddr, payload)

    def nak(self, req: codec.Request) -> Reply:
        """Build a NAK (server identifier and option 82 only)."""
        body = codec.opt(codec.OPT_SERVER_ID, self.server_id)
        relay = req.options.get(codec.OPT_RELAY_AGENT)
        if relay is not None:
            body += codec.opt(codec.OPT_RELAY_AGENT, relay)
        payload = codec.build_reply(req, codec.NAK, codec.ZERO4, codec.ZERO4,
                                    b'', body)
        return reply.make(req, codec.NAK, codec.ZERO4, payload)


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
                     req.xid, host.label, codec.ipv4_text(wanted),
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
                    codec.ipv4_text(addr) if len(addr) == 4
                    else host.address)
        return None


class ReleaseHandler(Handler):
    """RELEASE: reservations are static, nothing to free; log it."""

    msg_types = (codec.RELEASE,)

    def handle(self, req, host):
        LOG.info('RELEASE xid %#x from %s of %s', req.xid, host.label,
                 codec.ipv4_text(req.ciaddr))
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
            answer = h.handle(req, host)
            if answer is not None:
                return answer
        return None
