"""A dual-stack node deployed by real Ironic across the separated segments.

The two-segment bed (:mod:`tests.fixtures.segments`: a real Ironic 39 in
the cluster namespace, the real agent with a leg in each segment, a
stand-in server with the fake IPA) with an IPv6 pool next to the IPv4 one:
both list the node's resource class, so the node gets one address of
each. The provisioning segment has a router sending router advertisements
with the managed flag (radvd); the agent serves DHCPv4 and DHCPv6. After
the deploy a real ``dhclient -6`` in the server's namespace is given the
reserved IPv6 address (and the pool's NTP server, option 56), while the
server's DHCPv4 client got the IPv4 one. Undeploy and delete release both.
"""

import ipaddress
import os
import pathlib
import shutil
import tempfile

import pytest
from scapy.layers import dhcp6 as s6

from tests.fixtures import dhcp6_bed as b6
from tests.fixtures import ironic_helpers as helpers
from tests.fixtures import netns
from tests.fixtures import segments as seg
from tests.functional.agent.dhcp.test_real_clients import wait_lines
from tests.functional.agent.dhcp6.test_real_clients6 import _probe
from tests.functional import databases
from vmetal_ironic.network import configdrive
from vmetal_ironic.network import network_data

MAC = '52:54:00:5e:00:d6'
AGENT6 = 'fd00:22::2'
ROUTER6 = 'fd00:22::1'
NTP6 = 'fd00:22::123'
DNS6 = 'fd00:22::53'
TEST_TIMEOUT = 300
# The agent's IPv6 iPXE script default: Ironic's tag:ipxe6,59 names the
# proxy's IPv4 address ([deploy]http_url), which an IPv6 client cannot
# reach, so the agent serves its own IPv6 URL instead (doc/ipv6.md).
AGENT_IPXE6 = 'http://[%s]:8080/boot.ipxe' % AGENT6

POOL6 = {'cidr': ROUTER6 + '/64', 'ranges': 'fd00:22::100-fd00:22::120',
         'dns_servers': DNS6, 'ntp_servers': NTP6,
         'resource_classes': 'baremetal-compute'}

RADVD_CONF = '''interface r0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvManagedFlag on;
    AdvOtherConfigFlag on;
    prefix fd00:22::/64 { AdvOnLink on; AdvAutonomous off; };
};
'''

# dhclient knows no name for option 56: a definition of its own, requested
# with "also request"; the script records what the client was given.
DHCLIENT_CONF = '''option dhcp6.vmetal-ntp code 56 = string;
also request dhcp6.vmetal-ntp;
'''
DHCLIENT_SCRIPT = r'''#!/bin/sh
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6)
    echo "$reason ip=$new_ip6_address dns=$new_dhcp6_name_servers" \
      "ntp=$new_dhcp6_vmetal_ntp" >> "%(out)s" ;;
esac
exit 0
'''


@pytest.fixture(autouse=True)
def deadline():
    with seg.deadline(TEST_TIMEOUT):
        yield


@pytest.fixture(scope='module')
def bed():
    seg.require()
    b6.require_root_and('dhclient', 'radvd')
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-ds-'))
    # [DEFAULT]my_ipv6: Ironic's tag:!ipxe6,59 becomes tftp://[my_ipv6]/...
    extra = {'DEFAULT': {'my_ipv6': AGENT6},
             'vmetal_ipam': {'pools': 'prov, prov6',
                             'default_pool': 'prov, prov6'},
             'vmetal_pool:prov6': POOL6}
    agent6 = {'dhcpv6': 'true', 'server_address6': AGENT6,
              'dhcpv6_ipxe_script_url': AGENT_IPXE6}
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with seg.Bed(seg.postgresql_socket_url(url), prefix='vds',
                         ironic_extra=extra, agent_extra=agent6) as b:
                b.agent_ns.run('sysctl', '-qw',
                               'net.ipv6.conf.all.accept_dad=0')
                b6.add6(b.agent_ns, 'prov0', AGENT6 + '/64')
                router = b6.quiet_namespace(b.lab, 'router6')
                router.attach(b.prov, 'r0')
                b6.add6(router, 'r0', ROUTER6 + '/64')
                router.run('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
                conf = b.lab.path('radvd.conf')
                with open(conf, 'w') as f:
                    f.write(RADVD_CONF)
                b.radvd = router.popen(
                    'radvd', '-n', '-m', 'stderr', '-C', conf, '-p',
                    b.lab.path('radvd.pid'), '-u', 'nobody')
                b.start()
                yield b
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def dhclient6(bed, ns):
    """``dhclient -6`` in ``ns`` (its own files: no host resolv.conf)."""
    out = b6.events_file(bed.lab, 'dhclient6')
    script = bed.lab.path('dhclient6.sh')
    with open(script, 'w') as f:
        f.write(DHCLIENT_SCRIPT % {'out': out})
    os.chmod(script, 0o755)
    conf = bed.lab.path('dhclient6.conf')
    with open(conf, 'w') as f:
        f.write(DHCLIENT_CONF)
    open(bed.lab.path('dhclient6.leases'), 'w').close()
    proc = ns.popen('dhclient', '-6', '-d', '-v', '-1', '-cf', conf,
                    '-sf', script, '-lf', bed.lab.path('dhclient6.leases'),
                    '-pf', bed.lab.path('dhclient6.pid'), 'eth0')
    return proc, out


def _ntp_suboption(hexed):
    """The addresses of NTP server suboptions (1) of dhclient's hex text."""
    raw = bytes(int(x, 16) for x in hexed.split(':') if x)
    found, i = [], 0
    while i + 4 <= len(raw):
        code = int.from_bytes(raw[i:i + 2], 'big')
        length = int.from_bytes(raw[i + 2:i + 4], 'big')
        value = raw[i + 4:i + 4 + length]
        if code == 1 and length == 16:
            found.append(str(ipaddress.IPv6Address(value)))
        i += 4 + length
    return found


def test_dual_stack_deploy_dhcp_both_families_and_release(bed):
    env = bed.ironic
    server = bed.add_server('d', MAC)
    node = env.create_node(mac=MAC, deploy='direct')
    uuid = node['uuid']
    try:
        env.provide(uuid, timeout=120)
        # Cleaning had dual-stack allocations of its own: all gone now.
        assert env.ipam.get_allocations(uuid) == []
        deployed = helpers.deploy(env, node, timeout=120)
        assert deployed['provision_state'] == 'active', \
            deployed['last_error']

        allocations = env.ipam.get_allocations(uuid)
        assert [(a.pool_name, a.scope) for a in allocations] == [
            ('prov', 'deployment'), ('prov6', 'deployment')]
        ip4, ip6 = (a.address for a in allocations)
        assert helpers.in_range(ip4, '172.22.0.100', '172.22.0.120')
        assert ip6.startswith('fd00:22::1')
        reservations = {r.ip_version: r
                        for r in env.ipam.list_reservations(uuid)}
        assert {v: (r.mac, r.address) for v, r in reservations.items()} \
            == {4: (MAC, ip4), 6: (MAC, ip6)}

        # DHCPv4 gave the server the IPv4 address (and booted it).
        dhcp = server.events('dhcp')
        assert dhcp and dhcp[-1]['ip'] == ip4
        assert dhcp[-1]['server'] == seg.AGENT_PROV

        # network_data: an ipv4 and an ipv6 network on the port's link.
        nd = deployed['network_data']
        network_data.validate(nd)
        v4, v6 = nd['networks']
        assert (v4['type'], v4['ip_address']) == ('ipv4', ip4)
        assert (v6['type'], v6['ip_address']) == ('ipv6', ip6)
        assert v4['link'] == v6['link'] == nd['links'][0]['id']
        assert nd['links'][0]['ethernet_mac_address'] == MAC
        assert v6['netmask'] == 'ffff:ffff:ffff:ffff::'
        assert {'network': '::', 'netmask': '::', 'gateway': ROUTER6} in \
            v6['routes']
        assert {'type': 'dns', 'address': DNS6} in nd['services']
        assert {'type': 'dns', 'address': '172.22.0.53'} in nd['services']
        # The config drive written with the image carries both.
        [image] = server.events('image')
        assert image['configdrive']
        assert configdrive.read_network_data(image['configdrive']) == nd

        # The deployed server boots its OS: a real dhclient -6 on its NIC
        # gets the reserved IPv6 address and the pool's DNS and NTP
        # servers. (The stand-in's DHCPv4 script flushed every address of
        # the NIC, its link-local one too: the link is brought up again,
        # without DAD, for a fresh link-local address.)
        server.power_off()
        server.ns.run('sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0')
        server.ns.run('ip', 'link', 'set', 'eth0', 'down')
        server.ns.run('ip', 'link', 'set', 'eth0', 'up')
        mark = bed.agent.mark()
        proc, events = dhclient6(bed, server.ns)
        try:
            lines = wait_lines(events, ['BOUND6'], timeout=40)
        finally:
            netns.stop_process(proc)
        bound = [ln for ln in lines if ln.startswith('BOUND6')]
        assert bound, '\n'.join(
            lines + [proc.stdout.read().decode(errors='replace')]
            + [ln for ln in bed.agent.log(since=mark).splitlines()
               if 'dhcp6' in ln or 'DHCPv6' in ln][-30:])
        assert 'ip=%s ' % ip6 in bound[0]
        assert 'dns=%s ' % DNS6 in bound[0]
        ntp = bound[0].split('ntp=', 1)[1].strip()
        assert _ntp_suboption(ntp) == [NTP6], bound[0]

        # Ironic's IPv6 boot options (tag:!ipxe6,59 and tag:ipxe6,59, in
        # the node's boot profile) reach DHCPv6 clients of the IPv6
        # reservation: UEFI PXE gets Ironic's boot file URL; iPXE gets the
        # agent's IPv6 script URL, Ironic's names an IPv4 address.
        profile = reservations[6].boot_profile
        assert profile.bootfile6_url == 'tftp://[%s]/snponly.efi' % AGENT6
        assert profile.ipxe6_url.startswith('http://%s:' % seg.AGENT_PROV)
        duid = s6.DUID_LL(lladdr=MAC)
        ask = (s6.DHCP6_Solicit(trid=7) / s6.DHCP6OptClientId(duid=duid)
               / s6.DHCP6OptIA_NA(iaid=1)
               / s6.DHCP6OptOptReq(reqopts=[23, 56, 59]))
        ipxe = ask / s6.DHCP6OptUserClass(
            userclassdata=[s6.USER_CLASS_DATA(data=b'iPXE')])
        uefi = ask / s6.DHCP6OptClientArchType(archtypes=[7])
        replies = _probe(server.ns, [ipxe, uefi], wait=1.0)
        urls = []
        for got in replies:
            assert got, replies
            reply = s6.DHCP6(bytes.fromhex(got[0]))
            assert reply[s6.DHCP6OptIAAddress].addr == ip6
            urls.append(reply[s6.DHCP6OptBootFileUrl].optdata.decode())
        assert urls == [AGENT_IPXE6, profile.bootfile6_url]

        # Undeploy (cleaning again: the server boots the ramdisk), then
        # delete: both families released.
        server.ns.run('ip', 'addr', 'flush', 'dev', 'eth0')
        server.power_on()
        done = helpers.undeploy(env, node, timeout=120)
        assert done['provision_state'] == 'available', done['last_error']
        env.delete(uuid)
        helpers.wait_for(lambda: not env.ipam.get_allocations(uuid),
                         what='allocations of %s released' % uuid)
        assert env.ipam.list_reservations(uuid) == []
        tombstones = [r for r in env.ipam.changes_since(1).reservations
                      if r.node_uuid == uuid and r.deleted]
        assert {r.ip_version for r in tombstones} == {4, 6}
    finally:
        server.power_off()
