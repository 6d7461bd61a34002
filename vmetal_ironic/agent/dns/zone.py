"""What the boot-name responder answers (pure: a datagram in, one out).

A :class:`Zone` is the configured names and the addresses they all
resolve to. :meth:`Zone.respond` decides, authoritative-style and without
recursion:

* a name of the zone, QTYPE A, AAAA or ANY: NOERROR with the A and/or
  AAAA record (none configured for that family: NODATA);
* a name of the zone, another QTYPE: NOERROR without answers (NODATA);
* any other name: NXDOMAIN; a QCLASS other than IN or ANY: REFUSED;
* a query that cannot be understood: FORMERR; another opcode: NOTIMP;
  an EDNS version other than 0: BADVERS (RFC 6891 6.1.3);
* garbage (too short or long, a response): no answer.

Every answer copies the id, the opcode and RD, echoes the question as it
came and sets AA (the agent is the only authority its segment has), never
RA; a query with an OPT record gets one back.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from vmetal_ironic.agent.dns import wire

#: Label values of the QTYPEs counted separately (others: ``other``).
QTYPES = {wire.TYPE_A: 'a', wire.TYPE_AAAA: 'aaaa', wire.TYPE_ANY: 'any'}
OTHER_TYPE = 'other'
#: Results (metric label values).
NOERROR = 'noerror'
NODATA = 'nodata'
NXDOMAIN = 'nxdomain'
REFUSED = 'refused'
FORMERR = 'formerr'
NOTIMP = 'notimp'
BADVERS = 'badvers'
RESULTS = (NOERROR, NODATA, NXDOMAIN, REFUSED, FORMERR, NOTIMP, BADVERS)
#: Why a datagram got no answer at all.
GARBAGE = 'garbage'


def qtype_label(qtype: int | None) -> str:
    """The metric label of a QTYPE."""
    return QTYPES.get(qtype, OTHER_TYPE) if qtype is not None \
        else OTHER_TYPE


class Zone:
    """The names answered and their addresses.

    :param names: host names (any case, optional trailing dot).
    :param ipv4: the A record's address, or None.
    :param ipv6: the AAAA record's address, or None.
    :param ttl: TTL of the answers, in seconds.
    :raises ValueError: a name that is not a valid DNS name, or an
        address of the wrong family.
    """

    def __init__(self, names: Iterable[str], ipv4: str | None,
                 ipv6: str | None, ttl: int) -> None:
        self.names = frozenset(wire.encode_name(n) for n in names)
        self.ttl = ttl
        self.a = (wire.rr(wire.TYPE_A, ttl,
                          ipaddress.IPv4Address(ipv4).packed),) \
            if ipv4 else ()
        self.aaaa = (wire.rr(wire.TYPE_AAAA, ttl,
                             ipaddress.IPv6Address(ipv6).packed),) \
            if ipv6 else ()

    def respond(self, data: bytes) -> tuple[bytes | None, str, str]:
        """The answer to one datagram.

        :returns: (response or None for silence, QTYPE label, result: one
            of :data:`RESULTS` or :data:`GARBAGE`).
        """
        try:
            q = wire.parse(data)
        except wire.Garbage:
            return None, OTHER_TYPE, GARBAGE
        except wire.NotImp as e:
            return wire.response(e.qid, e.flags, wire.NOTIMP), OTHER_TYPE, \
                NOTIMP
        except wire.FormErr as e:
            return wire.response(e.qid, e.flags, wire.FORMERR), OTHER_TYPE, \
                FORMERR
        label = qtype_label(q.qtype)
        edns = q.edns is not None
        if edns and q.edns != 0:
            return wire.response(q.qid, q.flags, wire.BADVERS, edns=True), \
                label, BADVERS
        if q.qclass not in (wire.CLASS_IN, wire.CLASS_ANY):
            return wire.response(q.qid, q.flags, wire.REFUSED, q.question,
                                 edns=edns, authoritative=False), \
                label, REFUSED
        if q.name not in self.names:
            return wire.response(q.qid, q.flags, wire.NXDOMAIN, q.question,
                                 edns=edns), label, NXDOMAIN
        answers: tuple[bytes, ...] = ()
        if q.qtype in (wire.TYPE_A, wire.TYPE_ANY):
            answers += self.a
        if q.qtype in (wire.TYPE_AAAA, wire.TYPE_ANY):
            answers += self.aaaa
        return wire.response(q.qid, q.flags, wire.NOERROR, q.question,
                             answers, edns=edns), label, \
            NOERROR if answers else NODATA
