"""Hostile DNS clients; run inside the client namespace.

    python -m tests.functional.agent.dns.hostile SERVER PORT

Prints one JSON object: for each hostile datagram the RCODE it got (None:
silence), the answers to a flood of queries from one socket, and how the
TCP limits treated a pile of idle connections.
"""

import json
import socket
import struct
import sys
import time

NAME = b'\x06images\x06vmetal\x04test\x00'


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack('!HHHHHH', qid, flags, qd, an, ns, ar)


def query(qid):
    return header(qid) + NAME + b'\x00\x01\x00\x01'


HOSTILE = {
    'empty': b'',
    'short': b'\x12\x34\x01',
    'response': header(1, flags=0x8180) + NAME + b'\x00\x01\x00\x01',
    'oversized': query(2) + b'\0' * 2000,
    'pointer_to_itself': header(3) + b'\xc0\x0c\x00\x01\x00\x01',
    'pointer_loop': header(4) + b'\x01a\xc0\x0c\x00\x01\x00\x01',
    'pointer_chain': header(5) + b'\x01a\xc0\x0e\xc0\x0c\x00\x01\x00\x01',
    'label_past_end': header(6) + b'\x3fabc',
    'notify_opcode': header(7, flags=4 << 11) + NAME + b'\x00\x06\x00\x01',
    'two_questions': header(8, qd=2) + (NAME + b'\x00\x01\x00\x01') * 2,
    'random': bytes(range(256)) * 2,         # qd = 0x0405: FORMERR
    'random_response': b'\xab\xcd\xf0' + bytes(range(200)),
}


def rcode_of(sock, want_id=None, timeout=0.5):
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return None
    if want_id is not None and data[:2] != struct.pack('!H', want_id):
        return 'wrong id'
    return data[3] & 0xf


def closed(conns, want, timeout):
    """How many of ``conns`` the server closed.

    Waits up to ``timeout`` seconds for ``want`` of them.
    """
    done = set()
    deadline = time.monotonic() + timeout
    while True:
        for i, c in enumerate(conns):
            if i in done:
                continue
            c.settimeout(0.01)
            try:
                if c.recv(1) == b'':
                    done.add(i)
            except socket.timeout:
                pass
            except OSError:
                done.add(i)
        if len(done) >= want or time.monotonic() > deadline:
            return len(done)


def main():
    server, port = sys.argv[1], int(sys.argv[2])
    out = {'hostile': {}}
    for name, data in HOSTILE.items():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((server, port))
            s.send(data)
            out['hostile'][name] = rcode_of(s)
    # a flood from one socket: only the rate limit's burst is answered
    time.sleep(1.1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect((server, port))
        t0 = time.monotonic()
        for i in range(3000):
            s.send(query(i))
        out['flood_seconds'] = time.monotonic() - t0
        answered = 0
        while rcode_of(s, timeout=0.5) is not None:
            answered += 1
        out['flood_answered'] = answered
    time.sleep(1.1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((server, port))
        s.send(query(4242))
        out['after_flood'] = rcode_of(s, 4242, timeout=2)
    # idle TCP connections: at most 4 from this address are kept
    conns = []
    for _ in range(20):
        c = socket.create_connection((server, port), timeout=2)
        conns.append(c)
    out['tcp_closed_at_once'] = closed(conns, 16, 3.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((server, port))
        s.send(query(4343))
        out['udp_while_tcp_held'] = rcode_of(s, 4343, timeout=2)
    # past the idle limit (5 s)
    out['tcp_closed_after_idle'] = closed(conns, len(conns), 15.0)
    for c in conns:
        c.close()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
