"""DNS messages, the little a boot-name responder needs (pure).

RFC 1035 4.1 (header, question, resource records), RFC 6891 (the EDNS
OPT record of a query), RFC 4343 (names compare case-insensitively, ASCII
only). Only queries are parsed, only responses are built.

:func:`parse` takes a datagram and returns a :class:`Query`, or raises
:class:`Garbage` (the datagram gets silence: too short, a response, too
long) or :class:`FormErr` (a query header that can be answered, with a
question or an additional section that cannot be understood: the answer
is FORMERR with the header's id). A name in the question is a sequence of
plain labels: a compression pointer there (which could only point back
into the header or loop) or an extended label type is FORMERR, so no name
is ever followed twice.
"""

from __future__ import annotations

import dataclasses
import struct

HEADER = struct.Struct('!HHHHHH')
HEADER_LEN = HEADER.size
_TAIL = struct.Struct('!HH')
_RR = struct.Struct('!HHIH')

#: Largest datagram looked at; anything longer is garbage (a query of
#: one question and one OPT record fits in far less).
MAX_QUERY = 1232
#: The UDP payload size this responder announces in its OPT record.
UDP_PAYLOAD = 1232
MAX_NAME = 255
MAX_LABEL = 63

QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
OPCODE_SHIFT = 11
OPCODE_MASK = 0x7800
RCODE_MASK = 0x000f

OPCODE_QUERY = 0

NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5
#: Extended RCODE 16 (RFC 6891 6.1.3): an EDNS version we do not speak.
BADVERS = 16

TYPE_A = 1
TYPE_AAAA = 28
TYPE_OPT = 41
TYPE_ANY = 255
CLASS_IN = 1
CLASS_ANY = 255

_ROOT = b'\0'
# The question's name is always at offset 12: a pointer to it.
_NAME_PTR = b'\xc0\x0c'


class Garbage(ValueError):
    """A datagram that gets no answer at all."""


class FormErr(ValueError):
    """A query whose header can be answered with FORMERR.

    ``qid`` and ``flags``: the header's id and flags.
    """

    def __init__(self, reason: str, qid: int, flags: int) -> None:
        super().__init__(reason)
        self.qid = qid
        self.flags = flags


class NotImp(ValueError):
    """A message of an opcode other than QUERY (answered NOTIMP)."""

    def __init__(self, qid: int, flags: int) -> None:
        super().__init__('opcode %d' % ((flags & OPCODE_MASK)
                                        >> OPCODE_SHIFT))
        self.qid = qid
        self.flags = flags


@dataclasses.dataclass(frozen=True)
class Query:
    """One parsed query.

    ``name``: the question's name in wire form, lower-cased (ASCII);
    ``question``: the question's bytes as received (echoed verbatim, case
    included, as RFC 4343 asks); ``edns``: the OPT record's EDNS version,
    or None without one.
    """

    qid: int
    flags: int
    name: bytes
    qtype: int
    qclass: int
    question: bytes
    edns: int | None


def parse(data: bytes) -> Query:
    """The query in ``data``.

    :raises Garbage: not a query to answer at all.
    :raises NotImp: a message of another opcode.
    :raises FormErr: a query that cannot be understood.
    """
    if len(data) < HEADER_LEN or len(data) > MAX_QUERY:
        raise Garbage('length %d' % len(data))
    qid, flags, qd, an, ns, ar = HEADER.unpack_from(data)
    if flags & QR:
        raise Garbage('a response')
    if flags & OPCODE_MASK:
        raise NotImp(qid, flags)
    if qd != 1:
        raise FormErr('%d questions' % qd, qid, flags)
    if an or ns:
        raise FormErr('answer or authority records in a query', qid, flags)
    if ar > 1:
        raise FormErr('%d additional records' % ar, qid, flags)
    end = name_end(data, HEADER_LEN)
    if end is None or end + 4 > len(data):
        raise FormErr('malformed question', qid, flags)
    qtype, qclass = _TAIL.unpack_from(data, end)
    question = data[HEADER_LEN:end + 4]
    edns = None
    pos = end + 4
    if ar:
        edns = _opt_version(data, pos)
        if edns is None:
            raise FormErr('additional record is not an OPT record', qid,
                          flags)
    elif pos != len(data):
        raise FormErr('trailing bytes after the question', qid, flags)
    return Query(qid, flags, data[HEADER_LEN:end].lower(), qtype, qclass,
                 question, edns)


def name_end(data: bytes, pos: int) -> int | None:
    """Offset after the uncompressed name at ``pos``, or None if invalid.

    Labels of 1-63 bytes, 255 bytes at most, the root label last; no
    compression pointer, no extended label type (RFC 6891 5).
    """
    start = pos
    n = len(data)
    while pos < n:
        length = data[pos]
        if length == 0:
            return pos + 1 if pos + 1 - start <= MAX_NAME else None
        if length > MAX_LABEL:
            return None     # 0xc0 pointer, 0x40/0x80 extended types
        pos += 1 + length
        if pos - start >= MAX_NAME:
            return None
    return None


def _opt_version(data: bytes, pos: int) -> int | None:
    """The EDNS version of the OPT record that ends ``data`` at ``pos``."""
    if data[pos:pos + 1] != _ROOT or pos + 1 + _RR.size > len(data):
        return None
    rtype, _size, ttl, rdlen = _RR.unpack_from(data, pos + 1)
    if rtype != TYPE_OPT or pos + 1 + _RR.size + rdlen != len(data):
        return None
    return (ttl >> 16) & 0xff


def encode_name(host: str) -> bytes:
    """The wire form of a host name (lower-cased, no trailing dot).

    :raises ValueError: a label is empty or longer than 63 bytes, or the
        name is longer than 255 bytes in wire form.
    """
    labels = host.rstrip('.').lower().split('.')
    out = b''.join(bytes([len(lb)]) + lb.encode('ascii') for lb in labels
                   if 0 < len(lb) <= MAX_LABEL)
    out += _ROOT
    if len(out) != len(host.rstrip('.')) + 2 or len(out) > MAX_NAME:
        raise ValueError('not a valid DNS name: %r' % host)
    return out


def rr(rtype: int, ttl: int, rdata: bytes) -> bytes:
    """An answer record of class IN naming the question's name."""
    return _NAME_PTR + _RR.pack(rtype, CLASS_IN, ttl, len(rdata)) + rdata


def opt_record(ext_rcode: int = 0) -> bytes:
    """The OPT record of a response (version 0, no options)."""
    return _ROOT + _RR.pack(TYPE_OPT, UDP_PAYLOAD, ext_rcode << 24, 0)


def response(qid: int, query_flags: int, rcode: int, question: bytes = b'',
             answers: tuple[bytes, ...] = (), edns: bool = False,
             authoritative: bool = True) -> bytes:
    """A response message.

    The opcode and RD are copied from the query; RA is never set (no
    recursion). An extended ``rcode`` (above 15) needs ``edns``.

    :param question: the question's bytes to echo (``b''``: none).
    :param answers: encoded answer records (:func:`rr`).
    :param edns: append an OPT record (the query had one).
    """
    flags = (QR | (query_flags & (OPCODE_MASK | RD)) | (rcode & RCODE_MASK)
             | (AA if authoritative else 0))
    additional = opt_record(rcode >> 4) if edns else b''
    return (HEADER.pack(qid, flags, 1 if question else 0, len(answers), 0,
                        1 if edns else 0)
            + question + b''.join(answers) + additional)
