"""A site DNS server on the provisioning segment (test stand-in).

Answers A queries for the names given (``--name NAME=ADDRESS``), NXDOMAIN
for any other name, silence for what is not a DNS query. It is the DNS
server a site runs on its provisioning network, at the pool's
``dns_servers`` address, which the agent's DHCP hands out in option 6:
iPXE and the ramdisk resolve the boot host name with it to the agent's
proxy, while the cluster namespace resolves the same name to the boot
server (split DNS, doc/real-server.md). Run with
``python -m tests.functional.vm.site_dns --listen ADDRESS --name ...``.
"""

import argparse
import socket

import dns.exception
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def answer(wire, names, ttl=30):
    """The response datagram for ``wire`` (bytes), or None for silence."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    if query.flags & 0x8000 or len(query.question) != 1:
        return None
    response = dns.message.make_response(query)
    response.flags |= 0x0400            # authoritative
    question = query.question[0]
    name = question.name.to_text().rstrip('.').lower()
    if name not in names:
        response.set_rcode(dns.rcode.NXDOMAIN)
    elif question.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
        response.answer.append(dns.rrset.from_text(
            question.name, ttl, dns.rdataclass.IN, dns.rdatatype.A,
            names[name]))
    return response.to_wire()


def serve(address, names, port=53):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    while True:
        wire, peer = sock.recvfrom(1500)
        reply = answer(wire, names)
        if reply is not None:
            print('%s: %s' % (peer[0], dns.message.from_wire(wire)
                              .question[0].to_text()), flush=True)
            sock.sendto(reply, peer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--listen', required=True)
    parser.add_argument('--name', action='append', default=[],
                        help='NAME=ADDRESS (an A record)')
    args = parser.parse_args()
    names = dict(item.lower().split('=', 1) for item in args.name)
    serve(args.listen, names)


if __name__ == '__main__':
    main()
