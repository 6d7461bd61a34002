"""Codec tests: paired bytes and objects, packets built by scapy."""

import struct

import pytest
from scapy.layers.dhcp import BOOTP
from scapy.layers.dhcp import DHCP

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.dhcp import codec


def test_parse_scapy_discover():
    data = helpers.request(options=[('param_req_list', [1, 3, 6]),
                                    ('client_id', b'\x01abcdef'),
                                    ('max_dhcp_size', 1500)],
                           xid=0xdeadbeef, giaddr='10.0.0.1', flags=0x8000)
    req = codec.parse(data)
    assert req.msg_type == codec.DISCOVER
    assert req.xid == 0xdeadbeef
    assert req.chaddr == helpers.mac_bytes(helpers.MAC1)
    assert req.mac == helpers.MAC1
    assert req.giaddr == bytes([10, 0, 0, 1])
    assert req.flags == 0x8000
    assert req.options[codec.OPT_PRL] == bytes([1, 3, 6])
    assert req.options[codec.OPT_CLIENT_ID] == b'\x01abcdef'
    assert req.max_size() == 1500 - 28


def test_max_size_floor_and_default():
    req = codec.parse(helpers.request(options=[('max_dhcp_size', 300)]))
    assert req.max_size() == 576 - 28
    assert codec.parse(helpers.request()).max_size() == 576 - 28


@pytest.mark.parametrize('mutate,reason', [
    (lambda d: d[:200], 'short'),
    (lambda d: b'\x02' + d[1:], 'BOOTREQUEST'),
    (lambda d: d[:236] + b'\0\0\0\0' + d[240:], 'magic'),
    (lambda d: d[:240] + b'\x35\x05\x01', 'truncated'),
    (lambda d: d[:240] + b'\x0c\x01x\xff', 'message type'),
    (lambda d: d[:240] + b'\x35', 'truncated'),
    (lambda d: d[:2] + b'\x20' + d[3:], 'hlen'),
    (lambda d: d[:240] + b'\x34\x01\x07\x35\x01\x01\xff', 'overload'),
])
def test_parse_rejects(mutate, reason):
    with pytest.raises(codec.MalformedPacket, match=reason):
        codec.parse(mutate(helpers.request()))


def test_parse_pads_and_repeated_option_concatenated():
    data = helpers.request()
    data = data[:240] + (b'\0\0\x35\x01\x03\x0c\x02no\x0c\x03de1\xff')
    req = codec.parse(data)
    assert req.msg_type == codec.REQUEST
    assert req.options[codec.OPT_HOSTNAME] == b'node1'   # RFC 3396


def test_parse_overloaded_file_and_sname():
    data = bytearray(helpers.request())
    data[108:112] = b'\x0c\x02ab'          # hostname in the file field
    data[108 + 4] = 255
    data[44:49] = b'\x0f\x03dom'           # domain in sname
    data[49] = 255
    data = bytes(data[:240]) + b'\x35\x01\x01\x34\x01\x03\xff'
    req = codec.parse(data)
    assert req.options[codec.OPT_HOSTNAME] == b'ab'
    assert req.options[codec.OPT_DOMAIN] == b'dom'


def test_build_reply_read_by_scapy():
    req = codec.parse(helpers.request(xid=77, giaddr='10.1.0.1',
                                      flags=0x8000, hops=1))
    body = codec.opt(codec.OPT_SERVER_ID, bytes([172, 22, 0, 2])) + \
        codec.opt_u32(codec.OPT_LEASE_TIME, 1800)
    raw = codec.build_reply(req, codec.OFFER, bytes([172, 22, 0, 50]),
                            bytes([172, 22, 0, 2]), b'undionly.kpxe', body)
    b = BOOTP(raw)
    assert (b.op, b.xid, b.hops, b.flags) == (2, 77, 0, 0x8000)
    assert b.yiaddr == '172.22.0.50'
    assert b.siaddr == '172.22.0.2'
    assert b.giaddr == '10.1.0.1'
    assert b.chaddr[:6] == helpers.mac_bytes(helpers.MAC1)
    assert b.file.rstrip(b'\0') == b'undionly.kpxe'
    opts = dict(o for o in b[DHCP].options if isinstance(o, tuple))
    assert opts['message-type'] == 2
    assert opts['server_id'] == '172.22.0.2'
    assert opts['lease_time'] == 1800


def test_nak_clears_ciaddr():
    req = codec.parse(helpers.request(msg='request', ciaddr='1.2.3.4'))
    raw = codec.build_reply(req, codec.NAK, codec.ZERO4, codec.ZERO4, b'',
                            b'')
    assert raw[12:16] == codec.ZERO4
    raw = codec.build_reply(req, codec.ACK, codec.ZERO4, codec.ZERO4, b'',
                            b'')
    assert raw[12:16] == bytes([1, 2, 3, 4])


def test_opt_encodings():
    assert codec.opt(12, b'abc') == b'\x0c\x03abc'
    assert codec.opt_u32(51, 3600) == b'\x33\x04' + struct.pack('!I', 3600)
    assert codec.opt_u16(26, 9000) == b'\x1a\x02\x23\x28'
    long = codec.opt(67, b'x' * 300)
    assert long[:2] == b'\x43\xff' and long[257:259] == b'\x43\x2d'


def test_classless_routes_rfc3442_examples():
    routes = [(bytes([10, 0, 0, 0]), 8, bytes([192, 168, 1, 254])),
              (bytes([10, 17, 0, 0]), 16, bytes([10, 0, 0, 1])),
              (codec.ZERO4, 0, bytes([192, 168, 1, 1]))]
    assert codec.classless_routes(routes) == bytes(
        [121, 18, 8, 10, 192, 168, 1, 254, 16, 10, 17, 10, 0, 0, 1,
         0, 192, 168, 1, 1])


def test_client_arch():
    assert codec.client_arch({93: b'\x00\x07'}) == 7
    assert codec.client_arch({93: b'\x00\x0b\x00\x07'}) == 11
    assert codec.client_arch({93: b'\x07'}) is None
    assert codec.client_arch({}) is None
