"""A fuzzer of the DNS responder (:class:`~vmetal_ironic.agent.dns.zone.Zone`).

The oracle is a strict reading of RFC 1035 4.1 written here (header,
one question of uncompressed labels, at most one additional record that
must be an OPT record, RFC 6891) with the responder's documented
decisions (doc/dns.md): silence for datagrams shorter than a header,
longer than 1232 bytes or with QR set; NOTIMP for other opcodes; FORMERR
for anything else it cannot read; BADVERS for EDNS versions other than 0;
REFUSED for classes other than IN and ANY; NXDOMAIN for names outside the
zone. scapy parses every answer as the independent decoder.

Properties checked on every datagram: ``respond`` never raises; it is
silent exactly when the oracle says so; otherwise the answer's RCODE is
the oracle's, its id and opcode are the query's, QR is set, RA is not,
and an answer with a question echoes the query's question bytes.
"""

import random
import struct

from scapy.layers.dns import DNS
from scapy.layers.dns import DNSQR
from scapy.layers.dns import DNSRROPT

from vmetal_ironic.agent.dns import zone

NAMES = ('images.vmetal.test', 'ironic.vmetal.test')
OTHER = ('vmetal.test', 'x.images.vmetal.test', 'example.org', 'a',
         'IMAGES.VMETAL.TEST', 'Ironic.Vmetal.Test.')


class Violation(AssertionError):
    """A property of the responder does not hold."""


def make_zone():
    return zone.Zone(NAMES, '172.22.0.2', 'fd00:22::2', 60)


def expected(data):
    """(rcode or None for silence, question bytes or None) per the RFCs."""
    if len(data) < 12 or len(data) > 1232:
        return None, None
    flags = int.from_bytes(data[2:4], 'big')
    counts = [int.from_bytes(data[i:i + 2], 'big') for i in (4, 6, 8, 10)]
    if flags & 0x8000:
        return None, None
    if (flags >> 11) & 0xf:
        return 4, None
    if counts[0] != 1 or counts[1] or counts[2] or counts[3] > 1:
        return 1, None
    i, labels = 12, []
    while True:
        if i >= len(data):
            return 1, None
        n = data[i]
        if n == 0:
            i += 1
            break
        if n & 0xc0:
            return 1, None
        labels.append(data[i + 1:i + 1 + n])
        i += 1 + n
        if i - 12 >= 255:
            return 1, None
    if i + 4 > len(data) or i - 12 > 255:
        return 1, None
    qclass = int.from_bytes(data[i + 2:i + 4], 'big')
    question = data[12:i + 4]
    rest = data[i + 4:]
    version = None
    if counts[3]:
        if (len(rest) < 11 or rest[0] != 0
                or rest[1:3] != b'\x00\x29'
                or int.from_bytes(rest[9:11], 'big') != len(rest) - 11):
            return 1, None
        version = rest[6]
    elif rest:
        return 1, None
    if version not in (None, 0):
        return 16, None
    if qclass not in (1, 255):
        return 5, question
    # RFC 4343: ASCII letters compare case-insensitively, no other byte
    wanted = {tuple(n.encode().split(b'.')) for n in NAMES}
    got = tuple(bytes(c + 32 if 65 <= c <= 90 else c for c in lb)
                for lb in labels)
    return (0 if got in wanted else 3), question


def check(z, data, decode=True):
    """Answer ``data``, check the properties; returns the result label."""
    try:
        reply, _qtype, result = z.respond(data)
    except Exception as e:
        raise Violation('respond raised %r on %s' % (e, data.hex()))
    rcode, question = expected(data)
    if rcode is None:
        if reply is not None:
            raise Violation('answered garbage %s' % data.hex())
        return result
    if reply is None:
        raise Violation('silent, expected rcode %d: %s' % (rcode, data.hex()))
    flags = int.from_bytes(reply[2:4], 'big')
    got = (flags & 0xf) | (16 if rcode == 16 and reply[-6] == 1 else 0)
    if got != rcode:
        raise Violation('rcode %d, expected %d: %s' % (got, rcode,
                                                       data.hex()))
    if reply[:2] != data[:2] or not flags & 0x8000 or flags & 0x0080 \
            or (flags ^ int.from_bytes(data[2:4], 'big')) & 0x7800:
        raise Violation('bad header %s for %s' % (reply[:4].hex(),
                                                  data.hex()))
    if question is not None and reply[12:12 + len(question)] != question:
        raise Violation('question not echoed: %s' % data.hex())
    if decode:
        r = DNS(reply)
        if r.id != int.from_bytes(data[:2], 'big') or r.qr != 1:
            raise Violation('scapy reads %r for %s' % (r, data.hex()))
        if rcode == 0 and question is not None and r.ancount and \
                r.an[0].rrname.lower().rstrip(b'.').decode() not in NAMES:
            raise Violation('answer for another name: %r' % r)
    return result


def seeds(rng):
    """Valid queries built by scapy."""
    out = []
    for name in NAMES + OTHER:
        for qtype in (1, 28, 255, 15, 65, 16):
            for qclass in (1, 255, 3):
                extra = {}
                if rng.random() < 0.5:
                    extra['ar'] = DNSRROPT(rclass=rng.choice((512, 4096)),
                                           version=rng.choice((0, 0, 1)))
                out.append(bytes(DNS(id=rng.getrandbits(16),
                                     rd=rng.getrandbits(1),
                                     qd=DNSQR(qname=name, qtype=qtype,
                                              qclass=qclass), **extra)))
    return out


def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        elif op == 1:
            del b[rng.randrange(len(b) + 1):]
        elif op == 2:
            b += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
        elif op == 3 and len(b) > 13:
            # a compression pointer somewhere in the question
            at = rng.randrange(12, len(b) - 1)
            b[at:at + 2] = struct.pack('!H', 0xc000 | rng.randrange(64))
        elif op == 4 and len(b) >= 12:
            at = rng.choice((4, 6, 8, 10))
            b[at:at + 2] = struct.pack('!H', rng.choice((0, 1, 2, 0xffff)))
        elif op == 5 and len(b) >= 4:
            b[2] = rng.getrandbits(8)
        elif op == 6 and len(b) > 12:
            # a label length byte of any value
            b[12] = rng.choice((0, 63, 64, 0x40, 0x80, 0xc0, 0xff))
    return bytes(b)


def run(count, seed, z=None, decode_every=10):
    """``count`` datagrams; returns {result label: how many}."""
    rng = random.Random(seed)
    z = z or make_zone()
    pool = seeds(rng)
    stats = {}
    for i in range(count):
        r = rng.random()
        if r < 0.1:
            data = bytes(rng.getrandbits(8)
                         for _ in range(rng.randrange(40)))
        elif r < 0.2:
            data = rng.choice(pool)
        else:
            data = mutate(rng, rng.choice(pool))
        result = check(z, data, decode=i % decode_every == 0)
        stats[result] = stats.get(result, 0) + 1
    return stats
