"""The three DHCP servers of the benchmark, configured for the same job.

Each answers static reservations only (MAC -> fixed IPv4 address, a PXE
boot file and next-server) on ``srv0`` of the server namespace, for
requests relayed by perfdhcp (giaddr = the client namespace's address).
A server is a function ``(bed, workdir) -> argv``; it writes its files
into ``workdir``.
"""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BOOTFILE = 'undionly.kpxe'
LEASE_TIME = 43200


def vmetal_agent(bed, workdir, interface=None, address=None, tag=''):
    """One agent; ``interface``/``address`` default to the server's."""
    interface = interface or bed.server_if
    address = address or bed.server_ip
    hosts = [{'mac': mac, 'ip': ip} for mac, ip in bed.reservations]
    path = os.path.join(workdir, 'reservations%s.json' % tag)
    with open(path, 'w') as f:
        json.dump({'defaults': {
            'prefix': bed.prefixlen, 'lease_time': LEASE_TIME,
            'ipxe_script_url': 'http://%s/boot.ipxe' % bed.server_ip},
            'hosts': hosts}, f)
    conf = os.path.join(workdir, 'agent%s.conf' % tag)
    with open(conf, 'w') as f:
        f.write('[DEFAULT]\nuse_stderr = true\n'
                'default_log_levels = vmetal_ironic=WARNING\n'
                '[dhcp_agent]\ninterface = %s\nserver_address = %s\n'
                'reservations_file = %s\nbios_bootfile = %s\n'
                'lease_time = %d\nboot_options_for_all_clients = true\n'
                'tftp_enabled = false\nhttp_proxy_enabled = false\n'
                % (interface, address, path, BOOTFILE, LEASE_TIME))
    python = os.environ.get('VMETAL_PYTHON') or os.path.join(
        REPO, '.venv', 'bin', 'python')
    if not os.path.exists(python):
        python = sys.executable
    return [python, '-m', 'vmetal_ironic.cmd.dhcp_agent',
            '--config-file', conf]


def dnsmasq(bed, workdir):
    hosts = os.path.join(workdir, 'hosts')
    with open(hosts, 'w') as f:
        f.writelines('%s,%s\n' % r for r in bed.reservations)
    conf = os.path.join(workdir, 'dnsmasq.conf')
    with open(conf, 'w') as f:
        f.write('\n'.join([
            'port=0',                      # no DNS
            'interface=%s' % bed.server_if, 'bind-interfaces',
            'dhcp-range=%s,static,%s,%ds' % (bed.network, bed.netmask,
                                             LEASE_TIME),
            'dhcp-hostsfile=%s' % hosts,
            # the default of 1000 leases silently ignores further clients
            'dhcp-lease-max=%d' % (len(bed.reservations) + 100),
            'dhcp-leasefile=%s' % os.path.join(workdir, 'leases'),
            'dhcp-boot=%s,,%s' % (BOOTFILE, bed.server_ip),
            'dhcp-authoritative', 'no-ping', 'no-resolv', 'no-hosts',
            'pid-file=', 'user=root', '']))
    return ['dnsmasq', '--keep-in-foreground', '--conf-file=%s' % conf]


def kea(bed, workdir):
    config = {'Dhcp4': {
        'interfaces-config': {'interfaces': [bed.server_if],
                              'dhcp-socket-type': 'udp'},
        'lease-database': {'type': 'memfile', 'persist': False},
        'valid-lifetime': LEASE_TIME,
        'host-reservation-identifiers': ['hw-address'],
        'reservations-global': False, 'reservations-in-subnet': True,
        'reservations-out-of-pool': True,
        'next-server': bed.server_ip, 'boot-file-name': BOOTFILE,
        'subnet4': [{'id': 1, 'subnet': '%s/%d' % (bed.network,
                                                   bed.prefixlen),
                     'reservations': [{'hw-address': mac, 'ip-address': ip}
                                      for mac, ip in bed.reservations]}],
        'loggers': [{'name': 'kea-dhcp4', 'severity': 'WARN',
                     'output_options': [{'output': 'stderr'}]}],
    }}
    conf = os.path.join(workdir, 'kea-dhcp4.conf')
    with open(conf, 'w') as f:
        json.dump(config, f)
    return ['kea-dhcp4', '-c', conf]


def vmetal_agents(bed, workdir):
    """Two agents on one segment (active-active), in two namespaces.

    Each is its own DHCP server (server identifier = its own address) with
    the same reservations; see doc/active-active.md.
    """
    return [('srv', vmetal_agent(bed, workdir)),
            ('srv2', vmetal_agent(bed, workdir, bed.server2_if,
                                  bed.server2_ip, '2'))]


SERVERS = {'vmetal-agent': vmetal_agent, 'vmetal-agent-x2': vmetal_agents,
           'dnsmasq': dnsmasq, 'kea': kea}
# ours, in the report's ratios: one agent, then two
OURS = ('vmetal-agent', 'vmetal-agent-x2')
# the server identifier of the server in each namespace
SERVER_ID = {'srv': lambda bed: bed.server_ip,
             'srv2': lambda bed: bed.server2_ip}


def launch(name, bed, workdir):
    """[(namespace attribute of the bed, argv)] of server ``name``."""
    made = SERVERS[name](bed, workdir)
    return made if name == 'vmetal-agent-x2' else [('srv', made)]


# environment of a server (Kea writes its PID and lock files there)
ENV = {'kea': lambda workdir: {'KEA_PIDFILE_DIR': workdir,
                               'KEA_LOCKFILE_DIR': workdir}}
