#!/usr/bin/env python3
"""Long run of the TFTP request fuzzer (a strict RFC parser as the oracle).

    .venv/bin/python tools/fuzz/tftp.py [--requests 1000000] [--seed N]

Runs tests/fixtures/tftp_fuzz.py against a server on a temporary root
(no sockets) and prints a summary; exits 1 on the first violation.
"""

import argparse
import logging
import os
import pathlib
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir,
                                os.pardir))

from tests.fixtures import tftp_fuzz  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--requests', type=int, default=1000000)
    p.add_argument('--seed', type=int,
                   default=random.SystemRandom().randrange(2 ** 32))
    args = p.parse_args(argv)
    logging.disable(logging.CRITICAL)
    print('seed %d, %d requests' % (args.seed, args.requests))
    with tempfile.TemporaryDirectory() as root:
        srv = tftp_fuzz.make_server(pathlib.Path(root))
        cpu0 = time.process_time()
        try:
            stats = tftp_fuzz.run(args.requests, args.seed, srv)
        except tftp_fuzz.Violation as e:
            print('VIOLATION: %s' % e)
            return 1
        cpu = time.process_time() - cpu0
    print('summary: %s; %.1f us CPU per request; no violation'
          % (stats, 1e6 * cpu / args.requests))
    return 0


if __name__ == '__main__':
    sys.exit(main())
