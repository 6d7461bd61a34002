#!/usr/bin/env python3
"""Check that every client gets exactly its reserved address (relay mode).

perfdhcp counts exchanges, not addresses. This sends one DISCOVER per
reserved MAC the way perfdhcp does (from ``client_ip:67``, giaddr set, to
the server, or broadcast when several are on the segment) and checks the
OFFERs: one from
each expected server identifier, each with exactly the reserved address.
Missing answers are asked again (three rounds), so a drop under load is
not counted as a wrong address.

    ip netns exec CLI python3 verify.py '{"client_ip": ..., "server_ids":
        [...], "reservations": [[mac, ip], ...]}'

prints one JSON object: exact, wrong, missing, and a few examples.
The functions :func:`check_all` and :func:`answered_by_all` run it in the
bed's client namespace.
"""

import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

MAGIC = b'\x63\x82\x53\x63'


def discover(xid, mac, giaddr):
    chaddr = bytes.fromhex(mac.replace(':', '')) + b'\0' * 10
    head = struct.pack('!BBBBIHH4s4s4s4s16s', 1, 1, 6, 1, xid, 0, 0,
                       b'\0' * 4, b'\0' * 4, b'\0' * 4,
                       socket.inet_aton(giaddr), chaddr)
    return head + b'\0' * 192 + MAGIC + b'\x35\x01\x01\xff'


def server_id(payload):
    i = 240
    while i + 1 < len(payload):
        code = payload[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        n = payload[i + 1]
        if code == 54 and n == 4:
            return socket.inet_ntoa(payload[i + 2:i + 6])
        i += 2 + n
    return None


def run(spec):
    expected = sorted(spec['server_ids'])
    # one server: to its address, as perfdhcp (a server bound to its
    # address, as Kea's UDP sockets are, gets no broadcast); several: to all
    target = expected[0] if len(expected) == 1 else '255.255.255.255'
    res = spec['reservations']
    seen = {i: set() for i in range(len(res))}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((spec['client_ip'], 67))
    base = int.from_bytes(os.urandom(2), 'big') << 16
    for _round in range(3):
        todo = [i for i in seen if len(seen[i]) < len(expected)]
        if not todo:
            break
        for k in range(0, len(todo), 64):
            for i in todo[k:k + 64]:
                sock.sendto(discover(base + i, res[i][0], spec['client_ip']),
                            (target, 67))
            _drain(sock, seen, base, 0.02)
        _drain(sock, seen, base, 1.0)
    exact = wrong = missing = 0
    examples = []
    for i, (mac, ip) in enumerate(res):
        got = sorted(seen[i])
        if got == [(sid, ip) for sid in expected]:
            exact += 1
        elif any(y != ip for _, y in got):
            wrong += 1
            examples.append({'mac': mac, 'reserved': ip, 'got': got})
        else:
            missing += 1
            examples.append({'mac': mac, 'reserved': ip, 'got': got})
    return {'exact': exact, 'wrong': wrong, 'missing': missing,
            'server_ids': expected, 'examples': examples[:5]}


def _drain(sock, seen, base, wait):
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return
        data = sock.recv(4096)
        if len(data) < 240 or data[0] != 2 or data[236:240] != MAGIC:
            continue
        i = int.from_bytes(data[4:8], 'big') - base
        if i in seen:
            seen[i].add((server_id(data), socket.inet_ntoa(data[16:20])))


def _in_bed(bed, server_ids, reservations):
    spec = {'client_ip': bed.client_ip, 'server_ids': server_ids,
            'reservations': reservations}
    out = subprocess.run(['ip', 'netns', 'exec', bed.cli, sys.executable,
                          os.path.abspath(__file__), json.dumps(spec)],
                         capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError('verify failed: %s' % out.stderr[-2000:])
    return json.loads(out.stdout)


def check_all(bed, server_ids):
    """The verification of every reservation of ``bed``."""
    return _in_bed(bed, server_ids, bed.reservations)


def answered_by_all(bed, mac, server_ids):
    """True once every server answers ``mac`` (start-up of two agents)."""
    ip = dict(bed.reservations)[mac]
    return _in_bed(bed, server_ids, [[mac, ip]])['exact'] == 1


if __name__ == '__main__':
    print(json.dumps(run(json.loads(sys.argv[1]))))
