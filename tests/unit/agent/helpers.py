"""Shared builders for the agent's unit tests: packets made with scapy
(an independent DHCP implementation) and small reservation tables."""

import socket

from scapy.layers.dhcp import BOOTP
from scapy.layers.dhcp import DHCP

from vmetal_ironic.agent import handlers
from vmetal_ironic.agent import hostspec
from vmetal_ironic.agent import netboot
from vmetal_ironic.agent import reservations
from vmetal_ironic.agent import server

SERVER = '172.22.0.2'
MAC1 = '52:54:00:00:00:01'
MAC2 = '52:54:00:00:00:02'
IP1 = '172.22.0.50'
IP2 = '172.22.0.51'
BOOT_DEFAULTS = {'bios_bootfile': 'undionly.kpxe',
                 'uefi_bootfile': 'snponly.efi',
                 'arm64_bootfile': 'snponly-arm64.efi',
                 'ipxe_script_url': 'http://172.22.0.2:8080/boot.ipxe',
                 'http_boot_url': 'http://172.22.0.2:8080/snponly.efi',
                 'tftp_server': SERVER}
DEFAULTS = {'prefix': 24, 'gateway': '172.22.0.1',
            'dns_servers': ['172.22.0.53'], 'domain': 'prov.example',
            'lease_time': 1800}


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(':', ''))


def request(mac=MAC1, msg='discover', options=(), giaddr='0.0.0.0',
            ciaddr='0.0.0.0', flags=0, xid=0x1234, hops=0):
    """A DHCP request built by scapy, as bytes."""
    opts = [('message-type', msg)] + list(options) + ['end']
    pkt = BOOTP(op=1, chaddr=mac_bytes(mac) + b'\0' * 10, xid=xid,
                giaddr=giaddr, ciaddr=ciaddr, flags=flags,
                hops=hops) / DHCP(options=opts)
    return bytes(pkt)


def decode(payload):
    """A reply parsed by scapy: (BOOTP layer, {option name: value})."""
    b = BOOTP(payload)
    opts = {}
    for o in b[DHCP].options:
        if isinstance(o, tuple):
            opts[o[0]] = o[1] if len(o) == 2 else o[1:]
    return b, opts


def table(hosts=None, defaults=None):
    """A Table with the given host specs (default: MAC1 -> IP1)."""
    t = reservations.Table()
    specs = hosts if hosts is not None else [
        {'mac': MAC1, 'ip': IP1, 'hostname': 'node-1'}]
    built = [hostspec.compile_host(dict(defaults or DEFAULTS, **h), None,
                                   None, 3600, BOOT_DEFAULTS, t.interner,
                                   'file') for h in specs]
    t.replace('file', built)
    return t


def make_server(tbl=None, all_clients=False):
    ctx = handlers.Context(socket.inet_aton(SERVER),
                           netboot.Decider(SERVER, all_clients=all_clients))
    return server.DHCPServer(tbl if tbl is not None else table(),
                             handlers.Chain.default(ctx), None)
