"""Unit tests of the TFTP codec and option negotiation."""

import pytest

from vmetal_ironic.agent.tftp import packet as pkt


def test_parse_rrq_with_options():
    data = (b'\x00\x01snponly.efi\x00octet\x00blksize\x001468\x00'
            b'TSIZE\x000\x00windowsize\x004\x00')
    req = pkt.parse_request(data)
    assert req.opcode == pkt.OP_RRQ
    assert req.filename == 'snponly.efi'
    assert req.mode == 'octet'
    assert req.options == {'blksize': '1468', 'tsize': '0',
                           'windowsize': '4'}


def test_parse_wrq_and_mode_case():
    req = pkt.parse_request(b'\x00\x02a\x00NetASCII\x00')
    assert req.opcode == pkt.OP_WRQ
    assert req.mode == 'netascii'


def test_build_request_round_trip():
    data = pkt.build_request(pkt.OP_RRQ, 'x/y', 'octet', {'blksize': 512})
    assert pkt.parse_request(data) == pkt.Request(
        pkt.OP_RRQ, 'x/y', 'octet', {'blksize': '512'})


@pytest.mark.parametrize('data', [
    b'', b'\x00\x01', b'\x00\x03abc\x00octet\x00',
    b'\x00\x01abc\x00octet',             # no final NUL
    b'\x00\x01abc\x00',                   # no mode
    b'\x00\x01\x00octet\x00',             # empty name
    b'\x00\x01abc\x00bogus\x00',          # unknown mode
    b'\x00\x01ab\xffc\x00octet\x00',      # not ASCII
    b'\x00\x01abc\x00octet\x00blksize\x00',  # odd option fields
])
def test_parse_request_rejects(data):
    with pytest.raises(pkt.PacketError):
        pkt.parse_request(data)


def test_ack_and_error_codec():
    assert pkt.parse_ack(pkt.build_ack(70000)) == 70000 & 0xFFFF
    assert pkt.parse_error(pkt.build_error(2, 'Access violation')) == (
        2, 'Access violation')
    with pytest.raises(pkt.PacketError):
        pkt.parse_ack(b'\x00\x04')
    with pytest.raises(pkt.PacketError):
        pkt.parse_ack(pkt.build_error(1, 'x'))
    with pytest.raises(pkt.PacketError):
        pkt.parse_error(pkt.build_ack(1))


def test_build_data_rolls_over():
    assert pkt.build_data(65536, b'x') == b'\x00\x03\x00\x00x'
    assert pkt.build_data(65537, b'') == b'\x00\x03\x00\x01'


def test_build_oack():
    assert pkt.build_oack({'blksize': '1468', 'tsize': '10'}) == (
        b'\x00\x06blksize\x001468\x00tsize\x0010\x00')


def test_negotiate_all_options():
    nego = pkt.negotiate({'blksize': '1468', 'tsize': '0', 'timeout': '3',
                          'windowsize': '8'}, 4242, 1.0)
    assert (nego.blksize, nego.timeout, nego.windowsize) == (1468, 3.0, 8)
    assert nego.oack == {'blksize': '1468', 'tsize': '4242',
                         'timeout': '3', 'windowsize': '8'}


def test_negotiate_none_means_no_oack():
    nego = pkt.negotiate({}, 10, 1.5)
    assert (nego.blksize, nego.timeout, nego.windowsize) == (512, 1.5, 1)
    assert nego.oack == {}


def test_negotiate_clamps_and_ignores_invalid():
    nego = pkt.negotiate({'blksize': '99999', 'windowsize': '1000',
                          'timeout': '0', 'tsize': 'abc', 'foo': '1'},
                         10, 1.0, max_blksize=1400, max_windowsize=16)
    assert nego.oack == {'blksize': '1400', 'windowsize': '16'}
    assert nego.timeout == 1.0
    assert pkt.negotiate({'blksize': '7'}, 1, 1.0).oack == {}
    assert pkt.negotiate({'windowsize': '0'}, 1, 1.0).oack == {}
    assert pkt.negotiate({'timeout': '256'}, 1, 1.0).oack == {}


def test_negotiate_tsize_unknown_is_not_acknowledged():
    assert pkt.negotiate({'tsize': '0'}, None, 1.0).oack == {}


def test_netascii():
    assert pkt.to_netascii(b'a\nb\rc') == b'a\r\nb\r\0c'
