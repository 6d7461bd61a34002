"""TFTP packets and option negotiation (pure: values in, values out).

RFC 1350 (the protocol), RFC 2347 (option extension), RFC 2348 (blksize),
RFC 2349 (timeout, tsize) and RFC 7440 (windowsize). Only what a read-only
server needs: parse requests, ACKs and errors; build DATA, OACK and ERROR.
"""

import dataclasses
import struct

OP_RRQ = 1
OP_WRQ = 2
OP_DATA = 3
OP_ACK = 4
OP_ERROR = 5
OP_OACK = 6

# The error codes this server sends (RFC 1350 section 5, RFC 2347).
ERR_UNDEFINED = 0
ERR_NOT_FOUND = 1
ERR_ACCESS = 2
ERR_ILLEGAL_OP = 4
ERR_OPTION = 8

MIN_BLKSIZE = 8
MAX_BLKSIZE = 65464
DEFAULT_BLKSIZE = 512
MIN_TIMEOUT = 1
MAX_TIMEOUT = 255
MAX_WINDOWSIZE = 65535

MODES = ('octet', 'netascii')
# RFC 2347: a request, options included, is at most 512 bytes.
MAX_REQUEST = 512

_HEAD = struct.Struct('!HH')
_OP = struct.Struct('!H')


class PacketError(ValueError):
    """A datagram that is not a valid TFTP packet for this server."""


@dataclasses.dataclass(frozen=True)
class Request:
    """A read or write request.

    ``options`` holds the option names in lower case with their raw values,
    in the order the client sent them.
    """

    opcode: int
    filename: str
    mode: str
    options: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Negotiated:
    """The transfer parameters agreed with a client.

    ``oack`` holds the options to acknowledge (empty: send no OACK and
    start with DATA block 1).
    """

    blksize: int
    timeout: float
    windowsize: int
    oack: dict[str, str]


def parse_request(data: bytes) -> Request:
    """Parse an RRQ or WRQ.

    :param data: the datagram.
    :returns: a :class:`Request`.
    :raises PacketError: if it is not a well formed request.
    """
    if len(data) < 4:
        raise PacketError('request too short (%d bytes)' % len(data))
    if len(data) > MAX_REQUEST:
        raise PacketError('request of %d bytes (RFC 2347: at most %d)'
                          % (len(data), MAX_REQUEST))
    opcode = _OP.unpack_from(data)[0]
    if opcode not in (OP_RRQ, OP_WRQ):
        raise PacketError('opcode %d is not a request' % opcode)
    if not data.endswith(b'\0'):
        raise PacketError('request not terminated by NUL')
    fields = data[2:-1].split(b'\0')
    if len(fields) < 2 or len(fields) % 2:
        raise PacketError('request has %d fields' % len(fields))
    try:
        texts = [f.decode('ascii') for f in fields]
    except UnicodeDecodeError:
        raise PacketError('request is not ASCII')
    filename, mode = texts[0], texts[1].lower()
    if not filename:
        raise PacketError('empty file name')
    if mode not in MODES and mode != 'mail':
        raise PacketError('unknown mode %r' % mode)
    options = {}
    for i in range(2, len(texts), 2):
        name = texts[i].lower()
        if name and name not in options:
            options[name] = texts[i + 1]
    return Request(opcode, filename, mode, options)


def _field(data: bytes, expected: int, what: str) -> int:
    """The 16-bit field after the opcode, which must be ``expected``."""
    if len(data) < 4:
        raise PacketError('packet too short (%d bytes)' % len(data))
    opcode, value = _HEAD.unpack_from(data)
    if opcode != expected:
        raise PacketError('opcode %d is not %s' % (opcode, what))
    return value


def parse_ack(data: bytes) -> int:
    """The block number of an ACK.

    :raises PacketError: if the datagram is not an ACK.
    """
    return _field(data, OP_ACK, 'an ACK')


def parse_error(data: bytes) -> tuple[int, str]:
    """Code and message of an ERROR packet.

    :raises PacketError: if the datagram is not an ERROR.
    """
    code = _field(data, OP_ERROR, 'an ERROR')
    message = data[4:].split(b'\0', 1)[0].decode('ascii', 'replace')
    return code, message


def opcode_of(data: bytes) -> int:
    """The opcode of a datagram, or 0 if it is too short to have one."""
    if len(data) < 2:
        return 0
    return _OP.unpack_from(data)[0]


def build_data(block: int, payload: bytes) -> bytes:
    """A DATA packet; ``block`` is taken modulo 65536 (rollover)."""
    return _HEAD.pack(OP_DATA, block & 0xFFFF) + payload


def build_ack(block: int) -> bytes:
    """An ACK packet (used by tests and clients)."""
    return _HEAD.pack(OP_ACK, block & 0xFFFF)


def build_error(code: int, message: str) -> bytes:
    """An ERROR packet with an ASCII message."""
    text = message.encode('ascii', 'replace')[:400]
    return _HEAD.pack(OP_ERROR, code) + text + b'\0'


def build_oack(options: dict[str, str]) -> bytes:
    """An OACK packet acknowledging ``options`` in the given order."""
    parts = [_OP.pack(OP_OACK)]
    for name, value in options.items():
        parts.append(name.encode('ascii') + b'\0' +
                     str(value).encode('ascii') + b'\0')
    return b''.join(parts)


def build_request(opcode: int, filename: str, mode: str = 'octet',
                  options: dict[str, str] | None = None) -> bytes:
    """An RRQ or WRQ (used by tests and clients)."""
    parts = [_OP.pack(opcode), filename.encode('ascii'), b'\0',
             mode.encode('ascii'), b'\0']
    for name, value in (options or {}).items():
        parts += [name.encode('ascii'), b'\0', str(value).encode('ascii'),
                  b'\0']
    return b''.join(parts)


def _int_option(value: str) -> int | None:
    # ASCII digits only (no sign, space or "_"), and short: every value
    # these options take has at most 5 digits.
    if not 0 < len(value) <= 10 or not value.isascii() \
            or not value.isdigit():
        return None
    return int(value)


def negotiate(options: dict[str, str], size: int | None,
              default_timeout: float, max_blksize: int = MAX_BLKSIZE,
              max_windowsize: int = MAX_WINDOWSIZE,
              max_timeout: int = MAX_TIMEOUT) -> Negotiated:
    """Agree on the transfer options a client asked for.

    Unknown options and options with invalid values are ignored (not
    acknowledged), as RFC 2347 allows; ``blksize`` and ``windowsize`` are
    lowered to the server's maximum. A ``timeout`` above ``max_timeout`` is
    not acknowledged (RFC 2349 lets the server only accept or ignore it),
    so a client cannot make the server hold a transfer for minutes.

    :param options: the request's options (lower-case names).
    :param size: the transfer size for ``tsize``, or None to leave
        ``tsize`` unacknowledged (e.g. netascii, whose size is unknown).
    :param default_timeout: the retransmission timeout when the client
        does not negotiate one.
    :param max_blksize: the largest block size granted.
    :param max_windowsize: the largest window granted.
    :param max_timeout: the largest timeout accepted.
    :returns: a :class:`Negotiated`.
    """
    blksize = DEFAULT_BLKSIZE
    timeout = default_timeout
    windowsize = 1
    oack: dict[str, str] = {}
    for name, raw in options.items():
        value = _int_option(raw)
        if name == 'blksize' and value is not None:
            if value < MIN_BLKSIZE:
                continue
            blksize = min(value, max_blksize, MAX_BLKSIZE)
            oack[name] = str(blksize)
        elif name == 'timeout' and value is not None:
            if MIN_TIMEOUT <= value <= min(max_timeout, MAX_TIMEOUT):
                timeout = float(value)
                oack[name] = str(value)
        elif name == 'tsize' and value is not None:
            if size is not None:
                oack[name] = str(size)
        elif name == 'windowsize' and value is not None:
            if value < 1:
                continue
            windowsize = min(value, max_windowsize, MAX_WINDOWSIZE)
            oack[name] = str(windowsize)
    return Negotiated(blksize, timeout, windowsize, oack)


def to_netascii(chunk: bytes) -> bytes:
    """Convert bytes of a file to netascii (CR -> CR NUL, LF -> CR LF).

    Each byte maps on its own, so a file may be converted piece by piece.
    """
    return chunk.replace(b'\r', b'\r\0').replace(b'\n', b'\r\n')
