"""Reply options for OFFER/ACK, encoded once and cached (pure).

The options a reply carries depend on the host's :class:`Network`, the
netboot :class:`Decision`, the client's parameter request list and the
message kind; hosts of one pool share the first two objects, so
:class:`OptionCache` keys on their identity and most packets cost one
dict lookup. Only the hostname (per host) and option 82 (per packet) are
appended outside the cache.

Policy (RFC 2131 4.3.1, RFC 2132): message type, server identifier, lease
time with T1/T2 (not for INFORM), subnet mask and router are always sent;
DNS, domain, MTU, NTP servers (42), classless routes and hostname are
sent when the client asks for them in option 55 (or sends no option 55 at
all); boot options
are sent whenever the netboot decision has them. When a reply would
exceed the client's maximum message size (or the interface MTU) the
reply is rebuilt by :func:`fit`: the mandatory options first (server
identifier, lease times, mask, router), then the echoed relay information
(RFC 3046: a reply that cannot carry it is not sent), then the other
options in order while they fit, then the hostname, cut to the room left.
"""

from __future__ import annotations

from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp.netboot import Decision
from vmetal_ironic.agent.dhcp.netboot import PXE_VENDOR_OPTIONS
from vmetal_ironic.agent.sources.reservations import Network

# Parts of a reply, in the order they are written.
_ALWAYS = (codec.OPT_SUBNET_MASK, codec.OPT_ROUTER)
# Never left out of an OFFER or ACK to make room.
MANDATORY = frozenset((codec.OPT_SERVER_ID, codec.OPT_LEASE_TIME,
                       codec.OPT_T1, codec.OPT_T2, codec.OPT_SUBNET_MASK,
                       codec.OPT_ROUTER))
_ON_REQUEST = (codec.OPT_DNS, codec.OPT_DOMAIN, codec.OPT_MTU,
               codec.OPT_NTP, codec.OPT_CLASSLESS_ROUTES,
               codec.OPT_VENDOR_SPECIFIC)


def encode(server_id: bytes, net: Network, decision: Decision | None,
           prl: bytes | None, with_lease: bool, agent_dns: bytes = b'',
           dns_always: bool = False) -> list[bytes]:
    """The encoded options, each one element, most important first.

    :param server_id: the agent's address (4 bytes), option 54.
    :param net: network parameters of the host.
    :param decision: boot options, or None.
    :param prl: the client's option 55, or None.
    :param with_lease: False for INFORM (no lease time, RFC 2131 4.3.5).
    :param agent_dns: the agent's own DNS responder (4 bytes), the DNS
        server of hosts whose network has none (``b''``: not advertised;
        see doc/dns.md).
    :param dns_always: the agent's responder replaces the network's own
        DNS servers.
    """
    wanted = (lambda c: True) if prl is None else (lambda c: c in prl)
    out = [codec.opt(codec.OPT_SERVER_ID, server_id)]
    if with_lease:
        lt = net.lease_time
        out.append(codec.opt_u32(codec.OPT_LEASE_TIME, lt))
        out.append(codec.opt_u32(codec.OPT_T1, lt // 2))
        out.append(codec.opt_u32(codec.OPT_T2, lt * 7 // 8))
    out.append(codec.opt(codec.OPT_SUBNET_MASK, net.netmask))
    if net.router:
        out.append(codec.opt(codec.OPT_ROUTER, net.router))
    if decision is not None:
        if decision.vendor_class:
            out.append(codec.opt(codec.OPT_VENDOR_CLASS,
                                 decision.vendor_class))
        if decision.tftp_name:
            out.append(codec.opt(codec.OPT_TFTP_SERVER, decision.tftp_name))
        if decision.file:
            out.append(codec.opt(codec.OPT_BOOTFILE, decision.file))
    dns = b''.join(net.dns)
    if agent_dns and (dns_always or not dns):
        dns = agent_dns
    if dns and wanted(codec.OPT_DNS):
        out.append(codec.opt(codec.OPT_DNS, dns))
    if net.domain and wanted(codec.OPT_DOMAIN):
        out.append(codec.opt(codec.OPT_DOMAIN, net.domain.encode()))
    if net.mtu and wanted(codec.OPT_MTU):
        out.append(codec.opt_u16(codec.OPT_MTU, net.mtu))
    if net.ntp and wanted(codec.OPT_NTP):
        out.append(codec.opt(codec.OPT_NTP, b''.join(net.ntp)))
    if net.routes and wanted(codec.OPT_CLASSLESS_ROUTES):
        routes = list(net.routes)
        if net.router:
            # RFC 3442: a client that uses option 121 ignores option 3.
            routes.append((codec.ZERO4, 0, net.router))
        out.append(codec.classless_routes(routes))
    if decision is not None and decision.pxe_vendor \
            and wanted(codec.OPT_VENDOR_SPECIFIC):
        out.append(codec.opt(codec.OPT_VENDOR_SPECIFIC, PXE_VENDOR_OPTIONS))
    return out


class OptionCache:
    """Encoded reply options per (network, decision, PRL, lease or not).

    ``agent_dns``, ``dns_always``: as in :func:`encode`, the same for
    every reply.
    """

    MAX_ENTRIES = 8192

    def __init__(self, server_id: bytes, agent_dns: bytes = b'',
                 dns_always: bool = False) -> None:
        self.server_id = server_id
        self.agent_dns = agent_dns
        self.dns_always = dns_always
        self._cache: dict[tuple, bytes] = {}

    def get(self, net: Network, decision: Decision | None,
            prl: bytes | None, with_lease: bool = True) -> bytes:
        """The joined options (without message type, hostname, 82, END)."""
        key = (net, decision, prl, with_lease)
        try:
            return self._cache[key]
        except KeyError:
            pass
        if len(self._cache) >= self.MAX_ENTRIES:
            self._cache.clear()
        value = self._cache[key] = b''.join(
            encode(self.server_id, net, decision, prl, with_lease,
                   self.agent_dns, self.dns_always))
        return value

    def fit(self, net: Network, decision: Decision | None, prl: bytes | None,
            with_lease: bool, budget: int) -> bytes:
        """Options that fit in ``budget`` bytes, optional ones dropped.

        Slow path for clients with a small maximum message size.
        """
        parts = encode(self.server_id, net, decision, prl, with_lease,
                       self.agent_dns, self.dns_always)
        while parts and sum(map(len, parts)) > budget:
            parts.pop()
        return b''.join(parts)


def fit(parts: list[bytes], hostname: bytes, relay: bytes,
        room: int) -> bytes | None:
    """The options of a reply that must fit in ``room`` bytes.

    :param parts: the encoded options of :func:`encode`, in order.
    :param hostname: the encoded option 12, or ``b''``.
    :param relay: the encoded option 82 to echo, or ``b''``.
    :param room: bytes available between the message type and END.
    :returns: the options to send (option 82 last), or None when even the
        mandatory options and the relay information do not fit.
    """
    chosen = [p for p in parts if p[0] in MANDATORY]
    room -= sum(map(len, chosen)) + len(relay)
    if room < 0:
        return None
    for p in parts:
        if p[0] in MANDATORY:
            continue
        if len(p) > room:
            break
        chosen.append(p)
        room -= len(p)
    if hostname and room >= 3:
        name = hostname[2:2 + min(room - 2, 255)]
        chosen.append(codec.opt(codec.OPT_HOSTNAME, name))
    chosen.append(relay)
    return b''.join(chosen)
