"""The DHCPv6 pipeline (parse, screen, lookup, answer) without sockets;
replies are decoded by scapy."""

from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_packets as p
from vmetal_ironic.agent.dhcp6 import codec

RELAY_SRC = ('fd00:1::1', 547, 0, 2)


def answer(srv, pkt, src=None):
    out = srv.handle(bytes(pkt), src or p.src())
    if out is None:
        return None, None
    return out[0], s6.DHCP6(out[1])


def test_solicit_advertise_with_reserved_address_and_options():
    srv = p.make_server()
    t, adv = answer(srv, p.solicit(extra=[s6.DHCP6OptOptReq(reqopts=[23])]))
    assert t == codec.ADVERTISE
    assert adv[s6.DHCP6OptIAAddress].addr == p.IP1
    assert adv[s6.DHCP6OptIAAddress].validlft == 1800
    assert adv[s6.DHCP6OptIA_NA].iaid == 7
    assert (adv[s6.DHCP6OptIA_NA].T1, adv[s6.DHCP6OptIA_NA].T2) == (900, 1440)
    assert adv[s6.DHCP6OptPref].prefval == 255
    assert adv[s6.DHCP6OptDNSServers].dnsservers == [p.DNS6]
    assert s6.DHCP6OptDNSDomains not in adv      # not in the ORO
    assert bytes(adv[s6.DHCP6OptServerId].duid) == p.SERVER_DUID
    assert bytes(adv[s6.DHCP6OptClientId].duid) == bytes(p.duid_ll())


def test_rapid_commit_only_when_allowed():
    rc = p.solicit(extra=[s6.DHCP6OptRapidCommit()])
    t, rep = answer(p.make_server(), rc)
    assert t == codec.REPLY and s6.DHCP6OptRapidCommit in rep
    t, adv = answer(p.make_server(rapid_commit=False), rc)
    assert t == codec.ADVERTISE and s6.DHCP6OptRapidCommit not in adv


def test_solicit_without_ia_na_gets_no_addrs_avail():
    t, adv = answer(p.make_server(), p.solicit(ia=False))
    assert t == codec.ADVERTISE
    assert adv[s6.DHCP6OptStatusCode].statuscode == codec.NO_ADDRS_AVAIL
    assert s6.DHCP6OptIA_NA not in adv


def test_request_renew_rebind_withdraw_other_addresses():
    srv = p.make_server()
    for cls in (s6.DHCP6_Request, s6.DHCP6_Renew):
        t, rep = answer(srv, p.with_server(cls, addrs=(p.OTHER, p.IP1)))
        assert t == codec.REPLY
        addrs = {a.addr: a.validlft for a in
                 rep[s6.DHCP6OptIA_NA].ianaopts}
        assert addrs == {p.IP1: 1800, p.OTHER: 0}
    rebind = (s6.DHCP6_Rebind(trid=1) / s6.DHCP6OptClientId(duid=p.duid_ll())
              / s6.DHCP6OptIA_NA(iaid=7, ianaopts=[
                  s6.DHCP6OptIAAddress(addr=p.IP1)]))
    t, rep = answer(srv, rebind)
    assert t == codec.REPLY and rep[s6.DHCP6OptIAAddress].addr == p.IP1


def test_second_ia_na_ia_pd_and_ia_ta_get_status():
    pkt = p.solicit(extra=[s6.DHCP6OptIA_NA(iaid=8), s6.DHCP6OptIA_PD(iaid=9),
                           s6.DHCP6OptIA_TA(iaid=10)])
    t, adv = answer(p.make_server(), pkt)
    raw = bytes(adv)
    assert raw.count(codec.status(codec.NO_ADDRS_AVAIL, 'no more addresses')) \
        == 2
    assert codec.status(6, 'no prefixes') in raw
    assert adv[s6.DHCP6OptIAAddress].addr == p.IP1


def test_server_identifier_rules():
    srv = p.make_server()
    assert answer(srv, p.with_server(s6.DHCP6_Request,
                                     server_duid=b'\0\3\0\1' + bytes(6)))[0] \
        is None
    no_sid = (s6.DHCP6_Request(trid=1) / s6.DHCP6OptClientId(
        duid=p.duid_ll()) / s6.DHCP6OptIA_NA(iaid=7))
    assert answer(srv, no_sid)[0] is None
    assert answer(srv, p.solicit() / s6.DHCP6OptServerId(
        duid=s6.DUID_LL(lladdr='02:00:00:00:00:02')))[0] is None
    assert answer(srv, s6.DHCP6_Solicit(trid=1)
                  / s6.DHCP6OptIA_NA(iaid=1))[0] is None      # no client id
    assert srv.stats['malformed'] == 0


def test_confirm_release_decline_information_request():
    srv = p.make_server()
    confirm = (s6.DHCP6_Confirm(trid=1) / s6.DHCP6OptClientId(
        duid=p.duid_ll()) / s6.DHCP6OptIA_NA(iaid=7, ianaopts=[
            s6.DHCP6OptIAAddress(addr=p.IP1)]))
    t, rep = answer(srv, confirm)
    assert rep[s6.DHCP6OptStatusCode].statuscode == codec.SUCCESS
    off = (s6.DHCP6_Confirm(trid=1) / s6.DHCP6OptClientId(duid=p.duid_ll())
           / s6.DHCP6OptIA_NA(iaid=7, ianaopts=[
               s6.DHCP6OptIAAddress(addr='fd00:9::1')]))
    t, rep = answer(srv, off)
    assert rep[s6.DHCP6OptStatusCode].statuscode == codec.NOT_ON_LINK
    empty = s6.DHCP6_Confirm(trid=1) / s6.DHCP6OptClientId(duid=p.duid_ll())
    assert answer(srv, empty)[0] is None
    for cls in (s6.DHCP6_Release, s6.DHCP6_Decline):
        t, rep = answer(srv, p.with_server(cls))
        assert t == codec.REPLY
        assert rep[s6.DHCP6OptStatusCode].statuscode == codec.SUCCESS
    info = s6.DHCP6_InfoRequest(trid=1) / s6.DHCP6OptClientId(
        duid=p.duid_ll())
    t, rep = answer(srv, info)
    assert t == codec.REPLY and s6.DHCP6OptIA_NA not in rep
    assert rep[s6.DHCP6OptDNSDomains].dnsdomains == ['prov.example.']
    assert answer(srv, info / s6.DHCP6OptIA_NA(iaid=1))[0] is None


def test_lookup_by_eui64_and_by_duid_reservation_and_unknown():
    srv = p.make_server()
    en = s6.DUID_EN(enterprisenum=9, id=b'abcdef')
    t, adv = answer(srv, p.solicit(duid=en), src=p.src(p.MAC2))
    assert adv[s6.DHCP6OptIAAddress].addr == p.IP2
    uuid = s6.DUID_UUID(p.DUID3)
    t, adv = answer(srv, p.solicit(duid=uuid),
                    src=('fe80::1c2d:3e4f:5a6b:7c8d', 546, 0, 2))
    assert adv[s6.DHCP6OptIAAddress].addr == p.IP3
    assert answer(srv, p.solicit(duid=en),
                  src=('fe80::1c2d:3e4f:5a6b:7c8d', 546, 0, 2))[0] is None
    assert srv.stats['unknown'] == 1


def test_direct_messages_must_come_from_link_local():
    srv = p.make_server()
    assert answer(srv, p.solicit(), src=('fd00:1::77', 546, 0, 0))[0] is None


def test_relayed_reply_and_link_address_check():
    srv = p.make_server()
    relayed = p.relayed(p.solicit(duid=s6.DUID_EN(id=b'zz')),
                        peer=p.link_local(p.MAC2),
                        extra=[s6.DHCP6OptIfaceId(ifaceid=b'eth7')])
    out = srv.handle(bytes(relayed), RELAY_SRC)
    rr = s6.DHCP6_RelayReply(out[1])
    assert rr.peeraddr == p.link_local(p.MAC2)
    assert rr[s6.DHCP6OptIfaceId].ifaceid == b'eth7'
    assert rr[s6.DHCP6OptIAAddress].addr == p.IP2
    # option 79 of the relay names the client
    by79 = p.relayed(p.solicit(duid=s6.DUID_EN(id=b'zz')),
                     peer='fe80::1c2d:3e4f:5a6b:7c8d', link='::',
                     extra=[s6.DHCP6OptClientLinkLayerAddr(clladdr=p.MAC1)])
    rr = s6.DHCP6_RelayReply(srv.handle(bytes(by79), RELAY_SRC)[1])
    assert rr[s6.DHCP6OptIAAddress].addr == p.IP1
    far = p.relayed(p.solicit(), link='fd00:99::1')
    assert srv.handle(bytes(far), RELAY_SRC) is None


def test_netboot_by_client_kind():
    srv = p.make_server()

    def url(extra, mac=p.MAC1):
        _, adv = answer(srv, p.solicit(duid=p.duid_ll(mac), extra=extra))
        opt = adv.getlayer(s6.DHCP6OptBootFileUrl)
        return None if opt is None else opt.optdata.decode(), adv

    ipxe = [s6.DHCP6OptUserClass(userclassdata=[
        s6.USER_CLASS_DATA(data=b'iPXE')])]
    assert url(ipxe)[0] == 'http://[fd00:1::2]:8080/boot.ipxe'
    pxe = [s6.DHCP6OptClientArchType(archtypes=[7])]
    assert url(pxe)[0] == 'tftp://[fd00:1::2]/snponly.efi'
    assert url([s6.DHCP6OptClientArchType(archtypes=[11])])[0] == \
        'tftp://[fd00:1::2]/snponly-arm64.efi'
    http = [s6.DHCP6OptVendorClass(enterprisenum=343, vcdata=[
        s6.VENDOR_CLASS_DATA(data=b'HTTPClient:Arch:00016')])] + [
        s6.DHCP6OptClientArchType(archtypes=[16])]
    got, adv = url(http)
    assert got == 'http://[fd00:1::2]:8080/snponly.efi'
    assert adv[s6.DHCP6OptVendorClass].vcdata[0].data == b'HTTPClient'
    assert url([])[0] is None
    # MAC2's own iPXE URL names an IPv4 literal: the IPv6 default wins;
    # its boot file (Ironic's bootfile) wins over the architecture's.
    assert url(ipxe, p.MAC2)[0] == 'http://[fd00:1::2]:8080/boot.ipxe'
    assert url(pxe, p.MAC2)[0] == 'tftp://[fd00:1::2]/custom.efi'


def test_oversized_reply_is_dropped():
    long_domain = {'mac': '52:54:00:00:00:09', 'ip': 'fd00:1::59',
                   'domain': '.'.join(['a' * 60] * 4)}
    srv = p.make_server(max_payload=1232)
    srv.table = p.table([long_domain])
    pkt = p.solicit(duid=p.duid_ll('52:54:00:00:00:09'))
    for _ in range(8):
        pkt = p.relayed(pkt, extra=[s6.DHCP6OptIfaceId(ifaceid=b'x' * 100)])
    assert srv.handle(bytes(pkt), RELAY_SRC) is None
