"""IPv6 reservations from the same sources as IPv4: IPAM and the file."""

import pytest
from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_packets as p
from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.dhcp6 import handlers
from vmetal_ironic.agent.dhcp6.hosts import Host6
from vmetal_ironic.agent.dhcp6 import netboot
from vmetal_ironic.agent.dhcp6 import server
from vmetal_ironic.agent.sources import file as file_source
from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources import ipam as ipam_source
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic.ipam import records

POOL4 = records.Pool(name='prov', version=4, cidr='172.22.0.0/24',
                     prefixlen=24, netmask='255.255.255.0',
                     gateway='172.22.0.1')
POOL6 = records.Pool(name='v6', version=6, cidr='fd00:1::/64', prefixlen=64,
                     netmask='64', gateway='fd00:1::1',
                     dns_servers=(p.DNS6,), domain='prov.example')
NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


def res(mac, addr, gen, pool='v6', **kw):
    return records.Reservation(mac=mac, node_uuid=NODE, pool=pool,
                               address=addr, generation=gen, **kw)


def test_ipam_reservations_of_an_ipv6_pool(fake_feed):
    table = reservations.Table()
    src = ipam_source.IpamSource(table, fake_feed, 3600, {}, 60,
                                 boot_defaults6=p.BOOT6)
    profile = BootProfile(bootfile='shim.efi',
                          ipxe_script_url='http://172.22.0.9/boot.ipxe',
                          http_boot_url='http://[fd00:1::9]/x.efi')
    fake_feed.sets.append(records.ChangeSet(5, True, [POOL4, POOL6], [
        res(p.MAC1, p.IP1, 3, boot_profile=profile, hostname='node-1',
            client_id=p.DUID3.hex(':')),
        res(p.MAC2, '172.22.0.51', 4, pool='prov')]))
    src.sync()
    assert len(table) == 1 and len(table.by_mac6) == 1
    h = table.by_mac6[p.mac_bytes(p.MAC1)]
    assert isinstance(h, Host6) and h.address == p.IP1
    assert h.net.prefixlen == 64 and h.net.dns == (
        bytes.fromhex('fd000001' + '0' * 20 + '0053'),)
    assert h.net.domain == 'prov.example' and h.node_uuid == NODE
    assert h.boot.pxe_bootfile == 'shim.efi'
    assert h.boot.ipxe_script_url == p.BOOT6['ipxe_script_url']
    assert h.boot.http_boot_url == 'http://[fd00:1::9]/x.efi'
    assert table.by_duid6 == {p.DUID3: h}
    # a MAC moving from the IPv6 pool to the IPv4 one (one reservation
    # per MAC and IP version: the IPv6 row's tombstone and a new IPv4
    # row), and a deletion
    fake_feed.sets.append(records.ChangeSet(8, False, [], [
        res(p.MAC1, p.IP1, 6, deleted=True, ip_version=6),
        res(p.MAC1, '172.22.0.50', 7, pool='prov'),
        res(p.MAC2, None, 8, pool=None, deleted=True)]))
    src.sync()
    assert list(table.by_mac) == [p.mac_bytes(p.MAC1)]
    assert table.by_mac6 == {} and table.by_duid6 == {}


def test_ipam_dual_stack_mac_has_a_host_of_each_family(fake_feed):
    """One MAC, an IPv4 and an IPv6 reservation: DHCPv4 and DHCPv6 hosts.

    A change or a tombstone of one family leaves the other's host alone.
    """
    table = reservations.Table()
    src = ipam_source.IpamSource(table, fake_feed, 3600, {}, 60,
                                 boot_defaults6=p.BOOT6)
    m1 = p.mac_bytes(p.MAC1)
    fake_feed.sets.append(records.ChangeSet(2, True, [POOL4, POOL6], [
        res(p.MAC1, '172.22.0.50', 1, pool='prov'),
        res(p.MAC1, p.IP1, 2, ip_version=6)]))
    src.sync()
    assert table.by_mac[m1].address == '172.22.0.50'
    assert table.by_mac6[m1].address == p.IP1
    # the IPv4 address changes: the IPv6 host stays
    fake_feed.sets.append(records.ChangeSet(3, False, [], [
        res(p.MAC1, '172.22.0.51', 3, pool='prov')]))
    src.sync()
    assert table.by_mac[m1].address == '172.22.0.51'
    assert table.by_mac6[m1].address == p.IP1
    # the IPv6 reservation is deleted: the IPv4 host stays
    fake_feed.sets.append(records.ChangeSet(4, False, [], [
        res(p.MAC1, p.IP1, 4, deleted=True, ip_version=6)]))
    src.sync()
    assert table.by_mac[m1].address == '172.22.0.51'
    assert table.by_mac6 == {}
    # back, then the IPv4 tombstone: the IPv6 host stays
    fake_feed.sets.append(records.ChangeSet(6, False, [], [
        res(p.MAC1, p.IP2, 5, ip_version=6),
        res(p.MAC1, '172.22.0.51', 6, pool='prov', deleted=True)]))
    src.sync()
    assert table.by_mac == {}
    assert table.by_mac6[m1].address == p.IP2


def test_ipam_snapshot_keeps_both_families(fake_feed, tmp_path):
    path = str(tmp_path / 'snap')
    table = reservations.Table()
    src = ipam_source.IpamSource(table, fake_feed, 3600, {}, 60,
                                 snapshot_path=path, boot_defaults6=p.BOOT6)
    profile = BootProfile(ipxe6_url='http://[fd00:1::9]/boot.ipxe')
    fake_feed.sets.append(records.ChangeSet(2, True, [POOL4, POOL6], [
        res(p.MAC1, '172.22.0.50', 1, pool='prov', boot_profile=profile),
        res(p.MAC1, p.IP1, 2, ip_version=6, boot_profile=profile,
            client_id=p.DUID3.hex(':'))]))
    src.sync()
    src.save_snapshot(force=True)
    again = reservations.Table()
    other = ipam_source.IpamSource(again, fake_feed, 3600, {}, 60,
                                   snapshot_path=path, boot_defaults6=p.BOOT6)
    assert other.load_snapshot()
    m1 = p.mac_bytes(p.MAC1)
    assert again.by_mac[m1].address == '172.22.0.50'
    host6 = again.by_mac6[m1]
    assert host6.address == p.IP1 and host6.duid == p.DUID3
    assert host6.boot.ipxe_script_url == 'http://[fd00:1::9]/boot.ipxe'
    assert other.generation == 2


def test_invalid_ipv6_reservation_is_not_served(fake_feed):
    table = reservations.Table()
    src = ipam_source.IpamSource(table, fake_feed, 3600, {}, 60)
    fake_feed.sets.append(records.ChangeSet(2, True, [POOL6], [
        res(p.MAC1, '172.22.0.50', 1), res(p.MAC2, p.IP2, 2)]))
    src.sync()
    assert list(table.by_mac6) == [p.mac_bytes(p.MAC2)]


def test_file_one_host_of_each_family_per_mac():
    t = p.table()
    m1 = p.mac_bytes(p.MAC1)
    assert t.by_mac[m1].address == '172.22.0.50'
    assert t.by_mac6[m1].address == p.IP1
    assert t.by_mac[m1].net.dns == (bytes([172, 22, 0, 53]),)
    with pytest.raises(hostspec.HostSpecError, match='already has an IPv6'):
        p.table([{'mac': p.MAC1, 'ip': 'fd00:1::77'}])


@pytest.mark.parametrize('entry, why', [
    ({'ip': 'fd00::1', 'prefix6': 129}, 'prefix6'),
    ({'ip': 'fd00::1', 'dns_servers': ['fd00::zz']}, 'dns_servers'),
    ({'ip': 'fd00::1', 'lease_time': 5}, 'lease_time'),
    ({'ip': 'fd00::1', 'domain': 7}, 'domain'),
    ({'ip': 'fd00::zz'}, 'ip'),
])
def test_file_invalid_ipv6_fields_are_named(entry, why):
    doc = {'hosts': [dict(entry, mac=p.MAC1)]}
    with pytest.raises(hostspec.HostSpecError, match=why):
        file_source.load_hosts(doc, 3600, {}, reservations.Interner())


def test_ironic_ipv6_boot_urls_win(fake_feed):
    """Ironic's tag:ipxe6,59 and tag:!ipxe6,59 (profile fields) win."""
    table = reservations.Table()
    src = ipam_source.IpamSource(table, fake_feed, 3600, {}, 60,
                                 boot_defaults6=p.BOOT6)
    profile = BootProfile(bootfile='snponly.efi',
                          ipxe_script_url='http://[fd00:1::9]/v4.ipxe',
                          ipxe6_url='http://[fd00:1::9]/boot.ipxe',
                          bootfile6_url='tftp://[fd00:1::9]/ipxe.efi')
    fake_feed.sets.append(records.ChangeSet(2, True, [POOL6], [
        res(p.MAC1, p.IP1, 1, boot_profile=profile)]))
    src.sync()
    srv = server.DHCPv6Server(table, handlers.Responder(
        p.SERVER_DUID, netboot.Decider()), None)
    ipxe = s6.DHCP6OptUserClass(userclassdata=[s6.USER_CLASS_DATA(
        data=b'iPXE')])
    pxe = s6.DHCP6OptClientArchType(archtypes=[7])
    for extra, url in ((ipxe, b'http://[fd00:1::9]/boot.ipxe'),
                       (pxe, b'tftp://[fd00:1::9]/ipxe.efi')):
        t, payload = srv.handle(bytes(p.solicit(extra=[extra])), p.src())
        assert t == codec.ADVERTISE
        assert s6.DHCP6(payload)[s6.DHCP6OptBootFileUrl].optdata == url


def _ntp_server(fake_feed, ntp):
    table = reservations.Table()
    src = ipam_source.IpamSource(table, fake_feed, 3600, {}, 60)
    pool = records.Pool(name='v6', version=6, cidr='fd00:1::/64',
                        prefixlen=64, netmask='64', gateway='fd00:1::1',
                        ntp_servers=ntp)
    fake_feed.sets.append(records.ChangeSet(2, True, [pool], [
        res(p.MAC1, p.IP1, 1)]))
    src.sync()
    return server.DHCPv6Server(table, handlers.Responder(
        p.SERVER_DUID, netboot.Decider()), None)


def test_ntp_servers_option_56_from_the_pool(fake_feed):
    """RFC 5908: one server address suboption per NTP server (scapy)."""
    srv = _ntp_server(fake_feed, ('fd00:1::123', 'fd00:1::124'))
    oro = s6.DHCP6OptOptReq(reqopts=[23, 56])
    t, payload = srv.handle(bytes(p.solicit(extra=[oro])), p.src())
    assert t == codec.ADVERTISE
    subs = s6.DHCP6(payload)[s6.DHCP6OptNTPServer].ntpserver
    assert [type(s) for s in subs] == [s6.DHCP6NTPSubOptSrvAddr] * 2
    assert [s.addr for s in subs] == ['fd00:1::123', 'fd00:1::124']
    # not requested in the ORO: not sent
    oro = s6.DHCP6OptOptReq(reqopts=[23])
    _, payload = srv.handle(bytes(p.solicit(extra=[oro])), p.src())
    assert s6.DHCP6OptNTPServer not in s6.DHCP6(payload)


def test_no_ntp_servers_no_option_56(fake_feed):
    srv = _ntp_server(fake_feed, ())
    oro = s6.DHCP6OptOptReq(reqopts=[56])
    _, payload = srv.handle(bytes(p.solicit(extra=[oro])), p.src())
    assert s6.DHCP6OptNTPServer not in s6.DHCP6(payload)


def test_ntp_option_encoding_against_scapy():
    raw = codec.opt(codec.OPT_NTP_SERVER, codec.ntp_servers(
        (bytes.fromhex('fd000001' + '0' * 20 + '0123'),), ('ntp.example',)))
    parsed = s6.DHCP6OptNTPServer(raw)
    addr, fqdn = parsed.ntpserver
    assert addr.addr == 'fd00:1::123'
    assert isinstance(fqdn, s6.DHCP6NTPSubOptSrvFQDN)
    assert fqdn.fqdn.rstrip(b'.') in (b'ntp.example', 'ntp.example')
    assert bytes(parsed) == raw
