"""The agent's DHCPv6 server against real clients in network namespaces.

Two client implementations (ISC ``dhclient -6`` and ``dhcpcd``), the
segment's router advertising the managed flag (radvd), a relay (ISC
``dhcrelay -6``) and hostile input. The agent runs as ``nobody`` with only
CAP_NET_RAW and CAP_NET_BIND_SERVICE.
"""

import json
import os

from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_bed as b6
from tests.fixtures import netns
from tests.functional.agent.dhcp.test_real_clients import wait_lines

DHCLIENT_SCRIPT = r'''#!/bin/sh
# dhclient -6 script: record what the client got, configure the address.
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6)
    ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" \
      dev "$interface" nodad
    echo "$reason ip=$new_ip6_address dns=$new_dhcp6_name_servers" \
      "search=$new_dhcp6_domain_search life=$new_max_life" >> "%(out)s" ;;
esac
exit 0
'''

DHCPCD_SCRIPT = r'''#!/bin/sh
echo "$reason ia=$new_dhcp6_ia_na1_ia_addr1 dns=$new_dhcp6_name_servers" \
  "search=$new_dhcp6_domain_search" >> "%(out)s"
'''


def script(lab, name, text):
    out = b6.events_file(lab, name)
    path = lab.path(name + '.sh')
    with open(path, 'w') as f:
        f.write(text % {'out': out})
    os.chmod(path, 0o755)
    return path, out


def dhclient6(bed, ns, name, *extra, duid=None):
    """Start ``dhclient -6`` in ``ns``; (process, events file)."""
    path, events = script(bed.lab, name, DHCLIENT_SCRIPT)
    leases = bed.lab.path(name + '.leases')
    with open(leases, 'w') as f:
        if duid is not None:
            # dhclient's own way to be given a DUID (RFC 8415 11)
            f.write('default-duid "%s";\n' % ''.join(
                '\\%03o' % b for b in duid))
    return ns.popen('dhclient', '-6', '-d', '-v', '-sf', path, '-lf', leases,
                    '-pf', bed.lab.path(name + '.pid'), *extra,
                    'eth0'), events


def test_dhclient6_lease_and_renewal(bed6):
    b6.require_root_and('dhclient')
    ns = bed6.client(b6.MAC_DHCLIENT)
    mark = bed6.agent.mark()
    p, events = dhclient6(bed6, ns, 'dhclient6')
    try:
        # valid lifetime 20 s: T1 = 10 s, so a RENEW follows within ~12 s
        lines = wait_lines(events, ['BOUND6', 'RENEW6'], timeout=30)
        on_link = b6.addresses(ns)
    finally:
        netns.stop_process(p)
    bound = [ln for ln in lines if ln.startswith('BOUND6')]
    assert bound, (lines, p.stdout.read().decode(errors='replace')[-2000:])
    assert 'ip=fd00:6::51 ' in bound[0]
    assert 'dns=fd00:6::53 ' in bound[0]
    assert 'search=prov.example.' in bound[0]
    assert 'life=20' in bound[0]
    renew = [ln for ln in lines if ln.startswith('RENEW6')]
    assert renew and 'ip=fd00:6::51 ' in renew[0], lines
    assert 'fd00:6::51/128' in on_link     # the prefix is the RA's
    log = bed6.agent.log(since=mark)
    assert 'RENEW xid' in log and 'found by duid' in log


def test_dhcpcd_starts_dhcpv6_on_the_routers_managed_flag(bed6):
    b6.require_root_and('dhcpcd')
    ns = bed6.client(b6.MAC_DHCPCD)
    conf = bed6.lab.path('dhcpcd.conf')
    with open(conf, 'w') as f:
        # no "noipv6rs": DHCPv6 starts because the RA has the M flag
        f.write('ipv6only\nduid ll\nia_na 1\n'
                'option dhcp6_name_servers, dhcp6_domain_search\n')
    path, events = script(bed6.lab, 'dhcpcd', DHCPCD_SCRIPT)
    # dhcpcd keeps its DUID and leases in /var/lib/dhcpcd and its sockets
    # in /run/dhcpcd: private tmpfs mounts in the mount namespace that
    # "ip netns exec" made, so nothing is left on the machine.
    p = ns.popen('sh', '-c', 'mount -t tmpfs none /run && mount -t tmpfs '
                 'none /var/lib/dhcpcd && exec dhcpcd -6 -B -d -f "$0" -c '
                 '"$1" -t 30 eth0', conf, path)
    try:
        lines = wait_lines(events, ['ROUTERADVERT', 'BOUND6'], timeout=30)
        on_link = b6.addresses(ns)
    finally:
        netns.stop_process(p)
    out = p.stdout.read().decode(errors='replace')
    bound = [ln for ln in lines if ln.startswith('BOUND6')]
    assert bound, (lines, out[-2000:])
    assert any(ln.startswith('ROUTERADVERT') for ln in lines), lines
    assert 'ia=fd00:6::52 ' in bound[0]
    assert 'dns=fd00:6::53 ' in bound[0]
    assert 'search=prov.example' in bound[0]
    assert 'fd00:6::52/128' in on_link


def test_relayed_by_isc_dhcrelay6(bed6):
    b6.require_root_and('dhcrelay', 'dhclient')
    relay = bed6.router.popen('dhcrelay', '-6', '-d', '-l', 'r1', '-u',
                              '%s%%r0' % b6.SERVER6,
                              '-pf', bed6.lab.path('dhcrelay6.pid'))
    ns = bed6.client(b6.MAC_RELAYED, segment=bed6.far)
    mark = bed6.agent.mark()
    p, events = dhclient6(bed6, ns, 'relayed6', '-1')
    try:
        lines = wait_lines(events, ['BOUND6'], timeout=30)
    finally:
        netns.stop_process(p)
        netns.stop_process(relay)
    relay_out = relay.stdout.read().decode(errors='replace')
    bound = [ln for ln in lines if ln.startswith('BOUND6')]
    assert bound, (lines, relay_out[-2000:])
    assert 'ip=fd00:7::55 ' in bound[0]
    assert 'Relaying Reply to' in relay_out
    assert 'from 52:54:00:bb:00:05' in bed6.agent.log(since=mark)


def test_client_without_a_mac_in_its_duid(bed6):
    """DUID-UUID clients (OVMF, iPXE do this): EUI-64 or the DUID itself."""
    b6.require_root_and('dhclient')
    uuid = bytes.fromhex(b6.DUID_UUID.replace(':', ''))
    other = b'\x00\x04' + bytes(range(100, 116))
    for name, mac, duid, address, how in (
            # reserved by MAC, found by its modified-EUI-64 link-local
            ('eui64', b6.MAC_DHCPCD, other, 'fd00:6::52', 'eui-64'),
            # an unreserved MAC whose DUID is a reservation's client_id
            ('duidonly', '52:54:00:bb:00:77', uuid, 'fd00:6::56',
             'duid-reservation')):
        ns = bed6.client(mac)
        mark = bed6.agent.mark()
        p, events = dhclient6(bed6, ns, name, '-1', duid=duid)
        try:
            lines = wait_lines(events, ['BOUND6'], timeout=20)
        finally:
            netns.stop_process(p)
        assert any('ip=%s ' % address in ln for ln in lines), lines
        assert 'found by %s' % how in bed6.agent.log(since=mark)


def _probe(ns, payloads, wait=0.5):
    out = ns.run(netns.PYTHON, '-m', 'tests.fixtures.dhcp6_probe',
                 json.dumps({'iface': 'eth0', 'payloads': [
                     bytes(x).hex() for x in payloads], 'wait': wait}),
                 timeout=60, cwd=netns.REPO,
                 env=dict(os.environ, PYTHONPATH=netns.REPO))
    return [json.loads(ln)['replies'] for ln in out.stdout.splitlines()
            if ln.startswith('{')]


def test_hostile_input_gets_silence(bed6):
    b6.require_root_and('ip')
    ns = bed6.client(b6.MAC_UNKNOWN)
    mine = s6.DUID_LL(lladdr=b6.MAC_DHCLIENT)
    other = s6.DUID_LL(lladdr='02:00:00:00:00:01')
    good = (s6.DHCP6_Solicit(trid=1) / s6.DHCP6OptClientId(duid=mine)
            / s6.DHCP6OptIA_NA(iaid=1))
    raw = bytes(good)
    deep = good
    for _ in range(9):       # one relay more than HOP_COUNT_LIMIT
        deep = s6.DHCP6_RelayForward(linkaddr='::', peeraddr='fe80::1') \
            / s6.DHCP6OptRelayMsg(message=deep)
    hostile = [
        raw[:5], raw[:-3],                                 # truncated
        raw[:4] + b'\x00\x01\xff\xff' + raw[8:],           # option length
        raw + bytes(s6.DHCP6OptClientId(duid=mine)),       # repeated
        bytes(good / s6.DHCP6OptServerId(duid=mine)),      # server id
        b'\x02' + raw[1:],                                 # an ADVERTISE
        raw + b'\x00\x63\x10\x00' + bytes(4096),           # oversized
        bytes(deep),                                       # relay loop
        bytes(s6.DHCP6_Solicit(trid=2) / s6.DHCP6OptClientId(
            duid=s6.DUID_LL(lladdr=b6.MAC_UNKNOWN))
            / s6.DHCP6OptIA_NA(iaid=1)),                   # unknown client
        bytes(s6.DHCP6_Request(trid=3) / s6.DHCP6OptClientId(duid=mine)
              / s6.DHCP6OptServerId(duid=other)
              / s6.DHCP6OptIA_NA(iaid=1)),                 # other server
    ]
    mark = bed6.agent.mark()
    replies = _probe(ns, hostile)
    assert replies == [[]] * len(hostile)
    # still serving: the reserved client's SOLICIT gets its ADVERTISE
    (after,) = _probe(ns, [good], wait=2.0)
    assert len(after) == 1
    adv = s6.DHCP6_Advertise(bytes.fromhex(after[0]))
    assert adv[s6.DHCP6OptIAAddress].addr == 'fd00:6::51'
    log = bed6.agent.log(since=mark)
    assert bed6.agent.running()
    assert 'Malformed DHCPv6 packet' in log
    assert 'Traceback' not in log


def test_default_boot_urls_name_the_agents_ipv6_proxy_and_tftp(bed6):
    """Option 59 by client kind: the agent's defaults over IPv6."""
    b6.require_root_and('ip')
    ns = bed6.client(b6.MAC_UNKNOWN)
    duid = s6.DUID_LL(lladdr=b6.MAC_DHCLIENT)

    def solicit(trid, *extra):
        pkt = (s6.DHCP6_Solicit(trid=trid) / s6.DHCP6OptClientId(duid=duid)
               / s6.DHCP6OptIA_NA(iaid=1))
        for opt in extra:
            pkt = pkt / opt
        return pkt

    ipxe = solicit(11, s6.DHCP6OptUserClass(
        userclassdata=[s6.USER_CLASS_DATA(data=b'iPXE')]))
    http = solicit(12, s6.DHCP6OptVendorClass(
        enterprisenum=343,
        vcdata=[s6.VENDOR_CLASS_DATA(data=b'HTTPClient:Arch:00016')]),
        s6.DHCP6OptClientArchType(archtypes=[16]))
    pxe = solicit(13, s6.DHCP6OptClientArchType(archtypes=[7]))
    urls = []
    for (reply,) in _probe(ns, [ipxe, http, pxe], wait=2.0):
        adv = s6.DHCP6_Advertise(bytes.fromhex(reply))
        urls.append(adv[s6.DHCP6OptBootFileUrl].optdata.decode())
    assert urls == [b6.IPXE6_URL, b6.HTTP6_URL,
                    'tftp://[%s]/snponly.efi' % b6.SERVER6]
