#!/usr/bin/env python3
"""Micro-benchmark of the agent's hot path (no sockets).

Times, per packet: codec.parse, the whole DHCPServer.handle (parse, table
lookup, handler chain, reply encoding) for a perfdhcp-like relayed
DISCOVER and REQUEST and a PXE ROM DISCOVER, and the IP/UDP header build of
the layer-2 send path.

    .venv/bin/python benchmarks/dhcp/micro.py [--hosts 100000] [--n 200000]
"""
import argparse
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..'))

from vmetal_ironic.agent.dhcp import codec  # noqa: E402
from vmetal_ironic.agent.dhcp import handlers  # noqa: E402
from vmetal_ironic.agent.dhcp import netboot  # noqa: E402
from vmetal_ironic.agent.dhcp import server  # noqa: E402
from vmetal_ironic.agent.dhcp import transport  # noqa: E402
from vmetal_ironic.agent.sources import hostspec  # noqa: E402
from vmetal_ironic.agent.sources import reservations  # noqa: E402


def packet(mac, msgtype, giaddr=b'\0' * 4, extra=b''):
    hdr = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 1, 0x1234, 0, 0,
                      b'\0' * 4, b'\0' * 4, b'\0' * 4, giaddr, mac, b'', b'')
    opts = (bytes((53, 1, msgtype)) + bytes((61, 7, 1)) + mac
            + bytes((55, 4, 1, 3, 6, 15)) + extra)
    return hdr + codec.MAGIC + opts + b'\xff'


def build_table(n):
    table = reservations.Table()
    hosts = []
    tmpl = None
    defaults = {'prefix': 16, 'gateway': '10.77.0.1'}
    bd = {'bios_bootfile': 'undionly.kpxe', 'tftp_server': '10.77.0.1'}
    boot = hostspec.boot({}, bd, table.interner)
    for i in range(n):
        mac = '02:00:00:%02x:%02x:%02x' % (i >> 16, (i >> 8) & 255, i & 255)
        ip = socket.inet_ntoa((0x0a4d0100 + i).to_bytes(4, 'big'))
        h = hostspec.compile_host(dict(defaults, mac=mac, ip=ip), tmpl, boot,
                                  3600, bd, table.interner, 'file')
        tmpl = h.net
        hosts.append(h)
    table.replace('file', hosts)
    return table


def timeit(label, fn, arg, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn(arg)
    dt = time.perf_counter() - t0
    print('%-28s %7.2f us/packet  %9.0f /s' % (label, dt / n * 1e6, n / dt))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--hosts', type=int, default=100000)
    ap.add_argument('--n', type=int, default=200000)
    a = ap.parse_args()
    t0 = time.perf_counter()
    table = build_table(a.hosts)
    print('table of %d hosts built in %.2f s' % (a.hosts,
                                                 time.perf_counter() - t0))
    ctx = handlers.Context(socket.inet_aton('10.77.0.1'),
                           netboot.Decider('10.77.0.1', all_clients=True))
    srv = server.DHCPServer(table, handlers.Chain.default(ctx), None)
    mac = bytes.fromhex('020000000102')
    gi = socket.inet_aton('10.77.0.2')
    disc = packet(mac, codec.DISCOVER, gi)
    req = packet(mac, codec.REQUEST, gi,
                 bytes((50, 4)) + socket.inet_aton('10.77.2.2')
                 + bytes((54, 4)) + socket.inet_aton('10.77.0.1'))
    pxe = packet(mac, codec.DISCOVER, extra=bytes((60, 32))
                 + b'PXEClient:Arch:00000:UNDI:002001'
                 + bytes((93, 2, 0, 0)))
    assert srv.handle(disc).msg_type == codec.OFFER
    assert srv.handle(req).msg_type == codec.ACK, srv.handle(req).msg_type
    timeit('codec.parse DISCOVER', codec.parse, disc, a.n)
    timeit('handle relayed DISCOVER', srv.handle, disc, a.n)
    timeit('handle relayed REQUEST', srv.handle, req, a.n)
    timeit('handle PXE DISCOVER', srv.handle, pxe, a.n)
    payload = srv.handle(pxe).payload
    timeit('ip_udp_datagram (L2 send)',
           lambda p: transport.ip_udp_datagram(gi, gi, 67, 68, p), payload,
           a.n // 4)


if __name__ == '__main__':
    main()
