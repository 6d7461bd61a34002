"""Sockets of the DHCP server (the thin I/O edge).

Receiving: one UDP socket on port 67, bound to the provisioning interface
with ``SO_BINDTODEVICE``: the kernel delivers only datagrams that arrived
on that interface, so a request from any other interface is never seen
(and never answered).

Why not AF_PACKET for receiving too: measured on the development machine,
a bare CPython echo loop does
about 178,000 echoes per CPU second on this UDP socket and 193,000 on an
AF_PACKET socket with a BPF filter (8 % more); but on AF_PACKET every
reply would need its IP/UDP headers built and checksummed in Python
(about 3 us, see benchmarks/dhcp/micro.py) and relay replies would need
our own ARP resolution, which costs more than the 8 %. See doc/agent.md.

Sending:

* to a relay (giaddr:67) or to a client that has an address (ciaddr:68):
  the same UDP socket;
* to a client without an address, and broadcasts: an ``AF_PACKET``
  ``SOCK_DGRAM`` socket (protocol 0, so it receives nothing) that sends
  an IPv4/UDP datagram in an Ethernet frame addressed to the client's
  chaddr (or ff:ff:ff:ff:ff:ff) out of the provisioning interface. No ARP
  entry is needed and the reply cannot leave through another interface.

Privileges: binding port 67 needs CAP_NET_BIND_SERVICE; SO_BINDTODEVICE
and AF_PACKET need CAP_NET_RAW.
"""

from __future__ import annotations

import abc
import socket
import struct

from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import reply as reply_mod
from vmetal_ironic.agent import sockets

ETH_P_IP = 0x0800
BROADCAST_MAC = b'\xff' * 6
_IP_HDR = struct.Struct('!BBHHHBBH4s4s')
_UDP_HDR = struct.Struct('!HHHH')


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def ip_udp_datagram(src: bytes, dst: bytes, sport: int, dport: int,
                    payload: bytes) -> bytes:
    """An IPv4 header + UDP header (with checksum) + ``payload``."""
    ulen = 8 + len(payload)
    pseudo = src + dst + struct.pack('!BBH', 0, socket.IPPROTO_UDP, ulen)
    ucsum = checksum(pseudo + _UDP_HDR.pack(sport, dport, ulen, 0) + payload)
    udp = _UDP_HDR.pack(sport, dport, ulen, ucsum or 0xffff)
    hdr = _IP_HDR.pack(0x45, 0x10, 20 + ulen, 0, 0, 64, socket.IPPROTO_UDP,
                       0, src, dst)
    hdr = hdr[:10] + struct.pack('!H', checksum(hdr)) + hdr[12:]
    return hdr + udp + payload


class Transport(abc.ABC):
    """Receives requests and sends replies on one interface."""

    @abc.abstractmethod
    def recv(self) -> tuple[bytes, tuple]:
        """Block for the next datagram: (payload, source address)."""

    @abc.abstractmethod
    def send(self, reply: reply_mod.Reply) -> None:
        """Send a reply to its destination.

        :raises OSError: the kernel refused it.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Close the sockets; a blocked :meth:`recv` returns or raises."""


class LinuxTransport(Transport):
    """UDP socket bound to the interface + AF_PACKET socket for L2 sends."""

    def __init__(self, interface: str, server_address: str,
                 port: int = 67, client_port: int = 68,
                 rcvbuf: int = 4 * 1024 * 1024) -> None:
        self.interface = interface
        self.src = socket.inet_aton(server_address)
        self.port = port
        self.client_port = client_port
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.raw = None
        try:
            self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sockets.bind_to_device(self.udp, interface, 'DHCP')
            sockets.receive_buffer(self.udp, rcvbuf)
            self.udp.bind(('0.0.0.0', port))
            self.raw = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        except BaseException:
            self.close()
            raise
        self._recvfrom = self.udp.recvfrom
        self._sendto = self.udp.sendto
        self._rawsend = self.raw.sendto

    def recv(self) -> tuple[bytes, tuple]:
        """Block for the next datagram; b'' once closed."""
        return self._recvfrom(4096)

    def send(self, reply: reply_mod.Reply) -> None:
        """Send ``reply`` by UDP or by Ethernet frame, see module doc."""
        kind = reply.kind
        if kind == reply_mod.TO_RELAY:
            self._sendto(reply.payload,
                         (codec.ipv4_text(reply.addr), self.port))
        elif kind == reply_mod.TO_CLIENT:
            self._sendto(reply.payload,
                         (codec.ipv4_text(reply.addr), self.client_port))
        else:
            mac = BROADCAST_MAC if kind == reply_mod.TO_BROADCAST \
                else reply.chaddr
            frame = ip_udp_datagram(self.src, reply.addr, self.port,
                                    self.client_port, reply.payload)
            self._rawsend(frame, (self.interface, ETH_P_IP, 0, 0, mac))

    def close(self) -> None:
        """Close both sockets."""
        for s in (self.udp, self.raw):
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
