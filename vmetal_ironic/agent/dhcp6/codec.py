"""DHCPv6 wire format (RFC 8415): strict, bounded parsing; replies.

:func:`parse` turns one UDP payload into a :class:`Message`: a client
message, or a Relay-forward chain (RFC 8415 9) unwrapped down to the
client message it carries, with the relays kept (outermost first) so
that the reply can be wrapped back in Relay-reply messages. Everything a
client controls is bounded: the datagram (:data:`MAX_MESSAGE`), the
relay depth (HOP_COUNT_LIMIT, 8), the options (each one's length inside
its container, the fixed-length ones checked, only the options RFC 8415
allows to repeat may repeat). Anything else is :class:`MalformedPacket`
and the server stays silent.
"""

from __future__ import annotations

import struct
from typing import Any

# Message types (RFC 8415 7.3).
SOLICIT = 1
ADVERTISE = 2
REQUEST = 3
CONFIRM = 4
RENEW = 5
REBIND = 6
REPLY = 7
RELEASE = 8
DECLINE = 9
RECONFIGURE = 10
INFORMATION_REQUEST = 11
RELAY_FORW = 12
RELAY_REPL = 13

MSG_NAMES = {SOLICIT: 'SOLICIT', ADVERTISE: 'ADVERTISE', REQUEST: 'REQUEST',
             CONFIRM: 'CONFIRM', RENEW: 'RENEW', REBIND: 'REBIND',
             REPLY: 'REPLY', RELEASE: 'RELEASE', DECLINE: 'DECLINE',
             RECONFIGURE: 'RECONFIGURE',
             INFORMATION_REQUEST: 'INFORMATION-REQUEST',
             RELAY_FORW: 'RELAY-FORW', RELAY_REPL: 'RELAY-REPL'}
#: What a client sends to a server (the others are silently dropped).
CLIENT_TYPES = frozenset((SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE,
                          DECLINE, INFORMATION_REQUEST))

# Option codes (RFC 8415 21, RFC 3646, RFC 5970, RFC 6939).
OPT_CLIENTID = 1
OPT_SERVERID = 2
OPT_IA_NA = 3
OPT_IA_TA = 4
OPT_IAADDR = 5
OPT_ORO = 6
OPT_PREFERENCE = 7
OPT_ELAPSED_TIME = 8
OPT_RELAY_MSG = 9
OPT_AUTH = 11
OPT_UNICAST = 12
OPT_STATUS_CODE = 13
OPT_RAPID_COMMIT = 14
OPT_USER_CLASS = 15
OPT_VENDOR_CLASS = 16
OPT_VENDOR_OPTS = 17
OPT_INTERFACE_ID = 18
OPT_RECONF_ACCEPT = 20
OPT_DNS_SERVERS = 23
OPT_DOMAIN_LIST = 24
OPT_IA_PD = 25
OPT_IAPREFIX = 26
OPT_NTP_SERVER = 56
OPT_BOOTFILE_URL = 59
OPT_BOOTFILE_PARAM = 60
OPT_CLIENT_ARCH_TYPE = 61
OPT_NII = 62
OPT_CLIENT_LINKLAYER_ADDR = 79

# Status codes (RFC 8415 21.13).
SUCCESS = 0
UNSPEC_FAIL = 1
NO_ADDRS_AVAIL = 2
NO_BINDING = 3
NOT_ON_LINK = 4
USE_MULTICAST = 5

#: Largest datagram read; a longer one is malformed (a client message
#: with its options is a few hundred bytes, relayed a little more).
MAX_MESSAGE = 4096
#: RFC 8415 7.6 HOP_COUNT_LIMIT: the deepest relay chain accepted.
HOP_COUNT_LIMIT = 8
#: RFC 8415 11.1: a DUID is at most 128 octets plus its 2-octet type.
MAX_DUID = 130
RELAY_HEADER = 34

# Options that may appear more than once in one message.
_REPEATABLE = frozenset((OPT_IA_NA, OPT_IA_TA, OPT_IA_PD, OPT_VENDOR_CLASS,
                         OPT_VENDOR_OPTS))
# Options the server reads that have one exact length.
_FIXED_LEN = {OPT_ELAPSED_TIME: 2, OPT_RAPID_COMMIT: 0, OPT_PREFERENCE: 1,
              OPT_RECONF_ACCEPT: 0}

_U16 = struct.Struct('!H')
_U32 = struct.Struct('!I')
_OPT_HDR = struct.Struct('!HH')


class MalformedPacket(ValueError):
    """The bytes are not a DHCPv6 client message this server can read."""


class IA:
    """One IA_NA (or IA_PD/IA_TA) of a request: its IAID and addresses."""

    __slots__ = ('code', 'iaid', 'addresses')

    def __init__(self, code: int, iaid: bytes,
                 addresses: tuple[bytes, ...]) -> None:
        self.code = code
        self.iaid = iaid
        self.addresses = addresses


class Relay:
    """One Relay-forward hop: what its Relay-reply must copy back."""

    __slots__ = ('hop_count', 'link', 'peer', 'interface_id', 'options')

    def __init__(self, hop_count: int, link: bytes, peer: bytes,
                 options: dict[int, bytes]) -> None:
        self.hop_count = hop_count
        self.link = link
        self.peer = peer
        self.interface_id = options.get(OPT_INTERFACE_ID)
        self.options = options


class Message:
    """One parsed client message, and the relays it came through."""

    __slots__ = ('msg_type', 'xid', 'options', 'ias', 'vendor_classes',
                 'relays')

    def __init__(self, msg_type: int, xid: bytes, options: dict[int, bytes],
                 ias: list[IA], vendor_classes: list[bytes],
                 relays: tuple[Relay, ...]) -> None:
        self.msg_type = msg_type
        self.xid = xid
        self.options = options
        self.ias = ias
        self.vendor_classes = vendor_classes
        self.relays = relays

    @property
    def client_id(self) -> bytes | None:
        return self.options.get(OPT_CLIENTID)

    @property
    def server_id(self) -> bytes | None:
        return self.options.get(OPT_SERVERID)

    @property
    def xid_int(self) -> int:
        """Transaction id, for logs."""
        return int.from_bytes(self.xid, 'big')

    def oro(self) -> frozenset[int]:
        """The option codes of the Option Request option."""
        raw = self.options.get(OPT_ORO, b'')
        return frozenset(_U16.unpack_from(raw, i)[0]
                         for i in range(0, len(raw), 2))

    def ia_nas(self) -> list[IA]:
        return [ia for ia in self.ias if ia.code == OPT_IA_NA]


def options(data: bytes, i: int, n: int) -> list[tuple[int, bytes]]:
    """The (code, value) options of ``data[i:n]``; each must fit exactly.

    :raises MalformedPacket: an option runs past ``n``.
    """
    out = []
    while i < n:
        if i + 4 > n:
            raise MalformedPacket('option header truncated')
        code, length = _OPT_HDR.unpack_from(data, i)
        j = i + 4 + length
        if j > n:
            raise MalformedPacket('option %d truncated' % code)
        out.append((code, data[i + 4:j]))
        i = j
    return out


def _check_duid(value: bytes, what: str) -> None:
    if not 3 <= len(value) <= MAX_DUID:
        raise MalformedPacket('%s of %d bytes' % (what, len(value)))


def _check_list(value: bytes, what: str) -> None:
    # user class / vendor class data: a list of (length, data) items.
    i, n = 0, len(value)
    while i < n:
        if i + 2 > n:
            raise MalformedPacket('%s item truncated' % what)
        i += 2 + _U16.unpack_from(value, i)[0]
        if i > n:
            raise MalformedPacket('%s item truncated' % what)


def _ia(code: int, value: bytes) -> IA:
    head = 4 if code == OPT_IA_TA else 12
    if len(value) < head:
        raise MalformedPacket('IA option %d of %d bytes' % (code, len(value)))
    addrs = []
    for sub, v in options(value, head, len(value)):
        if sub == OPT_IAADDR and code != OPT_IA_PD:
            if len(v) < 24:
                raise MalformedPacket('IAADDR of %d bytes' % len(v))
            options(v, 24, len(v))
            addrs.append(v[:16])
        elif sub == OPT_IAPREFIX and code == OPT_IA_PD:
            if len(v) < 25:
                raise MalformedPacket('IAPREFIX of %d bytes' % len(v))
            options(v, 25, len(v))
        elif sub == OPT_STATUS_CODE and len(v) < 2:
            raise MalformedPacket('status code of %d bytes' % len(v))
    if code != OPT_IA_TA:
        t1, t2 = _U32.unpack_from(value, 4)[0], _U32.unpack_from(value, 8)[0]
        if t1 > t2 > 0:
            # RFC 8415 21.4: the server MUST ignore such an IA
            raise MalformedPacket('IA with T1 %d > T2 %d' % (t1, t2))
    return IA(code, value[:4], tuple(addrs))


def _client_options(data: bytes) -> tuple[dict[int, bytes], list[IA],
                                          list[bytes]]:
    opts: dict[int, bytes] = {}
    ias: list[IA] = []
    vendor: list[bytes] = []
    for code, value in options(data, 4, len(data)):
        if code in _REPEATABLE:
            if code == OPT_VENDOR_CLASS:
                if len(value) < 4:
                    raise MalformedPacket('vendor class of %d bytes'
                                          % len(value))
                _check_list(value[4:], 'vendor class')
                vendor.append(value)
            elif code != OPT_VENDOR_OPTS:
                ias.append(_ia(code, value))
            continue
        if code in opts:
            raise MalformedPacket('option %d repeated' % code)
        size = _FIXED_LEN.get(code)
        if size is not None and len(value) != size:
            raise MalformedPacket('option %d of %d bytes' % (code, len(value)))
        opts[code] = value
    for code in (OPT_CLIENTID, OPT_SERVERID):
        if code in opts:
            _check_duid(opts[code], 'DUID option %d' % code)
    for code in (OPT_ORO, OPT_CLIENT_ARCH_TYPE):
        v = opts.get(code)
        if v is not None and (len(v) % 2 or (code != OPT_ORO and not v)):
            raise MalformedPacket('option %d of %d bytes' % (code, len(v)))
    if OPT_USER_CLASS in opts:
        _check_list(opts[OPT_USER_CLASS], 'user class')
    if OPT_RELAY_MSG in opts or OPT_INTERFACE_ID in opts:
        raise MalformedPacket('relay option in a client message')
    return opts, ias, vendor


def parse(data: bytes) -> Message:
    """Parse a client message, directly or inside Relay-forward messages.

    :raises MalformedPacket: see the module docstring.
    """
    if len(data) > MAX_MESSAGE:
        raise MalformedPacket('%d bytes, more than %d'
                              % (len(data), MAX_MESSAGE))
    relays: list[Any] = []
    while data and data[0] == RELAY_FORW:
        if len(relays) >= HOP_COUNT_LIMIT:
            raise MalformedPacket('more than %d relays' % HOP_COUNT_LIMIT)
        if len(data) < RELAY_HEADER:
            raise MalformedPacket('short Relay-forward')
        ropts: dict[int, bytes] = {}
        for code, value in options(data, RELAY_HEADER, len(data)):
            if code in ropts:
                raise MalformedPacket('relay option %d repeated' % code)
            ropts[code] = value
        inner = ropts.get(OPT_RELAY_MSG)
        if inner is None:
            raise MalformedPacket('Relay-forward without a relay message')
        if OPT_INTERFACE_ID in ropts and not ropts[OPT_INTERFACE_ID]:
            raise MalformedPacket('empty interface-id')
        lla = ropts.get(OPT_CLIENT_LINKLAYER_ADDR)
        if lla is not None and len(lla) < 3:
            raise MalformedPacket('client link-layer address of %d bytes'
                                  % len(lla))
        relays.append(Relay(data[1], data[2:18], data[18:34], ropts))
        data = inner
    if len(data) < 4:
        raise MalformedPacket('short message: %d bytes' % len(data))
    if data[0] not in CLIENT_TYPES:
        raise MalformedPacket('message type %d is not from a client'
                              % data[0])
    opts, ias, vendor = _client_options(data)
    return Message(data[0], data[1:4], opts, ias, vendor, tuple(relays))


def opt(code: int, value: bytes) -> bytes:
    """Encode one option."""
    return _OPT_HDR.pack(code, len(value)) + value


def status(code: int, message: str = '') -> bytes:
    """A Status Code option."""
    return opt(OPT_STATUS_CODE, _U16.pack(code) + message.encode())


def iaaddr(address: bytes, preferred: int, valid: int) -> bytes:
    """An IA Address option (no sub-options)."""
    return opt(OPT_IAADDR, address + _U32.pack(preferred) + _U32.pack(valid))


def ia_na(iaid: bytes, t1: int, t2: int, body: bytes) -> bytes:
    """An IA_NA option around encoded sub-options."""
    return opt(OPT_IA_NA, iaid + _U32.pack(t1) + _U32.pack(t2) + body)


def build(msg_type: int, xid: bytes, body: bytes,
          relays: tuple[Relay, ...] = ()) -> bytes:
    """A server message, wrapped in one Relay-reply per relay.

    :param relays: the request's relays, outermost first; the reply's
        innermost Relay-reply answers the last one (RFC 8415 19.3).
    """
    out = bytes((msg_type,)) + xid + body
    for r in reversed(relays):
        iid = opt(OPT_INTERFACE_ID, r.interface_id) \
            if r.interface_id is not None else b''
        out = (bytes((RELAY_REPL, r.hop_count)) + r.link + r.peer + iid
               + opt(OPT_RELAY_MSG, out))
    return out


def domain_list(names: tuple[str, ...]) -> bytes:
    """RFC 1035 3.1 uncompressed encoding of domain names (option 24)."""
    out = []
    for name in names:
        for label in name.strip('.').split('.'):
            if label:
                raw = label.encode('idna')
                out.append(bytes((len(raw),)) + raw)
        out.append(b'\0')
    return b''.join(out)


#: NTP Server option (56) suboptions (RFC 5908 4).
NTP_SUBOPTION_SRV_ADDR = 1
NTP_SUBOPTION_SRV_FQDN = 3


def ntp_servers(addresses: tuple[bytes, ...],
                names: tuple[str, ...] = ()) -> bytes:
    """The value of an NTP Server option (56, RFC 5908).

    One server address suboption (1) per 16-byte address, then one
    server FQDN suboption (3, RFC 1035 uncompressed) per name.
    """
    out = [opt(NTP_SUBOPTION_SRV_ADDR, a) for a in addresses]
    out += [opt(NTP_SUBOPTION_SRV_FQDN, domain_list((n,))) for n in names]
    return b''.join(out)


def client_arch(message: Message) -> int | None:
    """First client architecture of option 61 (RFC 5970)."""
    raw = message.options.get(OPT_CLIENT_ARCH_TYPE)
    if not raw:
        return None
    return _U16.unpack_from(raw)[0]


def list_items(value: bytes) -> list[bytes]:
    """The items of a (length, data) list (already checked by parse)."""
    out, i = [], 0
    while i + 2 <= len(value):
        n = _U16.unpack_from(value, i)[0]
        out.append(value[i + 2:i + 2 + n])
        i += 2 + n
    return out


def msg_name(msg_type: int) -> str:
    """Name of a message type, for logs."""
    return MSG_NAMES.get(msg_type, str(msg_type))
