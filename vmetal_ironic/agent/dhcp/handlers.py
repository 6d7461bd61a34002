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
from vmetal_ironic.agent.dhcp import options as options_mod
from vmetal_ironic.agent.dhcp.options import OptionCache
from vmetal_ironic.agent.dhcp import reply
from vmetal_ironic.agent.dhcp.reply import Reply
from vmetal_ironic.agent.ratelimit import Limiter
from vmetal_ironic.agent.ratelimit import RateLimitedLog
from vmetal_ironic.agent.sources.reservations import Host

LOG = log.getLogger(__name__)


# BOOTP header, magic cookie, option 53 and END: in every reply.
_FIXED = codec.MIN_LEN + 3 + 1


class Context:
    """What every handler shares: server identity and the caches.

    :param server_id: the agent's address (4 bytes).
    :param decider: the netboot decision.
    :param max_payload: largest DHCP message the interface carries (its
        MTU less IP and UDP headers); replies never exceed it.
    :param agent_dns: the agent's DNS responder address (4 bytes) for
        option 6, and ``dns_always``: see :func:`.options.encode`.
    """

    def __init__(self, server_id: bytes, decider: Decider,
                 max_payload: int = 1500 - codec.IP_UDP_OVERHEAD,
                 agent_dns: bytes = b'', dns_always: bool = False) -> None:
        self.server_id = server_id
        self.decider = decider
        self.max_payload = max(max_payload,
                               codec.MIN_MAX_SIZE - codec.IP_UDP_OVERHEAD)
        self.cache = OptionCache(server_id, agent_dns, dns_always)
        self.debug = LOG.isEnabledFor(logging.DEBUG)
        # Client-triggered lines and NAKs: per client MAC and reason.
        self.log = RateLimitedLog(burst=5, period=10.0,
                                  logger=lambda: LOG)
        self.naks = Limiter(burst=3, period=10.0)

    def screen(self, req: codec.Request, host: Host) -> str | None:
        """Why ``req`` gets silence whatever its type, or None.

        RFC 2131/3046: option 82 comes only from a relay (giaddr set); a
        relay address (already checked to be in the reserved subnet by the
        server loop) must be neither the subnet's network or broadcast
        address nor the agent's own address.
        """
        giaddr = req.giaddr
        if giaddr == codec.ZERO4:
            if codec.OPT_RELAY_AGENT in req.options:
                return 'relay agent information without a relay (giaddr 0)'
            return None
        if giaddr == self.server_id:
            return 'relayed by the agent\'s own address'
        net = host.net   # outside it: the server loop already dropped
        if net.network is not None and net.prefixlen < 31:
            value = int.from_bytes(giaddr, 'big')
            if value in (net.network, net.network | (~net.mask & 0xffffffff)):
                return 'relayed by %s, the network or broadcast address' \
                    % codec.ipv4_text(giaddr)
        return None

    def limit(self, req: codec.Request) -> int:
        """Largest reply to ``req``: option 57, else 548; never past MTU."""
        return min(req.max_size(), self.max_payload)

    def answer(self, req: codec.Request, host: Host, msg_type: int,
               yiaddr: bytes, with_lease: bool = True) -> Reply | None:
        """Build an OFFER or ACK for ``host``; None if it cannot fit."""
        opts = req.options
        decision = self.decider(host.boot, opts)
        prl = opts.get(codec.OPT_PRL)
        # Per-host and per-request options, after the cached ones.
        hostname = host.hostname_opt if (
            prl is None or codec.OPT_HOSTNAME in prl) else b''
        relay = opts.get(codec.OPT_RELAY_AGENT)
        relay = codec.opt(codec.OPT_RELAY_AGENT, relay) \
            if relay is not None and req.giaddr != codec.ZERO4 else b''
        body = self.cache.get(host.net, decision, prl, with_lease)
        if decision is not None:
            siaddr = decision.siaddr
            file = decision.file if decision.file and \
                len(decision.file) < 128 else b''
        else:
            siaddr, file = codec.ZERO4, b''
        room = self.limit(req) - _FIXED
        if len(body) + len(hostname) + len(relay) > room:
            fitted = options_mod.fit(
                options_mod.encode(self.server_id, host.net, decision, prl,
                                   with_lease), hostname, relay, room)
            if fitted is None:
                self.log.warning('%s xid %#x from %s: the reply cannot carry '
                                 'the mandatory options and the relay '
                                 'information in %d bytes: dropped',
                                 codec.msg_name(req.msg_type), req.xid,
                                 host.label, self.limit(req),
                                 key=(host.mac, 'size'))
                return None
            body = fitted
        else:
            body += hostname + relay
        payload = codec.build_reply(req, msg_type, yiaddr, siaddr, file, body)
        return reply.make(req, msg_type, yiaddr, payload)

    def nak(self, req: codec.Request) -> Reply | None:
        """Build a NAK (server identifier and option 82 only).

        NAKs are limited per client MAC (a flood of wrong REQUESTs from one
        MAC gets a few NAKs, not one each); None when over the limit.
        """
        if not self.naks.allow(req.chaddr)[0]:
            return None
        body = codec.opt(codec.OPT_SERVER_ID, self.server_id)
        relay = req.options.get(codec.OPT_RELAY_AGENT)
        if relay is not None and req.giaddr != codec.ZERO4:
            body += codec.opt(codec.OPT_RELAY_AGENT, relay)
        payload = codec.build_reply(req, codec.NAK, codec.ZERO4, codec.ZERO4,
                                    b'', body)
        if len(payload) > self.limit(req):
            return None
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
                self.ctx.log.info('REQUEST xid %#x from %s names no '
                                  'address: dropped', req.xid, host.label,
                                  key=(host.mac, 'no-address'))
                return None
        if wanted != host.ip:
            self.ctx.log.info('REQUEST xid %#x from %s for %s, reserved %s: '
                              'NAK', req.xid, host.label,
                              codec.ipv4_text(wanted), host.address,
                              key=(host.mac, 'nak'))
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
            self.ctx.log.info('INFORM xid %#x from %s without ciaddr: '
                              'dropped', req.xid, host.label,
                              key=(host.mac, 'inform'))
            return None
        LOG.debug('INFORM xid %#x from %s', req.xid, host.label)
        return self.ctx.answer(req, host, codec.ACK, codec.ZERO4,
                               with_lease=False)


class DeclineHandler(Handler):
    """DECLINE: the client found its reserved address in use; log it."""

    msg_types = (codec.DECLINE,)

    def handle(self, req, host):
        addr = req.options.get(codec.OPT_REQUESTED_IP, b'')
        self.ctx.log.warning('DECLINE xid %#x from %s: address %s is in use '
                             'by another host on the segment', req.xid,
                             host.label, codec.ipv4_text(addr)
                             if len(addr) == 4 else host.address,
                             key=(host.mac, 'decline'))
        return None


class ReleaseHandler(Handler):
    """RELEASE: reservations are static, nothing to free; log it."""

    msg_types = (codec.RELEASE,)

    def handle(self, req, host):
        self.ctx.log.info('RELEASE xid %#x from %s of %s', req.xid,
                          host.label, codec.ipv4_text(req.ciaddr),
                          key=(host.mac, 'release'))
        return None


DEFAULT_HANDLERS = (DiscoverHandler, RequestHandler, InformHandler,
                    DeclineHandler, ReleaseHandler)


class Chain:
    """Dispatch a request to the handlers of its message type."""

    def __init__(self, handlers: list[Handler],
                 ctx: Context | None = None) -> None:
        self.ctx = ctx
        by_type: dict[int, list[Handler]] = {}
        for h in handlers:
            for t in h.msg_types:
                by_type.setdefault(t, []).append(h)
        self._by_type = {t: tuple(hs) for t, hs in by_type.items()}

    @classmethod
    def default(cls, ctx: Context) -> 'Chain':
        """The standard chain of :data:`DEFAULT_HANDLERS`."""
        return cls([h(ctx) for h in DEFAULT_HANDLERS], ctx)

    def __call__(self, req: codec.Request, host: Host) -> Reply | None:
        """The first reply of the handlers for ``req``'s type, or None.

        With a :class:`Context`, requests it screens out get silence, and
        so does a reply that would be unicast to an address outside the
        reserved subnet (a ciaddr the client made up).
        """
        ctx = self.ctx
        if ctx is not None:
            why = ctx.screen(req, host)
            if why is not None:
                ctx.log.info('%s xid %#x from %s: %s: ignored',
                             codec.msg_name(req.msg_type), req.xid,
                             host.label, why, key=(host.mac, 'screen'))
                return None
        for h in self._by_type.get(req.msg_type, ()):
            answer = h.handle(req, host)
            if answer is not None:
                if answer.kind == reply.TO_CLIENT and ctx is not None \
                        and not host.net.contains(answer.addr):
                    ctx.log.info('%s xid %#x from %s: ciaddr %s is outside '
                                 'the reserved subnet of %s: ignored',
                                 codec.msg_name(req.msg_type), req.xid,
                                 host.label, codec.ipv4_text(answer.addr),
                                 host.address, key=(host.mac, 'ciaddr'))
                    return None
                return answer
        return None
