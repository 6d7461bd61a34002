"""Which MAC a DHCPv6 client is (DUID, option 79, EUI-64)."""

import socket

from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_packets as p
from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.dhcp6 import ident

M1 = p.mac_bytes(p.MAC1)


def test_mac_from_duid_ll_and_llt_only():
    assert ident.mac_from_duid(bytes(s6.DUID_LL(lladdr=p.MAC1))) == M1
    assert ident.mac_from_duid(bytes(s6.DUID_LLT(lladdr=p.MAC1,
                                                 timeval=5))) == M1
    assert ident.mac_from_duid(bytes(s6.DUID_EN(id=b'x' * 6))) is None
    assert ident.mac_from_duid(p.DUID3) is None
    # an InfiniBand (32) link-layer DUID is not an Ethernet MAC
    assert ident.mac_from_duid(b'\x00\x03\x00\x20' + bytes(6)) is None
    assert ident.mac_from_duid(b'\x00\x03\x00\x01' + bytes(5)) is None


def test_eui64_round_trip_and_non_eui64():
    ll = ident.eui64_link_local(M1)
    assert socket.inet_ntop(socket.AF_INET6, ll) == 'fe80::5054:ff:fe00:1'
    assert ident.mac_from_eui64(ll) == M1
    stable = socket.inet_pton(socket.AF_INET6, 'fe80::1c2d:3e4f:5a6b:7c8d')
    assert ident.mac_from_eui64(stable) is None
    glob = socket.inet_pton(socket.AF_INET6, 'fd00::5054:ff:fe00:1')
    assert ident.mac_from_eui64(glob) is None


def test_candidates_order_duid_then_option79_then_peer():
    msg = p.relayed(p.solicit(), peer=p.link_local(p.MAC3), extra=[
        s6.DHCP6OptClientLinkLayerAddr(clladdr=p.MAC2)])
    got = ident.candidate_macs(codec.parse(bytes(msg)), None)
    assert got == [(M1, 'duid'), (p.mac_bytes(p.MAC2), 'option-79'),
                   (p.mac_bytes(p.MAC3), 'eui-64')]
    direct = codec.parse(bytes(p.solicit(duid=s6.DUID_EN(id=b'abc'))))
    src = socket.inet_pton(socket.AF_INET6, p.link_local(p.MAC2))
    assert ident.candidate_macs(direct, src) == [(p.mac_bytes(p.MAC2),
                                                  'eui-64')]
