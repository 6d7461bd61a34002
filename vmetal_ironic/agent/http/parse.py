"""A strict HTTP/1.1 request-head and chunked-framing parser (pure).

Exactly the grammar of RFC 9112 (with RFC 9110 tokens and RFC 3986
request-target characters), nothing "whatever int() accepts":

* request-line ``method SP request-target SP HTTP-version CRLF``; the
  method a token, the target printable ASCII from RFC 3986's set, the
  version ``HTTP/1.0`` or ``HTTP/1.1``; lines end with CRLF (a bare CR or
  LF is refused); empty lines before the request-line are skipped
  (section 2.2);
* field lines ``token ":" OWS value OWS``: no whitespace before the
  colon, no obsolete line folding (section 5.2), no control character in
  a value, at most :data:`MAX_FIELDS` of them;
* framing (section 6): ``Content-Length`` is ``1*DIGIT`` and appears
  once; ``Transfer-Encoding`` is exactly ``chunked`` and only in
  HTTP/1.1; both together are refused; HTTP/1.1 needs exactly one Host;
* chunked bodies: ``chunk-size`` is ``1*HEXDIG`` with an optional
  ``chunk-ext``, trailer fields are field lines, all within fixed sizes.

Anything else is a :class:`Invalid` with the status to answer (400, or
501/505 for an unsupported coding or version).
"""

from __future__ import annotations

import dataclasses
import re

MAX_HEAD_SIZE = 16384
MAX_FIELDS = 64
MAX_CHUNK_LINE = 1024
MAX_TRAILER_SIZE = 4096
MAX_LENGTH_DIGITS = 18

_TCHAR = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN_RE = re.compile(rb'[%s]+' % _TCHAR.encode())
# RFC 3986 characters of every request-target form, "#" excluded.
_TARGET_RE = re.compile(
    rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})+")
_VERSION_RE = re.compile(rb'HTTP/([0-9])\.([0-9])')
# field-value: VCHAR / obs-text with SP and HTAB inside, none at the ends.
_VALUE_RE = re.compile(rb'(?:[\x21-\x7e\x80-\xff](?:[ \t\x21-\x7e\x80-\xff]*'
                       rb'[\x21-\x7e\x80-\xff])?)?')
_OWS = b' \t'
_BARE_RE = re.compile(rb'\r(?!\n)|(?<!\r)\n')
_DIGITS_RE = re.compile(rb'[0-9]+')
# chunk-size [ chunk-ext ]: *( BWS ";" BWS name [ BWS "=" BWS value ] )
_QUOTED = (rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]'
           rb'|\\[\t \x21-\x7e\x80-\xff])*"')
_EXT = rb'[ \t]*;[ \t]*%s(?:[ \t]*=[ \t]*(?:%s|%s))?' % (
    _TOKEN_RE.pattern, _TOKEN_RE.pattern, _QUOTED)
_CHUNK_RE = re.compile(rb'([0-9A-Fa-f]{1,16})((?:%s)*)\r\n' % _EXT)


@dataclasses.dataclass(frozen=True)
class Invalid:
    """A request refused before anything else: answer ``status``."""

    status: int
    reason: str


class Fields:
    """The field lines of a head, in order; names compare caseless."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        """(name, value) pairs as received."""
        return list(self._items)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``."""
        lower = name.lower()
        return [v for n, v in self._items if n.lower() == lower]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        found = self.get_all(name)
        return found[0] if found else default

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __len__(self) -> int:
        return len(self._items)


@dataclasses.dataclass(frozen=True)
class Head:
    """A well-formed request head and its body framing."""

    method: str
    target: str
    version: str
    fields: Fields
    content_length: int
    chunked: bool
    keep_alive: bool


def head_end(data: bytes) -> int | None:
    """Where the head in ``data`` ends (after its blank line).

    :returns: the offset just past the head's final CRLF CRLF; -1 when
        what arrived can never become a valid head (a bare CR or LF, or
        more than :data:`MAX_HEAD_SIZE` bytes); None when more is needed.
    """
    start = 0
    while data.startswith(b'\r\n', start):
        start += 2
    end = data.find(b'\r\n\r\n', start)
    if end >= 0:
        scan = data[:end + 4]
    else:   # a CR at the very end may yet be followed by its LF
        scan = data[:-1] if data.endswith(b'\r') else data
    if _BARE_RE.search(scan):
        return -1
    if end >= 0:
        return end + 4 if end + 4 <= MAX_HEAD_SIZE else -1
    return -1 if len(data) >= MAX_HEAD_SIZE else None


def _field(line: bytes) -> tuple[str, str] | Invalid:
    if line[:1] in (b' ', b'\t'):
        return Invalid(400, 'obsolete line folding')
    name, colon, value = line.partition(b':')
    if not colon or not _TOKEN_RE.fullmatch(name):
        return Invalid(400, 'malformed field line')
    value = value.strip(_OWS)
    if not _VALUE_RE.fullmatch(value):
        return Invalid(400, 'control character in field %s'
                       % name.decode('ascii'))
    return name.decode('ascii'), value.decode('latin-1')


def parse_fields(lines: list[bytes]) -> Fields | Invalid:
    """Field lines (without CRLF) as :class:`Fields`."""
    if len(lines) > MAX_FIELDS:
        return Invalid(400, 'more than %d field lines' % MAX_FIELDS)
    items = []
    for line in lines:
        f = _field(line)
        if isinstance(f, Invalid):
            return f
        items.append(f)
    return Fields(items)


def parse_head(data: bytes) -> Head | Invalid:
    """Parse one request head (as delimited by :func:`head_end`).

    :param data: the bytes up to and including the blank line.
    :returns: a :class:`Head`, or :class:`Invalid`.
    """
    if len(data) > MAX_HEAD_SIZE:
        return Invalid(431, 'request head larger than %d bytes'
                       % MAX_HEAD_SIZE)
    if _BARE_RE.search(data) or not data.endswith(b'\r\n\r\n'):
        return Invalid(400, 'lines must end with CRLF')
    lines = data[:-4].split(b'\r\n')
    while lines and lines[0] == b'':
        lines.pop(0)
    if not lines:
        return Invalid(400, 'no request line')
    parts = lines[0].split(b' ')
    if len(parts) != 3:
        return Invalid(400, 'malformed request line')
    method, target, version = parts
    if not _TOKEN_RE.fullmatch(method):
        return Invalid(400, 'malformed method')
    if not _TARGET_RE.fullmatch(target):
        return Invalid(400, 'invalid character in request target')
    m = _VERSION_RE.fullmatch(version)
    if not m:
        return Invalid(400, 'malformed HTTP version')
    if m.group(1) != b'1' or m.group(2) not in (b'0', b'1'):
        return Invalid(505, 'HTTP version not supported')
    fields = parse_fields(lines[1:])
    if isinstance(fields, Invalid):
        return fields
    framing = _framing(fields, version == b'HTTP/1.1')
    if isinstance(framing, Invalid):
        return framing
    length, chunked, keep_alive = framing
    return Head(method.decode('ascii'), target.decode('ascii'),
                version.decode('ascii'), fields, length, chunked,
                keep_alive)


def _framing(fields: Fields, http11: bool
             ) -> tuple[int, bool, bool] | Invalid:
    hosts = fields.get_all('Host')
    if http11 and len(hosts) != 1 or len(hosts) > 1:
        return Invalid(400, 'HTTP/1.1 needs exactly one Host')
    lengths = fields.get_all('Content-Length')
    codings = fields.get_all('Transfer-Encoding')
    if len(lengths) > 1:
        return Invalid(400, 'more than one Content-Length')
    if len(codings) > 1:
        return Invalid(400, 'more than one Transfer-Encoding')
    if lengths and codings:
        return Invalid(400, 'both Content-Length and Transfer-Encoding')
    length, chunked = 0, False
    if codings:
        if not http11:
            return Invalid(400, 'Transfer-Encoding in an HTTP/1.0 request')
        if codings[0].lower() != 'chunked':
            return Invalid(501, 'transfer coding not supported')
        chunked = True
    elif lengths:
        value = lengths[0].encode('latin-1')
        if not _DIGITS_RE.fullmatch(value) or \
                len(value.lstrip(b'0')) > MAX_LENGTH_DIGITS:
            return Invalid(400, 'invalid Content-Length')
        length = int(value)
    tokens: set[str] = set()
    for connection in fields.get_all('Connection'):
        tokens.update(t.strip().lower() for t in connection.split(','))
    keep_alive = ('close' not in tokens if http11
                  else 'keep-alive' in tokens)
    return length, chunked, keep_alive


def chunk_size(line: bytes) -> int | Invalid:
    """The size of a chunk from its size line (CRLF included).

    :returns: the size (0 for the last chunk), or :class:`Invalid`.
    """
    m = _CHUNK_RE.fullmatch(line)
    if not m or len(line) > MAX_CHUNK_LINE:
        return Invalid(400, 'malformed chunk size line')
    return int(m.group(1), 16)


def trailer_line(line: bytes) -> bool | Invalid:
    """Check one trailer line (CRLF included).

    :returns: True for the blank line that ends the body, False for a
        well-formed trailer field (discarded), or :class:`Invalid`.
    """
    if line == b'\r\n':
        return True
    if not line.endswith(b'\r\n') or _BARE_RE.search(line[:-2]):
        return Invalid(400, 'malformed trailer')
    f = _field(line[:-2])
    return f if isinstance(f, Invalid) else False
