"""A reply and where it goes (pure): what handlers return, what the
transport sends.

Destinations (RFC 2131 4.1): a relayed request (giaddr set) is answered to
the relay's port 67; a client with an address (ciaddr set, RENEWING,
REBINDING, INFORM) by unicast to it; a client that set the broadcast flag,
and every NAK that is not relayed, by broadcast; any other client by an
Ethernet frame to its chaddr carrying the offered address (it has no
address yet, so no ARP is involved).
"""

from __future__ import annotations

from vmetal_ironic.agent.dhcp import codec

# Destination kinds.
TO_RELAY = 1        # giaddr:67
TO_CLIENT = 2       # ciaddr:68, the client has an address
TO_BROADCAST = 3    # 255.255.255.255:68
TO_L2 = 4           # yiaddr:68 in an Ethernet frame to chaddr

BROADCAST = b'\xff\xff\xff\xff'


class Reply:
    """What the server loop sends: payload and destination."""

    __slots__ = ('payload', 'kind', 'addr', 'chaddr', 'msg_type')

    def __init__(self, payload: bytes, kind: int, addr: bytes,
                 chaddr: bytes, msg_type: int) -> None:
        self.payload = payload
        self.kind = kind
        self.addr = addr
        self.chaddr = chaddr
        self.msg_type = msg_type


def destination(req: codec.Request, msg_type: int,
                yiaddr: bytes) -> tuple[int, bytes]:
    """Where a reply to ``req`` goes: (kind, IPv4 address bytes)."""
    if req.giaddr != codec.ZERO4:
        return TO_RELAY, req.giaddr
    if msg_type == codec.NAK:
        return TO_BROADCAST, BROADCAST
    if req.ciaddr != codec.ZERO4:
        return TO_CLIENT, req.ciaddr
    if req.flags & codec.BROADCAST_FLAG or req.htype != 1 or req.hlen != 6:
        return TO_BROADCAST, BROADCAST
    return TO_L2, yiaddr


def make(req: codec.Request, msg_type: int, yiaddr: bytes,
         payload: bytes) -> Reply:
    """The :class:`Reply` carrying ``payload`` to ``req``'s sender."""
    kind, addr = destination(req, msg_type, yiaddr)
    return Reply(payload, kind, addr, req.chaddr, msg_type)
