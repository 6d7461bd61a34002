"""Mutated HTTP request heads from the proxy's real traffic (fuzz input).

Seeds are what passes the proxy: iPXE fetching boot.ipxe and kernels,
the ramdisk's lookup and heartbeat (with a body, by length or chunked),
curl's HEAD and range requests. :func:`case` picks a seed and applies a
few mutations chosen for HTTP: byte flips and inserts (controls, CR/LF,
high bytes), deleted or duplicated lines, obsolete folding, framing
headers with lenient numbers, percent-encoded and case-changed paths,
truncation.
"""

import random

UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'

SEEDS = [
    b'GET /boot.ipxe HTTP/1.1\r\nConnection: Keep-Alive\r\n'
    b'User-Agent: iPXE/1.21.1\r\nHost: 172.22.0.2:8080\r\n\r\n',
    b'GET /52:54:00:bb:00:01.conf HTTP/1.1\r\nHost: 172.22.0.2:8080\r\n'
    b'User-Agent: iPXE/1.21.1\r\n\r\n',
    b'GET /images/deploy_kernel HTTP/1.1\r\nHost: 172.22.0.2\r\n'
    b'Range: bytes=0-1023\r\n\r\n',
    b'HEAD /images/deploy_ramdisk HTTP/1.1\r\nHost: 172.22.0.2\r\n'
    b'User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
    b'GET /v1 HTTP/1.1\r\nHost: 172.22.0.2:8080\r\n'
    b'User-Agent: python-requests/2.31.0\r\nAccept: */*\r\n\r\n',
    b'GET /v1/lookup?addresses=52:54:00:bb:00:01,52:54:00:bb:00:02'
    b'&node_uuid=' + UUID.encode() + b' HTTP/1.1\r\nHost: 172.22.0.2:8080\r\n'
    b'Accept-Encoding: gzip, deflate\r\nAccept: */*\r\n'
    b'Connection: keep-alive\r\nX-OpenStack-Ironic-API-Version: 1.68\r\n'
    b'\r\n',
    b'POST /v1/heartbeat/' + UUID.encode() + b' HTTP/1.1\r\n'
    b'Host: 172.22.0.2:8080\r\nContent-Type: application/json\r\n'
    b'Content-Length: 2\r\n\r\n{}',
    b'POST /v1/continue_inspection HTTP/1.1\r\nHost: 172.22.0.2:8080\r\n'
    b'Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n'
    b'2\r\n{}\r\n0\r\n\r\n',
    b'GET /boot.ipxe HTTP/1.0\r\n\r\n',
]

_BYTES = b'\x00\x01\x09\x0b\x0d\x0a\x20\x7f\x80\xff%;/\\:",.-+_x0'
_PATH_TRICKS = [b'/%76%31/nodes', b'/%2fv1/nodes', b'/V1/nodes',
                b'/v1;x/nodes', b'/v1/%6eodes', b'//v1/nodes', b'/v1/./nodes',
                b'/a/../v1/nodes', b'/v1%2F..%2Fnodes', b'/%2e%2e/etc',
                b'/v1/heartbeat/' + UUID.encode() + b'%2f..',
                b'/a?b\x01c', b'/boot.ipxe#frag', b'http://10.0.0.1/v1/nodes',
                b'*', b'/%', b'/%zz', b'/%c0%af', b'/\xc3\xa9']
_NUMBERS = [b'+3', b'1_0', b'-1', b'0x4', b' 3', b'3 ', b'3,3', b'1e3',
            b'99999999999999999999', b'', b'00', b'\xd9\xa3']
_FRAMING = [b'Content-Length', b'Transfer-Encoding', b'Host',
            b'Content-length ', b'Transfer-Encoding\t', b'Expect']
_CODINGS = [b'chunked', b'CHUNKED', b'gzip, chunked', b'chunked, gzip',
            b'identity', b' chunked', b'chunked\x0b']


def _lines(head):
    top, sep, body = head.partition(b'\r\n\r\n')
    return top.split(b'\r\n'), body


def _join(lines, body):
    return b'\r\n'.join(lines) + b'\r\n\r\n' + body


def _mutate(rng, head):
    lines, body = _lines(head)
    kind = rng.randrange(11)
    if kind == 0 and head:          # flip / replace a byte
        i = rng.randrange(len(head))
        b = bytearray(head)
        b[i] = rng.choice(_BYTES) if rng.random() < 0.7 else rng.randrange(256)
        return bytes(b)
    if kind == 1:                   # insert a byte
        i = rng.randrange(len(head) + 1)
        return head[:i] + bytes([rng.choice(_BYTES)]) + head[i:]
    if kind == 2 and len(lines) > 1:    # delete or duplicate a field line
        i = rng.randrange(1, len(lines))
        if rng.random() < 0.5:
            del lines[i]
        else:
            lines.insert(i, lines[i])
        return _join(lines, body)
    if kind == 3 and len(lines) > 1:    # obsolete line folding
        i = rng.randrange(1, len(lines) + 1)
        lines.insert(i, rng.choice([b' Content-Length: 99', b'\tx',
                                    b' ']))
        return _join(lines, body)
    if kind == 4:                   # a framing field with a lenient value
        name = rng.choice(_FRAMING)
        value = (rng.choice(_CODINGS) if b'Transfer' in name
                 else rng.choice(_NUMBERS + [b'3', b'0']))
        lines.insert(rng.randrange(1, len(lines) + 1), name + b': ' + value)
        return _join(lines, body)
    if kind == 5:                   # a tricky path
        parts = lines[0].split(b' ')
        if len(parts) == 3:
            parts[1] = rng.choice(_PATH_TRICKS)
            lines[0] = b' '.join(parts)
        return _join(lines, body)
    if kind == 6:                   # chunk size lines
        lines = [ln for ln in lines
                 if not ln.lower().startswith(b'content-length')]
        if not any(ln.lower().startswith(b'transfer-encoding')
                   for ln in lines):
            lines.append(b'Transfer-Encoding: chunked')
        size = rng.choice([b'-1', b'0x4', b'+4', b'4 ', b'4;a=b', b'4;',
                           b'4 ; x="y"', b'fffffffffffffffff', b'4\x00'])
        return _join(lines, size + b'\r\nabcd\r\n0\r\n\r\n')
    if kind == 7:                   # truncate
        return head[:rng.randrange(len(head) + 1)]
    if kind == 8:                   # bare LF or CR instead of CRLF
        return head.replace(b'\r\n', rng.choice([b'\n', b'\r', b'\r\r\n']),
                            rng.randrange(1, 4))
    if kind == 9:                   # request-line spacing and version
        parts = lines[0].split(b' ')
        if len(parts) == 3:
            parts[2] = rng.choice([b'HTTP/1.1', b'HTTP/1.0', b'HTTP/2.0',
                                   b'HTTP/1.10', b'http/1.1', b'HTTP/1',
                                   b'HTTP/0.9'])
            sep = rng.choice([b' ', b'  ', b'\t', b' '])
            lines[0] = sep.join(parts)
        return _join(lines, body)
    # case-changed method or field name
    i = rng.randrange(len(lines))
    lines[i] = lines[i].swapcase() if rng.random() < 0.3 else \
        lines[i].replace(b':', b' :', 1)
    return _join(lines, body)


def case(rng: random.Random) -> bytes:
    """One request (head and whatever body follows) to feed the proxy."""
    data = rng.choice(SEEDS)
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        data = _mutate(rng, data)
    return data


def split(data: bytes) -> bytes:
    """The head part of ``data`` (through its first blank line)."""
    start = 0
    while data.startswith(b'\r\n', start):
        start += 2
    end = data.find(b'\r\n\r\n', start)
    return data if end < 0 else data[:end + 4]
