"""The DHCPv6 codec against messages built by scapy."""

import pytest
from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_packets as p
from vmetal_ironic.agent.dhcp6 import codec


def test_parse_solicit():
    m = codec.parse(bytes(p.solicit(extra=[
        s6.DHCP6OptOptReq(reqopts=[23, 24, 59]),
        s6.DHCP6OptClientArchType(archtypes=[7]),
        s6.DHCP6OptVendorClass(enterprisenum=343, vcdata=[
            s6.VENDOR_CLASS_DATA(data=b'HTTPClient:Arch:00016')])])))
    assert m.msg_type == codec.SOLICIT and m.xid == b'\x12\x34\x56'
    assert m.client_id == bytes(p.duid_ll())
    assert m.oro() == {23, 24, 59}
    assert codec.client_arch(m) == 7
    assert [ia.iaid for ia in m.ia_nas()] == [b'\0\0\0\x07']
    assert len(m.vendor_classes) == 1 and not m.relays


def test_parse_relay_chain_keeps_every_hop():
    inner = p.relayed(p.solicit(), extra=[
        s6.DHCP6OptIfaceId(ifaceid=b'port-7'),
        s6.DHCP6OptClientLinkLayerAddr(clladdr=p.MAC2)])
    outer = s6.DHCP6_RelayForward(hopcount=1, linkaddr='::',
                                  peeraddr='fd00:1::1') / \
        s6.DHCP6OptRelayMsg(message=inner)
    m = codec.parse(bytes(outer))
    assert [r.hop_count for r in m.relays] == [1, 0]
    assert m.relays[1].interface_id == b'port-7'
    reply = codec.build(codec.REPLY, m.xid, b'', m.relays)
    rr = s6.DHCP6_RelayReply(reply)
    assert rr.hopcount == 1 and rr.peeraddr == 'fd00:1::1'
    inner_rr = rr[s6.DHCP6OptRelayMsg].message
    assert inner_rr.hopcount == 0
    assert inner_rr[s6.DHCP6OptIfaceId].ifaceid == b'port-7'


@pytest.mark.parametrize('data, why', [
    (b'\x01\x00\x00', 'short'),
    (b'\x02\x00\x00\x01', 'not from a client'),
    (b'\x07\x00\x00\x01', 'not from a client'),
    (b'\x01\x00\x00\x01\x00\x01\x00\x10\x00', 'truncated'),
    (b'\x01\x00\x00\x01\x00\x01', 'truncated'),
    (b'\x01\x00\x00\x01\x00\x01\x00\x01\x00', 'DUID'),
    (b'\x01\x00\x00\x01\x00\x08\x00\x01\x00', 'option 8 of 1'),
    (b'\x01\x00\x00\x01\x00\x0e\x00\x01\x00', 'option 14'),
    (b'\x01\x00\x00\x01\x00\x06\x00\x03\x00\x17\x00', 'option 6'),
    (b'\x01\x00\x00\x01\x00\x03\x00\x04\x00\x00\x00\x01', 'IA option 3'),
    (b'\x01\x00\x00\x01\x00\x09\x00\x00', 'relay option'),
    (b'\x0c' + bytes(32), 'short Relay-forward'),
    (b'\x0c' + bytes(33) + b'\x00\x12\x00\x00', 'without a relay message'),
    (bytes(4097), 'more than'),
])
def test_malformed(data, why):
    with pytest.raises(codec.MalformedPacket, match=why):
        codec.parse(data)


def test_repeated_singleton_and_bad_ia_are_malformed():
    base = p.solicit()
    with pytest.raises(codec.MalformedPacket, match='repeated'):
        codec.parse(bytes(base / s6.DHCP6OptClientId(duid=p.duid_ll())))
    with pytest.raises(codec.MalformedPacket, match='T1'):
        codec.parse(bytes(p.solicit(ia=False) / s6.DHCP6OptIA_NA(
            iaid=1, T1=100, T2=50)))
    with pytest.raises(codec.MalformedPacket, match='IAADDR'):
        codec.parse(bytes(p.solicit(ia=False)) + codec.opt(
            codec.OPT_IA_NA, bytes(12) + codec.opt(codec.OPT_IAADDR,
                                                   bytes(10))))
    with pytest.raises(codec.MalformedPacket, match='user class'):
        codec.parse(bytes(base) + codec.opt(codec.OPT_USER_CLASS, b'\0\x09a'))


def test_relay_depth_is_bounded():
    msg = p.solicit()
    for _ in range(codec.HOP_COUNT_LIMIT):
        msg = p.relayed(msg)
    assert len(codec.parse(bytes(msg)).relays) == codec.HOP_COUNT_LIMIT
    with pytest.raises(codec.MalformedPacket, match='relays'):
        codec.parse(bytes(p.relayed(msg)))


def test_domain_list_is_what_scapy_reads():
    raw = codec.opt(codec.OPT_DOMAIN_LIST,
                    codec.domain_list(('prov.example', 'b.example.')))
    assert s6.DHCP6OptDNSDomains(raw).dnsdomains == ['prov.example.',
                                                     'b.example.']
