"""Who a DHCPv6 client is: its MAC, the key of Ironic's reservations (pure).

DHCPv6 has no chaddr. Reservations are by MAC (as in Ironic), so the MAC
is found, in this order, from:

1. the client's DUID when it is a DUID-LLT (type 1) or DUID-LL (type 3)
   of an Ethernet address (hardware type 1, 6 octets);
2. the Client Link-Layer Address option (79, RFC 6939) the relay nearest
   to the client added;
3. the client's link-local address when it is a modified EUI-64
   (RFC 4291 2.5.1: ``fe80::xxxx:xxff:fexx:xxxx``, universal/local bit
   flipped): the packet's source, or the nearest relay's peer-address.

Then, for clients that give no MAC (a DUID-EN or DUID-UUID and a
stable-privacy link-local address, unrelayed), the DUID itself is looked
up as a reservation's client identifier. doc/ipv6.md lists which clients
give a MAC by which way.
"""

from __future__ import annotations

from vmetal_ironic.agent.dhcp6 import codec

DUID_LLT = 1
DUID_EN = 2
DUID_LL = 3
DUID_UUID = 4
HW_ETHERNET = 1

_LINK_LOCAL = b'\xfe\x80' + bytes(6)


def mac_from_duid(duid: bytes | None) -> bytes | None:
    """The Ethernet MAC of a DUID-LLT/DUID-LL, else None."""
    if duid is None or len(duid) < 4:
        return None
    dtype = (duid[0] << 8) | duid[1]
    hwtype = (duid[2] << 8) | duid[3]
    if hwtype != HW_ETHERNET:
        return None
    if dtype == DUID_LL and len(duid) == 10:
        return duid[4:10]
    if dtype == DUID_LLT and len(duid) == 14:
        return duid[8:14]
    return None


def mac_from_linklayer(value: bytes | None) -> bytes | None:
    """The MAC of an option 79 value (hardware type + address), or None."""
    if value is None or len(value) != 8 or value[:2] != b'\x00\x01':
        return None
    return value[2:]


def mac_from_eui64(address: bytes | None) -> bytes | None:
    """The MAC of a modified-EUI-64 link-local address, or None."""
    if address is None or len(address) != 16 \
            or address[:8] != _LINK_LOCAL or address[11:13] != b'\xff\xfe':
        return None
    return bytes((address[8] ^ 0x02,)) + address[9:11] + address[13:16]


def eui64_link_local(mac: bytes) -> bytes:
    """The modified-EUI-64 link-local address of ``mac`` (for tests/docs)."""
    return (_LINK_LOCAL + bytes((mac[0] ^ 0x02,)) + mac[1:3] + b'\xff\xfe'
            + mac[3:6])


def candidate_macs(msg: codec.Message,
                   source: bytes | None) -> list[tuple[bytes, str]]:
    """The MACs the client may be, with how each was found, in order.

    :param source: the datagram's source address (16 bytes) when not
        relayed; ignored when relayed (the nearest relay's peer-address is
        the client's address then).
    """
    out = []
    mac = mac_from_duid(msg.client_id)
    if mac is not None:
        out.append((mac, 'duid'))
    if msg.relays:
        nearest = msg.relays[-1]
        mac = mac_from_linklayer(
            nearest.options.get(codec.OPT_CLIENT_LINKLAYER_ADDR))
        if mac is not None:
            out.append((mac, 'option-79'))
        source = nearest.peer
    mac = mac_from_eui64(source)
    if mac is not None:
        out.append((mac, 'eui-64'))
    return out
