"""Layer-2 send path: IP/UDP headers checked by scapy."""

import socket

from scapy.layers.inet import IP
from scapy.layers.inet import UDP

from vmetal_ironic.agent.dhcp import transport


def test_ip_udp_datagram_checksums():
    payload = b'x' * 301
    raw = transport.ip_udp_datagram(socket.inet_aton('10.0.0.1'),
                                    socket.inet_aton('10.0.0.50'), 67, 68,
                                    payload)
    pkt = IP(raw)
    assert pkt.src == '10.0.0.1' and pkt.dst == '10.0.0.50'
    assert pkt[UDP].sport == 67 and pkt[UDP].dport == 68
    assert bytes(pkt[UDP].payload) == payload
    ip_sum, udp_sum = pkt.chksum, pkt[UDP].chksum
    del pkt.chksum
    del pkt[UDP].chksum
    again = IP(bytes(pkt))
    assert (again.chksum, again[UDP].chksum) == (ip_sum, udp_sum)


def test_checksum_rfc1071():
    assert transport.checksum(b'\x00\x01\xf2\x03\xf4\xf5\xf6\xf7') == \
        (~0xddf2 & 0xffff)
