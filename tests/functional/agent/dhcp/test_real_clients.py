"""The agent against real DHCP clients in network namespaces.

The agent runs as ``nobody`` with only CAP_NET_RAW and CAP_NET_BIND_SERVICE
(see conftest.py); every client below is served by that process.
"""

import os
import signal
import time

import pytest

from tests.fixtures import dhcp_bed as c
from tests.fixtures import netns

SCRIPT = r'''#!/bin/sh
# DHCP client script: record what the client got, configure the address.
out="%(out)s"
case "$1" in
  deconfig) ip addr flush dev "$interface"; exit 0 ;;
  bound|renew)
    ip addr replace "$ip/$mask" dev "$interface"
    echo "$1 ip=$ip router=$router dns=$dns lease=$lease" \
      "host=$hostname domain=$domain ntp=$ntpsrv" >> "$out"
    exit 0 ;;
esac
case "$reason" in
  PREINIT) ip link set "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    echo "$reason ip=$new_ip_address router=$new_routers" \
      "dns=$new_domain_name_servers lease=$new_dhcp_lease_time" \
      "host=$new_host_name domain=$new_domain_name" \
      "ntp=$new_ntp_servers server=$new_dhcp_server_identifier" >> "$out"
    ;;
esac
exit 0
'''


def client_script(lab, name):
    out = lab.path(name + '.events')
    path = lab.path(name + '.sh')
    with open(path, 'w') as f:
        f.write(SCRIPT % {'out': out})
    os.chmod(path, 0o755)
    open(out, 'w').close()
    return path, out


def wait_lines(path, prefixes, timeout):
    """Wait until every prefix has a line in ``path``; return the lines."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path) as f:
            lines = f.read().splitlines()
        if all(any(ln.startswith(p) for ln in lines) for p in prefixes):
            return lines
        if time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_dhclient_lease_and_renewal(bed):
    c.require_root_and('dhclient')
    ns = bed.client(c.MAC_DHCLIENT)
    script, events = client_script(bed.lab, 'dhclient')
    conf = bed.lab.path('dhclient.conf')
    with open(conf, 'w') as f:
        f.write('timeout 20;\nretry 1;\ninitial-interval 1;\n'
                'request subnet-mask, routers, domain-name-servers, '
                'host-name, domain-name, ntp-servers;\n')
    p = ns.popen('dhclient', '-4', '-d', '-v', '-cf', conf, '-sf', script,
                 '-lf', bed.lab.path('dhclient.leases'),
                 '-pf', bed.lab.path('dhclient.pid'), 'eth0')
    try:
        # lease 16 s: T1 = 8 s, so a RENEW (unicast REQUEST with ciaddr)
        # follows the BOUND within about 10 s.
        lines = wait_lines(events, ['BOUND', 'RENEW'], timeout=30)
    finally:
        netns.stop_process(p)
    bound = [ln for ln in lines if ln.startswith('BOUND')]
    assert bound, lines
    assert 'ip=172.22.0.51 ' in bound[0]
    assert 'router=172.22.0.1 ' in bound[0]
    assert 'dns=172.22.0.53 172.22.0.54 ' in bound[0]
    assert 'lease=16 ' in bound[0]
    assert 'host=node-1 ' in bound[0]
    assert 'domain=prov.example ' in bound[0]
    assert 'ntp=172.22.0.123 ' in bound[0]
    assert 'server=172.22.0.2' in bound[0]
    renew = [ln for ln in lines if ln.startswith('RENEW')]
    assert renew and 'ip=172.22.0.51 ' in renew[0], lines


def test_udhcpc_lease_and_renewal(bed):
    c.require_root_and('udhcpc')
    ns = bed.client(c.MAC_UDHCPC)
    script, events = client_script(bed.lab, 'udhcpc')
    p = ns.popen('udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '10',
                 '-T', '1', '-A', '1', '-O', 'domain', '-O', 'ntpsrv')
    try:
        lines = wait_lines(events, ['bound'], timeout=15)
        assert any(ln.startswith('bound') for ln in lines), lines
        p.send_signal(signal.SIGUSR1)       # renew now
        lines = wait_lines(events, ['bound', 'renew'], timeout=15)
    finally:
        netns.stop_process(p)
    bound = [ln for ln in lines if ln.startswith('bound')][0]
    assert 'ip=172.22.0.52 ' in bound
    assert 'router=172.22.0.1 ' in bound
    assert 'dns=172.22.0.53 172.22.0.54 ' in bound
    assert 'lease=600 ' in bound
    assert 'host=node-2 ' in bound
    assert 'ntp=172.22.0.123' in bound
    renew = [ln for ln in lines if ln.startswith('renew')]
    assert renew and 'ip=172.22.0.52 ' in renew[0], lines


ARCH = '5d02%04x'      # option 93 with one architecture
PXE_VC = '3c20' + b'PXEClient:Arch:00000:UNDI:002001'.hex()


def opts(*hexes):
    """{code: hex value} from TLV hex strings."""
    out = {}
    for h in hexes:
        raw = bytes.fromhex(h)
        out[str(raw[0])] = raw[2:].hex()
    return out


def test_netboot_options_by_client(bed):
    c.require_root_and('ip')
    ns = bed.client(c.MAC_PXE)
    ipxe = '4d04' + b'iPXE'.hex()
    http = '3c0a' + b'HTTPClient'.hex()
    probes = [
        {'mac': c.MAC_PXE, 'options': opts(PXE_VC, ARCH % 0), 'dora': True},
        {'mac': c.MAC_PXE, 'options': opts(PXE_VC, ARCH % 7)},
        {'mac': c.MAC_PXE, 'options': opts(PXE_VC, ARCH % 11)},
        {'mac': c.MAC_PXE, 'options': opts(PXE_VC, ARCH % 0, ipxe)},
        {'mac': c.MAC_PXE, 'options': opts(PXE_VC, ARCH % 7, ipxe)},
        {'mac': c.MAC_PXE, 'options': opts(ARCH % 11, ipxe)},
        {'mac': c.MAC_PXE, 'options': opts(http, ARCH % 16)},
        {'mac': c.MAC_PXE, 'options': {}, 'broadcast': True},
        {'mac': c.MAC_UNKNOWN, 'options': opts(PXE_VC, ARCH % 0),
         'timeout': 2},
    ]
    bios, uefi, arm, ipxe0, ipxe7, ipxe11, httpc, plain, unknown = \
        bed.probe(ns, probes)

    def boot(r):
        o = r['options']
        return (bytes.fromhex(o.get('67', '')).decode(), r['siaddr'],
                bytes.fromhex(o.get('60', '')).decode(),
                bytes.fromhex(o.get('66', '')).decode())

    for r in (bios, uefi, arm, ipxe0, ipxe7, ipxe11, httpc, plain):
        assert r['offer'] is not None
        assert r['offer']['yiaddr'] == '172.22.0.53'
    assert boot(bios['offer']) == ('undionly.kpxe', c.SERVER, 'PXEClient',
                                   c.SERVER)
    assert bios['offer']['file'] == 'undionly.kpxe'
    assert bios['ack']['msg_type'] == 5
    assert bios['ack']['options']['67'] == b'undionly.kpxe'.hex()
    assert boot(uefi['offer']) == ('snponly.efi', c.SERVER, 'PXEClient',
                                   c.SERVER)
    assert boot(arm['offer'])[0] == 'snponly-arm64.efi'
    for r in (ipxe0, ipxe7, ipxe11):
        assert boot(r['offer'])[0] == 'http://172.22.0.2:8080/boot.ipxe'
    assert boot(httpc['offer'])[:3] == (
        'http://172.22.0.2:8080/snponly.efi', c.SERVER, 'HTTPClient')
    # a client that is not network booting gets no boot options
    assert boot(plain['offer']) == ('', '0.0.0.0', '', '')
    assert unknown['offer'] is None
    # no address yet, no broadcast flag: an Ethernet frame to its MAC,
    # addressed to the offered IP (no ARP involved) ...
    assert bios['offer']['dst_mac'] == c.MAC_PXE
    assert bios['offer']['dst_ip'] == '172.22.0.53'
    assert bios['offer']['src_ip'] == c.SERVER
    # ... and with the broadcast flag, a broadcast
    assert plain['offer']['dst_mac'] == 'ff:ff:ff:ff:ff:ff'
    assert plain['offer']['dst_ip'] == '255.255.255.255'


def test_reserved_mac_on_cluster_interface_gets_no_answer(bed):
    c.require_root_and('ip')
    mark = bed.agent.mark()
    (r,) = bed.probe(bed.cluster, [
        {'mac': c.MAC_CLUSTER, 'options': opts(PXE_VC, ARCH % 0),
         'timeout': 2}], iface='clus1')
    assert r['offer'] is None
    # the agent never even saw it: the socket is bound to prov0
    assert bed.agent.log(since=mark).count(c.MAC_CLUSTER) == 0
    # the same MAC on the provisioning segment is answered
    ns = bed.client(c.MAC_CLUSTER)
    (r,) = bed.probe(ns, [{'mac': c.MAC_CLUSTER, 'options': {}}])
    assert r['offer']['yiaddr'] == '172.22.0.54'


def test_relayed_by_isc_dhcrelay(bed):
    c.require_root_and('dhcrelay', 'dhclient')
    # -a: the relay adds option 82 (circuit id = its interface) and uses
    # the echoed option to forward the reply, which proves the echo.
    relay = bed.relay.popen('dhcrelay', '-4', '-d', '-a', '-iu', 'r0',
                            '-id', 'r1',
                            '-pf', bed.lab.path('dhcrelay.pid'), c.SERVER)
    ns = bed.client(c.MAC_RELAYED, segment=bed.far)
    script, events = client_script(bed.lab, 'relayed')
    p = ns.popen('dhclient', '-4', '-d', '-1', '-sf', script,
                 '-lf', bed.lab.path('relayed.leases'),
                 '-pf', bed.lab.path('relayed.pid'), 'eth0')
    try:
        lines = wait_lines(events, ['BOUND'], timeout=25)
    finally:
        netns.stop_process(p)
        netns.stop_process(relay)
    relay_out = relay.stdout.read().decode(errors='replace')
    bound = [ln for ln in lines if ln.startswith('BOUND')]
    assert bound, (lines, relay_out[-2000:])
    assert 'relay agent option' in relay_out      # option 82 was added ...
    assert 'Forwarded BOOTREPLY for %s' % c.MAC_RELAYED in relay_out
    assert 'ip=172.23.0.55 ' in bound[0]
    assert 'router=172.23.0.1 ' in bound[0]
    assert 'host=far-1 ' in bound[0]


def test_sighup_reload_and_invalid_reload_keeps_table(bed):
    c.require_root_and('ip')
    new_mac = '52:54:00:aa:00:42'
    ns = bed.client(new_mac)
    doc = dict(c.HOSTS, hosts=c.HOSTS['hosts'] + [
        {'mac': new_mac, 'ip': '172.22.0.142'}])
    try:
        mark = bed.agent.mark()
        bed.agent.write_hosts(doc)
        bed.agent.hup()
        assert bed.agent.wait_log('Reloaded 6 reservations', timeout=10,
                                  since=mark)
        (r,) = bed.probe(ns, [{'mac': new_mac, 'options': {}}])
        assert r['offer']['yiaddr'] == '172.22.0.142'
        bed.agent.write_hosts('{"hosts": [ {"mac": "bad"')
        bed.agent.hup()
        assert bed.agent.wait_log('keeping the previous 6 reservations',
                                  since=mark,
                                  timeout=10)
        (r,) = bed.probe(ns, [{'mac': new_mac, 'options': {}}])
        assert r['offer']['yiaddr'] == '172.22.0.142'
        assert bed.agent.proc.poll() is None
    finally:
        mark = bed.agent.mark()
        bed.agent.write_hosts(c.HOSTS)
        bed.agent.hup()
        bed.agent.wait_log('Reloaded 5 reservations', timeout=10, since=mark)


@pytest.mark.parametrize('case', ['no-caps', 'bad-file'])
def test_start_failures_are_clear(bed, case):
    c.require_root_and('setpriv')
    if case == 'no-caps':
        # as nobody without capabilities: port 67 cannot be bound
        argv = ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup',
                '--clear-groups', '--inh-caps', '-all', '--bounding-set',
                '-all']
        conf = bed.lab.path('nocaps.conf')
        netns.write_conf(conf, {'dhcp_agent': dict(
            c.AGENT_OPTS, reservations_file=bed.agent.hosts_path)})
        want, status = 'cannot open sockets', 1
    else:
        argv = []
        hosts = bed.lab.path('bad-hosts.json')
        netns.write_json(hosts, {'defaults': {'prefix': 24},
                                 'hosts': [{'mac': c.MAC_PXE, 'ip': 'x'}]})
        conf = bed.lab.path('badfile.conf')
        netns.write_conf(conf, {'dhcp_agent': dict(
            c.AGENT_OPTS, reservations_file=hosts)})
        want, status = "hosts[0] (mac %s): ip: 'x'" % c.MAC_PXE, 2
    r = bed.agent_ns.run(*argv, netns.PYTHON, '-m',
                         'vmetal_ironic.cmd.dhcp_agent', '--config-file',
                         conf, check=False, cwd=netns.REPO,
                         env=dict(os.environ, PYTHONPATH=netns.REPO))
    assert r.returncode == status, r.stderr
    assert want in r.stderr
