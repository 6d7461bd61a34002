"""A scapy DHCP client for functional tests; run inside a namespace.

    python -m tests.functional.agent.dhcp_client '{"iface": "eth0",
        "probes": [{"mac": "52:54:00:00:00:01", "options": {"93": "0007"},
                    "dora": true}]}'

Each probe broadcasts a DISCOVER from 0.0.0.0:68 the way a PXE ROM does
(options given as {code: hex}), waits ``timeout`` seconds for the OFFER
and, with ``dora``, sends the REQUEST and waits for the ACK. Prints one
JSON line per probe: {"offer": REPLY|null, "ack": REPLY|null}, where
REPLY has msg_type, yiaddr, siaddr, giaddr, file, dst_mac, dst_ip and
options {code: hex}.
"""

import json
import random
import sys
import time

from scapy.all import conf
from scapy.all import srp1
from scapy.layers.dhcp import BOOTP
from scapy.layers.dhcp import DHCP
from scapy.layers.inet import IP
from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether

conf.checkIPaddr = False
conf.verb = 0


def raw_options(payload):
    """{code: hex} of a BOOTP payload's options (our own walk)."""
    out = {}
    i = 240
    while i < len(payload):
        c = payload[i]
        if c == 255:
            break
        if c == 0:
            i += 1
            continue
        n = payload[i + 1]
        out[str(c)] = out.get(str(c), '') + payload[i + 2:i + 2 + n].hex()
        i += 2 + n
    return out


def summarize(pkt):
    if pkt is None:
        return None
    b = pkt[BOOTP]
    payload = bytes(b)
    opts = raw_options(payload)
    return {'msg_type': int(opts.get('53', '00'), 16),
            'yiaddr': b.yiaddr, 'siaddr': b.siaddr, 'giaddr': b.giaddr,
            'file': b.file.rstrip(b'\0').decode('latin-1'),
            'dst_mac': pkt[Ether].dst, 'dst_ip': pkt[IP].dst,
            'src_ip': pkt[IP].src, 'options': opts}


def probe(iface, p):
    mac = p['mac']
    chaddr = bytes.fromhex(mac.replace(':', ''))
    xid = random.getrandbits(32)
    extra = [(int(k), bytes.fromhex(v)) for k, v in
             p.get('options', {}).items()]
    flags = 0x8000 if p.get('broadcast') else 0
    timeout = p.get('timeout', 3)

    def send(msg, more):
        opts = [('message-type', msg)] + more + [
            ('param_req_list', [1, 3, 6, 12, 15, 28, 43, 60, 66, 67])]
        opts += [(code, value) for code, value in extra]
        opts.append('end')
        frame = (Ether(src=mac, dst='ff:ff:ff:ff:ff:ff')
                 / IP(src='0.0.0.0', dst='255.255.255.255')
                 / UDP(sport=68, dport=67)
                 / BOOTP(chaddr=chaddr + b'\0' * 10, xid=xid, flags=flags)
                 / DHCP(options=opts))
        return srp1(frame, iface=iface, timeout=timeout)

    offer = send('discover', [])
    result = {'offer': summarize(offer), 'ack': None}
    if offer is not None and p.get('dora'):
        sid = raw_options(bytes(offer[BOOTP])).get('54', '')
        more = [('requested_addr', offer[BOOTP].yiaddr)]
        if sid:
            more.append(('server_id', '.'.join(
                str(b) for b in bytes.fromhex(sid))))
        result['ack'] = summarize(send('request', more))
    return result


def main():
    spec = json.loads(sys.argv[1])
    if spec.get('until'):
        # Wait mode: print READY, then probe until an OFFER arrives or
        # ``until`` seconds pass; report the wall-clock time of the OFFER.
        print('READY', flush=True)
        deadline = time.time() + spec['until']
        p = dict(spec['probes'][0], timeout=0.25)
        while time.time() < deadline:
            r = probe(spec['iface'], p)
            if r['offer'] is not None:
                r['t_offer'] = time.time()
                print(json.dumps(r), flush=True)
                return
        print(json.dumps({'offer': None, 'ack': None}), flush=True)
        return
    for p in spec['probes']:
        print(json.dumps(probe(spec['iface'], p)), flush=True)


if __name__ == '__main__':
    main()
