"""DHCPv4 wire format (RFC 2131/2132): parse requests, build replies.

Pure and written for speed: this is the agent's hot path. :func:`parse`
makes one :class:`Request` (a ``__slots__`` object) per packet and slices
only what the server uses; :func:`build_reply` joins precomputed pieces
in one allocation. Option bytes for replies are encoded once by
:mod:`vmetal_ironic.agent.dhcp.options` and cached, so this module sees them as
ready-made ``bytes``.
"""

from __future__ import annotations

import struct

# Message types (option 53).
DISCOVER = 1
OFFER = 2
REQUEST = 3
DECLINE = 4
ACK = 5
NAK = 6
RELEASE = 7
INFORM = 8

MSG_NAMES = {DISCOVER: 'DISCOVER', OFFER: 'OFFER', REQUEST: 'REQUEST',
             DECLINE: 'DECLINE', ACK: 'ACK', NAK: 'NAK', RELEASE: 'RELEASE',
             INFORM: 'INFORM'}

# Option codes (PAD 0 and END 255 are literals in the parser).
OPT_SUBNET_MASK = 1
OPT_ROUTER = 3
OPT_DNS = 6
OPT_HOSTNAME = 12
OPT_DOMAIN = 15
OPT_NTP = 42
OPT_MTU = 26
OPT_VENDOR_SPECIFIC = 43
OPT_REQUESTED_IP = 50
OPT_LEASE_TIME = 51
OPT_OVERLOAD = 52
OPT_MSG_TYPE = 53
OPT_SERVER_ID = 54
OPT_PRL = 55
OPT_MAX_SIZE = 57
OPT_T1 = 58
OPT_T2 = 59
OPT_VENDOR_CLASS = 60
OPT_CLIENT_ID = 61
OPT_TFTP_SERVER = 66
OPT_BOOTFILE = 67
OPT_USER_CLASS = 77
OPT_RELAY_AGENT = 82
OPT_CLIENT_ARCH = 93
OPT_CLASSLESS_ROUTES = 121
OPT_IPXE_ENCAP = 175

MAGIC = b'\x63\x82\x53\x63'
ZERO4 = b'\0\0\0\0'
BROADCAST_FLAG = 0x8000
HEADER_LEN = 236
MIN_LEN = HEADER_LEN + 4          # header + magic cookie
# Smallest reply limit a client may ask for (RFC 2132 9.10): 576 bytes of
# IP datagram, i.e. 548 bytes of DHCP message.
MIN_MAX_SIZE = 576
IP_UDP_OVERHEAD = 28

# Options the server reads that have one exact length (RFC 2132); a
# request where one has another length is malformed.
_FIXED_LEN = ((OPT_REQUESTED_IP, 4), (OPT_SERVER_ID, 4), (OPT_MAX_SIZE, 2))

_U16 = struct.Struct('!H')
_U32 = struct.Struct('!I')
_EMPTY: dict[int, bytes] = {}

_MSG_TYPE_OPTS = {t: bytes((OPT_MSG_TYPE, 1, t)) for t in MSG_NAMES}
_ZERO_SNAME = bytes(64)
_ZERO_FILE = bytes(128)
_ZERO_CHADDR_PAD = bytes(16)
_END = b'\xff'


class MalformedPacket(ValueError):
    """The bytes are not a DHCPv4 request this server can read."""


class Request:
    """One parsed DHCPv4 request; bytes fields are raw network order."""

    __slots__ = ('data', 'htype', 'hlen', 'hops', 'flags', 'ciaddr',
                 'giaddr', 'chaddr', 'options', 'msg_type')

    def __init__(self, data: bytes, options: dict[int, bytes],
                 msg_type: int) -> None:
        self.data = data
        self.htype = data[1]
        self.hlen = data[2]
        self.hops = data[3]
        self.flags = (data[10] << 8) | data[11]
        self.ciaddr = data[12:16]
        self.giaddr = data[24:28]
        self.chaddr = data[28:28 + min(self.hlen, 16)]
        self.options = options
        self.msg_type = msg_type

    @property
    def xid(self) -> int:
        """Transaction id, for logs."""
        return _U32.unpack_from(self.data, 4)[0]

    @property
    def mac(self) -> str:
        """Client hardware address as ``aa:bb:...``, for logs."""
        return self.chaddr.hex(':')

    def max_size(self) -> int:
        """Largest DHCP message the client accepts (option 57, RFC 2132)."""
        raw = self.options.get(OPT_MAX_SIZE)
        if raw is None or len(raw) != 2:
            return MIN_MAX_SIZE - IP_UDP_OVERHEAD
        return max(_U16.unpack(raw)[0], MIN_MAX_SIZE) - IP_UDP_OVERHEAD


def parse(data: bytes) -> Request:
    """Parse a BOOTREQUEST.

    :param data: the UDP payload.
    :returns: a :class:`Request`.
    :raises MalformedPacket: not a BOOTREQUEST, truncated options, an
        option field without END, no message type, or an invalid overload
        (option 52 itself must be in the options field).
    """
    n = len(data)
    if n < MIN_LEN:
        raise MalformedPacket('short packet: %d bytes' % n)
    if data[0] != 1:
        raise MalformedPacket('op %d is not BOOTREQUEST' % data[0])
    if data[236:240] != MAGIC:
        raise MalformedPacket('no DHCP magic cookie')
    opts = _parse_options(data, 240, n)
    over = opts.get(OPT_OVERLOAD)
    if over is not None:
        if len(over) != 1 or over[0] not in (1, 2, 3):
            raise MalformedPacket('invalid option overload')
        if over[0] & 1:
            _merge(opts, _parse_options(data, 108, 236))
        if over[0] & 2:
            _merge(opts, _parse_options(data, 44, 108))
    mt = opts.get(OPT_MSG_TYPE)
    if mt is None or len(mt) != 1:
        raise MalformedPacket('no message type')
    for code, size in _FIXED_LEN:
        v = opts.get(code)
        if v is not None and len(v) != size:
            raise MalformedPacket('option %d of %d bytes' % (code, len(v)))
    if data[2] > 16:
        raise MalformedPacket('hlen %d exceeds 16' % data[2])
    return Request(data, opts, mt[0])


def _parse_options(data: bytes, i: int, n: int) -> dict[int, bytes]:
    # RFC 2131 4.1 / RFC 2132 9.3: the options field, and sname and file
    # when option 52 says they carry options, each end with END (255);
    # a field that does not is malformed, whatever it held.
    opts: dict[int, bytes] = {}
    while i < n:
        c = data[i]
        if c == 255:
            return opts
        if c == 0:
            i += 1
            continue
        if i + 1 >= n:
            raise MalformedPacket('option %d truncated' % c)
        j = i + 2 + data[i + 1]
        if j > n:
            raise MalformedPacket('option %d truncated' % c)
        prev = opts.get(c)
        # RFC 3396: a repeated option is the concatenation of its parts.
        opts[c] = data[i + 2:j] if prev is None else prev + data[i + 2:j]
        i = j
    raise MalformedPacket('options not terminated by END')


def _merge(opts: dict[int, bytes], more: dict[int, bytes]) -> None:
    if OPT_OVERLOAD in more:
        raise MalformedPacket('option overload inside an overloaded field')
    for c, v in more.items():
        opts[c] = opts[c] + v if c in opts else v


def build_reply(req: Request, msg_type: int, yiaddr: bytes, siaddr: bytes,
                file: bytes, options: bytes) -> bytes:
    """Build a BOOTREPLY to ``req``.

    :param msg_type: OFFER, ACK or NAK.
    :param yiaddr: the client's address (4 bytes), ``ZERO4`` for NAK/INFORM.
    :param siaddr: next server (4 bytes).
    :param file: boot file name for the ``file`` field (at most 127 bytes,
        or ``b''``).
    :param options: encoded options between message type and END, see
        :func:`opt`.
    :returns: the UDP payload.
    """
    d = req.data
    ciaddr = d[12:16] if msg_type != NAK else ZERO4
    return b''.join((
        b'\x02', d[1:3], b'\x00', d[4:8], b'\x00\x00', d[10:12], ciaddr,
        yiaddr, siaddr, d[24:44], _ZERO_SNAME,
        file.ljust(128, b'\0') if file else _ZERO_FILE,
        MAGIC, _MSG_TYPE_OPTS[msg_type], options, _END))


def opt(code: int, value: bytes) -> bytes:
    """Encode one option, split into 255-byte parts (RFC 3396) if long."""
    if len(value) <= 255:
        return bytes((code, len(value))) + value
    return b''.join(bytes((code, len(value[k:k + 255]))) + value[k:k + 255]
                    for k in range(0, len(value), 255))


def opt_u32(code: int, value: int) -> bytes:
    """Encode an option holding one unsigned 32-bit integer."""
    return bytes((code, 4)) + _U32.pack(value)


def opt_u16(code: int, value: int) -> bytes:
    """Encode an option holding one unsigned 16-bit integer."""
    return bytes((code, 2)) + _U16.pack(value)


def classless_routes(routes: list[tuple[bytes, int, bytes]]) -> bytes:
    """Encode option 121 (RFC 3442) from (network, prefixlen, router)."""
    out = []
    for net, plen, router in routes:
        out.append(bytes((plen,)) + net[:(plen + 7) // 8] + router)
    return opt(OPT_CLASSLESS_ROUTES, b''.join(out))


def client_arch(options: dict[int, bytes]) -> int | None:
    """First client system architecture of option 93 (RFC 4578)."""
    raw = options.get(OPT_CLIENT_ARCH)
    if raw is None or len(raw) < 2:
        return None
    return (raw[0] << 8) | raw[1]


def ipv4_text(raw: bytes) -> str:
    """An address field as text: dotted quad for 4 bytes, else hex.

    For logs and socket addresses; never raises, whatever a client sent.
    """
    if len(raw) == 4:
        return '%d.%d.%d.%d' % (raw[0], raw[1], raw[2], raw[3])
    return raw.hex() or '-'


def msg_name(msg_type: int) -> str:
    """Name of a message type, for logs."""
    return MSG_NAMES.get(msg_type, str(msg_type))
