"""The DNS codec and the zone's answers: paired bytes, and scapy.

scapy's DNS layer is the independent implementation: it builds the
queries (including EDNS) and parses every answer.
"""

import struct

import pytest
from scapy.layers.dns import DNS
from scapy.layers.dns import DNSQR
from scapy.layers.dns import DNSRROPT

from vmetal_ironic.agent.dns import wire
from vmetal_ironic.agent.dns import zone

# A query for images.vmetal.test A, id 0x1234, RD (what dig sends,
# without EDNS), and the answer expected, byte for byte.
QUERY = bytes.fromhex('123401000001000000000000'
                      '06696d6167657306766d6574616c047465737400'
                      '00010001')
ANSWER = bytes.fromhex('1234850000010001000000000'
                       '6696d6167657306766d6574616c047465737400'
                       '00010001'
                       'c00c000100010000003c0004ac160002')

ZONE = zone.Zone(['images.vmetal.test', 'Ironic.VMETAL.test.'],
                 '172.22.0.2', 'fd00:22::2', 60)


def query(name='images.vmetal.test', qtype='A', qclass='IN', edns=None,
          **kw):
    """A query built by scapy."""
    extra = {}
    if edns is not None:
        extra['ar'] = DNSRROPT(rclass=4096, version=edns)
    return bytes(DNS(rd=1, qd=DNSQR(qname=name, qtype=qtype,
                                    qclass=qclass), **extra, **kw))


def answer(data):
    reply, _qtype, _result = ZONE.respond(data)
    return reply, DNS(reply)


def test_paired_bytes():
    assert ZONE.respond(QUERY) == (ANSWER, 'a', 'noerror')
    q = wire.parse(QUERY)
    assert (q.qid, q.flags, q.qtype, q.qclass, q.edns) == (
        0x1234, wire.RD, 1, 1, None)
    assert q.name == wire.encode_name('images.vmetal.test')
    assert q.question == QUERY[12:]


def test_scapy_a_aaaa_any():
    for qtype, want in (('A', ['172.22.0.2']), ('AAAA', ['fd00:22::2']),
                        (255, ['172.22.0.2', 'fd00:22::2'])):
        reply, r = answer(query(qtype=qtype))
        assert (r.qr, r.aa, r.ra, r.rd, r.rcode) == (1, 1, 0, 1, 0)
        assert [rr.rdata for rr in r.an] == want
        assert all(rr.ttl == 60 and rr.rrname == b'images.vmetal.test.'
                   for rr in r.an)


def test_case_insensitive_and_question_echoed_verbatim():
    data = query('IRONIC.vmetal.Test')
    reply, r = answer(data)
    assert r.rcode == 0 and r.an[0].rdata == '172.22.0.2'
    assert r.qd[0].qname == b'IRONIC.vmetal.Test.'
    assert reply[12:12 + len(data) - 12] == data[12:]


def test_nxdomain_nodata_refused():
    reply, r = answer(query('other.vmetal.test'))
    assert (r.rcode, r.aa, r.ancount, r.qdcount) == (3, 1, 0, 1)
    _reply, r = answer(query('vmetal.test'))
    assert r.rcode == 3
    assert ZONE.respond(query(qtype='MX'))[1:] == ('other', 'nodata')
    _reply, r = answer(query(qtype='MX'))
    assert (r.rcode, r.ancount) == (0, 0)
    _reply, r = answer(query(qclass='CH', qtype='TXT'))
    assert (r.rcode, r.aa) == (5, 0)


def test_nodata_for_a_family_not_configured():
    z = zone.Zone(['images.vmetal.test'], '172.22.0.2', None, 5)
    reply, _t, result = z.respond(query(qtype='AAAA'))
    assert result == 'nodata' and DNS(reply).ancount == 0


def test_edns_answered_with_opt_and_badvers():
    _reply, r = answer(query(edns=0))
    assert r.rcode == 0 and r.arcount == 1
    assert r.ar[0].type == 41 and r.ar[0].rclass == wire.UDP_PAYLOAD
    reply, _t, result = ZONE.respond(query(edns=1))
    assert result == 'badvers'
    r = DNS(reply)
    # extended RCODE 16 = header 0 + upper bits 1 in the OPT TTL
    assert r.rcode == 0 and r.ar[0].extrcode == 1 and r.ancount == 0


@pytest.mark.parametrize('data', [
    b'', b'\x12', QUERY[:11],                          # too short
    bytes([QUERY[0], QUERY[1], QUERY[2] | 0x80]) + QUERY[3:],  # QR=1
    QUERY + b'\0' * wire.MAX_QUERY,                    # too long
])
def test_garbage_gets_silence(data):
    assert ZONE.respond(data) == (None, 'other', 'garbage')


def test_other_opcodes_get_notimp():
    for opcode in (1, 2, 4, 5, 15):
        data = QUERY[:2] + struct.pack('!H', opcode << 11) + QUERY[4:]
        reply, _t, result = ZONE.respond(data)
        r = DNS(reply)
        assert (result, r.rcode, r.opcode, r.qr, r.qdcount) == (
            'notimp', 4, opcode, 1, 0)


def _header(qd=1, an=0, ns=0, ar=0, qid=7):
    return struct.pack('!HHHHHH', qid, 0x0100, qd, an, ns, ar)


NAME = wire.encode_name('images.vmetal.test')
TAIL = b'\x00\x01\x00\x01'


@pytest.mark.parametrize('data', [
    _header(qd=0),
    _header(qd=2) + NAME + TAIL + NAME + TAIL,
    _header(an=1) + NAME + TAIL,
    _header(ns=1) + NAME + TAIL,
    _header(ar=2) + NAME + TAIL,
    _header() + NAME + TAIL + b'x',                    # trailing bytes
    _header() + NAME + b'\x00\x01',                    # no QCLASS
    _header() + NAME[:-1],                             # no root label
    _header() + b'\xc0\x0c' + TAIL,                    # pointer to itself
    _header() + b'\x01a\xc0\x0c' + TAIL,               # pointer loop
    _header() + b'\x01a\xc0\x12' + TAIL,               # forward pointer
    _header() + b'\x41' + b'a' * 65 + b'\0' + TAIL,    # extended label
    _header() + b'\x40' + b'a' * 64 + b'\0' + TAIL,    # label of 64
    _header() + (b'\x3f' + b'a' * 63) * 4 + b'\0' + TAIL,   # 257 bytes
    _header(ar=1) + NAME + TAIL + b'\0\x00\x01\x00\x01' + bytes(6),  # no OPT
    _header(ar=1) + NAME + TAIL + b'\0\x00\x29\x10\x00' + bytes(4)
    + b'\x00\x05',                                     # OPT rdlen past end
])
def test_formerr(data):
    reply, _t, result = ZONE.respond(data)
    r = DNS(reply)
    assert (result, r.rcode, r.id, r.qr, r.qdcount, r.ancount) == (
        'formerr', 1, 7, 1, 0, 0)


def test_longest_names():
    name = (b'\x3f' + b'a' * 63) * 3 + b'\x3d' + b'b' * 61 + b'\0'
    assert len(name) == 255
    assert wire.name_end(name, 0) == 255
    assert wire.name_end(name[:-2] + b'\0', 0) is None   # cut label
    reply, _t, result = ZONE.respond(_header() + name + TAIL)
    assert result == 'nxdomain' and DNS(reply).qd[0].qname.startswith(
        b'aaa')


def test_encode_decode_names():
    assert wire.encode_name('A.b.') == b'\x01a\x01b\0'
    assert wire.decode_name(b'\x01a\x03b.c\0') == 'a.b\\046c.'
    assert wire.decode_name(b'\0') == '.'
    for bad in ('', '.', 'a..b', 'x' * 64 + '.test', 'é.test',
                '.'.join(['a' * 63] * 4)):
        with pytest.raises(ValueError):
            wire.encode_name(bad)


def test_zone_refuses_bad_addresses():
    with pytest.raises(ValueError):
        zone.Zone(['a.test'], 'fd00::1', None, 60)
    with pytest.raises(ValueError):
        zone.Zone(['a.test'], None, '10.0.0.1', 60)
