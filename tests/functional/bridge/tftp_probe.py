"""A raw TFTP client for tests (an independent, minimal implementation).

    python -m tests.functional.bridge.tftp_probe '{"server": "172.22.0.2",
        "name": "snponly.efi", "options": {"blksize": 1468}}'

Prints one JSON object: ``{"error": [code, message]}`` if the server
answered with an ERROR, else ``{"size", "sha256", "oack", "blocks",
"retransmits"}``. ``drop_acks`` skips acknowledging that many DATA
packets (to make the server retransmit); ``opcode`` 2 sends a WRQ.
"""

import hashlib
import json
import socket
import struct
import sys


def fetch(doc):
    """Fetch a file as ``doc`` says; the result dict (see above)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(doc.get('timeout', 5))
    req = struct.pack('!H', doc.get('opcode', 1)) + doc['name'].encode() + \
        b'\0' + doc.get('mode', 'octet').encode() + b'\0'
    for k, v in doc.get('options', {}).items():
        req += k.encode() + b'\0' + str(v).encode() + b'\0'
    sock.sendto(req, (doc['server'], doc.get('port', 69)))
    blksize = int(doc.get('options', {}).get('blksize', 512))
    window = int(doc.get('options', {}).get('windowsize', 1))
    drop = doc.get('drop_acks', 0)
    data, expected, oack, seen, retrans = [], 1, {}, set(), 0
    peer = None
    while True:
        pkt, addr = sock.recvfrom(70000)
        if peer is None:
            peer = addr
        elif addr != peer:
            continue
        op = struct.unpack('!H', pkt[:2])[0]
        if op == 5:
            code = struct.unpack('!H', pkt[2:4])[0]
            sock.close()
            return {'error': [code, pkt[4:-1].decode()],
                    'from_port': addr[1]}
        if op == 6:
            fields = pkt[2:-1].split(b'\0')
            oack = {fields[i].decode(): fields[i + 1].decode()
                    for i in range(0, len(fields) - 1, 2)}
            blksize = int(oack.get('blksize', 512))
            window = int(oack.get('windowsize', 1))
            sock.sendto(struct.pack('!HH', 4, 0), peer)
            continue
        block = struct.unpack('!H', pkt[2:4])[0]
        if block in seen or block != expected & 0xFFFF:
            retrans += 1
            continue
        seen.add(block)
        payload = pkt[4:]
        data.append(payload)
        last = len(payload) < blksize
        if drop > 0 and not last:
            drop -= 1
            seen.discard(block)
            data.pop()
            continue   # never acknowledged: the server must send it again
        expected += 1
        if last or (expected - 1) % window == 0:
            sock.sendto(struct.pack('!HH', 4, block), peer)
            seen = set()
        if last:
            break
    body = b''.join(data)
    sock.close()
    return {'size': len(body), 'sha256': hashlib.sha256(body).hexdigest(),
            'oack': oack, 'blocks': expected - 1, 'retransmits': retrans,
            'body': body if doc.get('keep_body') else None}


def main():
    result = fetch(json.loads(sys.argv[1]))
    result.pop('body', None)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
