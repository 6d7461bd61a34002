"""DHCPv6 answers (RFC 8415 18.3), reservation-only, as pure functions.

:class:`Responder` turns a parsed, screened client message and the
client's :class:`~.hosts.Host6` into the encoded reply message (before
the relay wrapping) or None. The policy:

* SOLICIT: ADVERTISE with preference 255 (the client need not wait for
  other servers), or, when the client asks for Rapid Commit (14) and the
  agent allows it, REPLY with Rapid Commit;
* REQUEST, RENEW, REBIND: REPLY; in every case the first IA_NA gets the
  reserved address with the pool's lifetimes, and any other address the
  client names in it is returned with lifetimes 0 (RFC 8415 18.3.4/5: it
  must stop using it); further IA_NAs get NoAddrsAvail, IA_TA
  NoAddrsAvail and IA_PD NoPrefixAvail (the agent delegates no prefix);
* CONFIRM: REPLY Success when every address is in the reserved prefix,
  NotOnLink otherwise, silence without addresses (RFC 8415 18.3.3);
* RELEASE, DECLINE: REPLY Success (reservations are static; a DECLINE is
  logged, someone else uses the address);
* INFORMATION-REQUEST: REPLY with the configuration options only.

Configuration options: DNS servers (23) and domain list (24) when the
client asks for them in its Option Request (6), or sends none; the boot
options of :mod:`~.netboot` whenever the client is a network boot
client. Gateways and routes are the router's job (RA).
"""

from __future__ import annotations

from oslo_log import log

from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.dhcp6.hosts import Host6
from vmetal_ironic.agent.dhcp6 import netboot
from vmetal_ironic.agent.ratelimit import RateLimitedLog

LOG = log.getLogger(__name__)

NO_PREFIX_AVAIL = 6
_PREFERENCE = codec.opt(codec.OPT_PREFERENCE, b'\xff')
_RAPID = codec.opt(codec.OPT_RAPID_COMMIT, b'')
_STATUS_NO_ADDRS = codec.status(codec.NO_ADDRS_AVAIL, 'no more addresses')
_STATUS_NO_PREFIX = codec.status(NO_PREFIX_AVAIL, 'no prefixes')

#: Messages that must name this server (RFC 8415 16.4-16.10).
NEEDS_SERVER_ID = frozenset((codec.REQUEST, codec.RENEW, codec.DECLINE,
                             codec.RELEASE))
#: Messages that must not name a server.
NO_SERVER_ID = frozenset((codec.SOLICIT, codec.CONFIRM, codec.REBIND))


class Responder:
    """Builds replies for one server identity.

    :param server_duid: this agent's DUID (option 2).
    :param decider: the netboot decision.
    :param rapid_commit: whether a SOLICIT with Rapid Commit gets a REPLY.
    :param agent_dns: the agent's DNS responder (16 bytes), option 23 of
        hosts whose network has no DNS servers (``b''``: none; see
        doc/dns.md); ``dns_always``: of every host, in place of theirs.
    """

    def __init__(self, server_duid: bytes, decider: netboot.Decider,
                 rapid_commit: bool = True, agent_dns: bytes = b'',
                 dns_always: bool = False) -> None:
        self.server_duid = server_duid
        self.agent_dns_opt = codec.opt(codec.OPT_DNS_SERVERS, agent_dns) \
            if agent_dns else b''
        self.dns_always = dns_always
        self.server_id_opt = codec.opt(codec.OPT_SERVERID, server_duid)
        self.decider = decider
        self.rapid_commit = rapid_commit
        self.log = RateLimitedLog(burst=5, period=10.0, logger=lambda: LOG)

    def screen(self, msg: codec.Message) -> str | None:
        """Why ``msg`` gets silence whatever the host, or None."""
        t = msg.msg_type
        sid = msg.server_id
        if t != codec.INFORMATION_REQUEST and msg.client_id is None:
            return 'no client identifier'
        if t in NEEDS_SERVER_ID:
            if sid is None:
                return 'no server identifier'
            if sid != self.server_duid:
                return 'for another server'
        elif t in NO_SERVER_ID:
            if sid is not None:
                return 'a server identifier in a %s' % codec.msg_name(t)
        elif sid is not None and sid != self.server_duid:
            return 'for another server'
        if t == codec.INFORMATION_REQUEST and msg.ias:
            return 'an IA option in an INFORMATION-REQUEST'
        return None

    def answer(self, msg: codec.Message, host: Host6) -> tuple[int, bytes] \
            | None:
        """(reply type, encoded message body after the xid), or None."""
        t = msg.msg_type
        if t == codec.SOLICIT:
            if not msg.ia_nas():
                return codec.ADVERTISE, self._ids(msg) + _STATUS_NO_ADDRS
            if self.rapid_commit and codec.OPT_RAPID_COMMIT in msg.options:
                return codec.REPLY, (self._ids(msg) + _RAPID
                                     + self._ias(msg, host, False)
                                     + self._config(msg, host))
            return codec.ADVERTISE, (self._ids(msg) + _PREFERENCE
                                     + self._ias(msg, host, False)
                                     + self._config(msg, host))
        if t in (codec.REQUEST, codec.RENEW, codec.REBIND):
            return codec.REPLY, (self._ids(msg) + self._ias(msg, host, True)
                                 + self._config(msg, host))
        if t == codec.CONFIRM:
            addrs = [a for ia in msg.ia_nas() for a in ia.addresses]
            if not addrs:
                return None
            ok = all(host.net.contains(a) for a in addrs)
            return codec.REPLY, self._ids(msg) + (
                codec.status(codec.SUCCESS, 'on link') if ok else
                codec.status(codec.NOT_ON_LINK, 'not on link'))
        if t == codec.DECLINE:
            self.log.warning('DECLINE xid %#x from %s: address %s is in use '
                             'by another host on the segment', msg.xid_int,
                             host.label, host.address,
                             key=(host.mac, 'decline6'))
            return codec.REPLY, self._ids(msg) + codec.status(codec.SUCCESS)
        if t == codec.RELEASE:
            self.log.info('RELEASE xid %#x from %s of %s', msg.xid_int,
                          host.label, host.address,
                          key=(host.mac, 'release6'))
            return codec.REPLY, self._ids(msg) + codec.status(codec.SUCCESS)
        if t == codec.INFORMATION_REQUEST:
            return codec.REPLY, self._ids(msg) + self._config(msg, host)
        return None

    def _ids(self, msg: codec.Message) -> bytes:
        cid = msg.client_id
        return self.server_id_opt + (
            codec.opt(codec.OPT_CLIENTID, cid) if cid is not None else b'')

    def _ias(self, msg: codec.Message, host: Host6, withdraw: bool) -> bytes:
        net = host.net
        out = []
        given = False
        for ia in msg.ias:
            if ia.code == codec.OPT_IA_NA and not given:
                given = True
                body = [codec.iaaddr(host.ip, net.lease_time, net.lease_time)]
                if withdraw:
                    body.extend(codec.iaaddr(a, 0, 0) for a in ia.addresses
                                if a != host.ip)
                out.append(codec.ia_na(ia.iaid, net.t1, net.t2,
                                       b''.join(body)))
            elif ia.code == codec.OPT_IA_PD:
                out.append(codec.opt(codec.OPT_IA_PD, ia.iaid + bytes(8)
                                     + _STATUS_NO_PREFIX))
            elif ia.code == codec.OPT_IA_TA:
                out.append(codec.opt(codec.OPT_IA_TA,
                                     ia.iaid + _STATUS_NO_ADDRS))
            else:
                out.append(codec.ia_na(ia.iaid, 0, 0, _STATUS_NO_ADDRS))
        return b''.join(out)

    def _config(self, msg: codec.Message, host: Host6) -> bytes:
        net = host.net
        oro = msg.oro() if codec.OPT_ORO in msg.options else None
        parts = []
        dns_opt = net.dns_opt
        if self.agent_dns_opt and (self.dns_always or not dns_opt):
            dns_opt = self.agent_dns_opt
        if dns_opt and (oro is None or codec.OPT_DNS_SERVERS in oro):
            parts.append(dns_opt)
        if net.domain_opt and (oro is None or codec.OPT_DOMAIN_LIST in oro):
            parts.append(net.domain_opt)
        parts.append(self.decider(host.boot, msg))
        return b''.join(parts)
