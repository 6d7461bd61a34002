#!/usr/bin/env python3
"""The client of benchmarks/push_latency.py: DISCOVERs until the OFFER.

Runs in the client namespace (``python3 push_probe.py SERVER_IP
RELAY_IP``), driven through stdin/stdout by :class:`Prober`: for each
"MAC IP" line it prints "ready", then sends a relayed DISCOVER for MAC
every millisecond until an OFFER of IP answers one of them, and prints
one "offer" line (see :func:`probe_main`).
"""

import select
import socket
import struct
import subprocess
import sys
import time


def discover(mac, xid, giaddr):
    pkt = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 1, xid, 0, 0,
                      b'\0' * 4, b'\0' * 4, b'\0' * 4,
                      socket.inet_aton(giaddr), mac + b'\0' * 10, b'', b'')
    return pkt + b'\x63\x82\x53\x63' + b'\x35\x01\x01\xff'


def is_offer(data, xid, ip):
    if len(data) < 244 or data[0] != 2:
        return False
    if struct.unpack('!I', data[4:8])[0] != xid:
        return False
    return (data[16:20] == socket.inet_aton(ip)
            and b'\x35\x01\x02' in data[240:])


SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)


def probe_main(server_ip, relay_ip):
    """stdin: "MAC IP" lines; stdout: one "offer" line per change.

    Each DISCOVER of a change has an xid of its own, so the OFFER tells
    which one it answers. The line gives, in CLOCK_MONOTONIC ns: when the
    OFFER was read, when the kernel received it (SO_TIMESTAMPNS, moved from
    CLOCK_REALTIME to CLOCK_MONOTONIC), when the DISCOVER it answers was
    sent, and how many DISCOVERs were sent.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((relay_ip, 67))
    s.setblocking(False)
    xid = 1
    for line in sys.stdin:
        mac_s, ip = line.split()
        mac = bytes.fromhex(mac_s.replace(':', ''))
        sent = {}
        gap = last = 0
        print('ready', flush=True)
        deadline = time.monotonic() + 30
        got = None
        while got is None and time.monotonic() < deadline:
            xid = xid % 0xfffffff0 + 1
            pkt = discover(mac, xid, relay_ip)
            now = time.monotonic_ns()
            if sent:
                gap = max(gap, now - last)
            sent[xid] = last = now
            s.sendto(pkt, (server_ip, 67))
            end = time.monotonic() + 0.001
            while True:
                r, _, _ = select.select([s], [], [],
                                        max(0, end - time.monotonic()))
                if not r:
                    break
                data, anc, _flags, _addr = s.recvmsg(2048, 64)
                user = time.monotonic_ns()
                rx_xid = struct.unpack('!I', data[4:8])[0] if len(
                    data) >= 8 else 0
                if rx_xid in sent and is_offer(data, rx_xid, ip):
                    kernel = user
                    for level, kind, cdata in anc:
                        if (level == socket.SOL_SOCKET
                                and kind == SO_TIMESTAMPNS):
                            sec, nsec = struct.unpack('qq', cdata[:16])
                            kernel = (sec * 10 ** 9 + nsec - time.time_ns()
                                      + time.monotonic_ns())
                    got = (user, min(kernel, user), sent[rx_xid], len(sent),
                           gap)
                    break
        print('offer %s' % (' '.join(map(str, got)) if got else 'none'),
              flush=True)


class Prober:
    #: The client stands for the servers' own firmware, on machines of
    #: their own: SCHED_FIFO keeps it from being the one that waits for a
    #: CPU on a loaded machine (--prober-normal: as any process).
    realtime = True

    def __init__(self, bed):
        rt = ['chrt', '-f', '1'] if self.realtime else []
        self.p = subprocess.Popen(
            bed.exec_in(bed.cli, 1) + rt + [
                sys.executable, __file__, bed.server_ip, bed.client_ip],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def arm(self, mac, ip):
        self.p.stdin.write('%s %s\n' % (mac, ip))
        self.p.stdin.flush()
        assert self.p.stdout.readline().strip() == 'ready'

    def wait(self):
        """(read, kernel rx, DISCOVER sent) in s and the sends, or None."""
        words = self.p.stdout.readline().split()
        if len(words) != 6 or words[0] != 'offer':
            return None
        user, kernel, sent, n, gap = map(int, words[1:])
        return user / 1e9, kernel / 1e9, sent / 1e9, n, gap / 1e6

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


if __name__ == '__main__':
    probe_main(sys.argv[1], sys.argv[2])
