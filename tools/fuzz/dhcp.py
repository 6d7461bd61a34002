#!/usr/bin/env python3
"""Long run of the DHCP pipeline fuzzer (scapy as the oracle).

    .venv/bin/python tools/fuzz/dhcp.py [--packets 1000000] [--seed N]

Runs tests/fixtures/dhcp_fuzz.py for many packets in batches and prints
one line per batch and a summary: packets, replies, requests the oracle
rejected, the server's own counters, CPU seconds per packet (fuzzer,
oracle and server together) and peak RSS. Exits 1 on the first packet that
breaks a property, printing it in hex (replay it with --replay HEX).
"""

import argparse
import logging
import os
import random
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir,
                                os.pardir))

from tests.fixtures import dhcp_fuzz  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--packets', type=int, default=1000000)
    p.add_argument('--seed', type=int,
                   default=random.SystemRandom().randrange(2 ** 32))
    p.add_argument('--batch', type=int, default=50000)
    p.add_argument('--replay', help='one request in hex')
    args = p.parse_args(argv)
    logging.disable(logging.CRITICAL)   # the server logs every refusal
    srv = dhcp_fuzz.make_server()
    if args.replay:
        print(dhcp_fuzz.check(srv, bytes.fromhex(args.replay)))
        return 0
    print('seed %d, %d packets' % (args.seed, args.packets))
    total = {}
    cpu0 = time.process_time()
    done, batch = 0, 0
    while done < args.packets:
        n = min(args.batch, args.packets - done)
        try:
            stats = dhcp_fuzz.run(n, args.seed + batch, srv)
        except dhcp_fuzz.Violation as e:
            print('VIOLATION (batch seed %d): %s' % (args.seed + batch, e))
            return 1
        for k in ('packets', 'replies', 'oracle_rejects'):
            total[k] = total.get(k, 0) + stats[k]
        done += n
        batch += 1
        print('%8d packets, %7d replies, %7d rejected by the oracle' % (
            done, total['replies'], total['oracle_rejects']), flush=True)
    cpu = time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print('summary: %s; server %s; %.1f us CPU per packet; peak RSS %d MB; '
          'no violation' % (total, srv.stats, 1e6 * cpu / done,
                            rss // 1024))
    return 0


if __name__ == '__main__':
    sys.exit(main())
