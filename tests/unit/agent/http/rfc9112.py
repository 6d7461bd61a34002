"""An independent strict reading of an HTTP/1.1 request head (test oracle).

Written from RFC 9112 (sections 2-7) and RFC 9110 (5.6.2 tokens, 5.5 field
values) character by character, without the agent's code or regular
expressions, plus the agent's documented policy: version 1.0 or 1.1 only,
exactly one Host in HTTP/1.1, Content-Length and Transfer-Encoding at most
once and never together, "chunked" the only transfer coding, a head of at
most 16 KiB with at most 64 field lines, no obsolete line folding.

:func:`oracle` returns a dict for a head it accepts and None otherwise.
"""

import string

TCHAR = set((string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
            .encode())
UNRESERVED = set((string.ascii_letters + string.digits + '-._~').encode())
SUB_DELIMS = set(b"!$&'()*+,;=")
TARGET_CHARS = UNRESERVED | SUB_DELIMS | set(b':@/?[]')
HEXDIG = set(b'0123456789abcdefABCDEF')
DIGIT = set(b'0123456789')
VCHAR = set(range(0x21, 0x7f))
OBS_TEXT = set(range(0x80, 0x100))
MAX_HEAD = 16384
MAX_FIELDS = 64


def _token(b):
    return len(b) > 0 and all(c in TCHAR for c in b)


def _target(b):
    if not b:
        return False
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x25:   # "%" HEXDIG HEXDIG
            if i + 2 >= len(b):
                return False
            if b[i + 1] not in HEXDIG or b[i + 2] not in HEXDIG:
                return False
            i += 3
            continue
        if c not in TARGET_CHARS:
            return False
        i += 1
    return True


def _field_value(b):
    # field-value = *field-content, OWS already stripped at both ends
    for c in b:
        if not (c in VCHAR or c in OBS_TEXT or c in (0x20, 0x09)):
            return False
    return True


def _lines(data):
    """Split on CRLF; None if any CR or LF stands alone."""
    out, cur, i = [], bytearray(), 0
    while i < len(data):
        c = data[i]
        if c == 0x0d:
            if i + 1 < len(data) and data[i + 1] == 0x0a:
                out.append(bytes(cur))
                cur = bytearray()
                i += 2
                continue
            return None
        if c == 0x0a:
            return None
        cur.append(c)
        i += 1
    if cur:
        return None     # the head must end with CRLF CRLF
    return out


def oracle(data):
    """The head's facts if RFC 9112 (and the policy) accept it, else None."""
    if len(data) > MAX_HEAD:
        return None
    lines = _lines(data)
    if lines is None:
        return None
    while lines and lines[0] == b'':
        lines = lines[1:]
    # what remains: request-line, fields, and the final empty line
    if len(lines) < 2 or lines[-1] != b'':
        return None
    request_line, fields = lines[0], lines[1:-1]
    if b'' in fields:
        return None
    sp = [i for i, c in enumerate(request_line) if c == 0x20]
    if len(sp) != 2:
        return None
    method = request_line[:sp[0]]
    target = request_line[sp[0] + 1:sp[1]]
    version = request_line[sp[1] + 1:]
    if not _token(method) or not _target(target):
        return None
    if version not in (b'HTTP/1.0', b'HTTP/1.1'):
        return None
    if len(fields) > MAX_FIELDS:
        return None
    parsed = []
    for line in fields:
        if line[:1] in (b' ', b'\t'):
            return None     # obs-fold
        colon = line.find(b':')
        if colon <= 0 or not _token(line[:colon]):
            return None
        value = line[colon + 1:]
        while value[:1] in (b' ', b'\t'):
            value = value[1:]
        while value[-1:] in (b' ', b'\t'):
            value = value[:-1]
        if not _field_value(value):
            return None
        parsed.append((line[:colon].lower(), value))
    names = [n for n, _ in parsed]
    http11 = version == b'HTTP/1.1'
    if names.count(b'host') > 1 or (http11 and names.count(b'host') != 1):
        return None
    if names.count(b'content-length') > 1:
        return None
    if names.count(b'transfer-encoding') > 1:
        return None
    values = dict(parsed)
    length, chunked = 0, False
    if b'transfer-encoding' in values:
        if b'content-length' in values or not http11:
            return None
        if values[b'transfer-encoding'].lower() != b'chunked':
            return None
        chunked = True
    elif b'content-length' in values:
        v = values[b'content-length']
        if not v or any(c not in DIGIT for c in v):
            return None
        if len(v.lstrip(b'0')) > 18:
            return None
        length = int(v)
    return {'method': method.decode(), 'target': target.decode(),
            'version': version.decode(), 'length': length,
            'chunked': chunked}
