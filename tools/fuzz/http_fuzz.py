"""Long run of the HTTP proxy fuzzer (the suite runs a few seconds of it).

    .venv/bin/python tools/fuzz/http_fuzz.py [--cases 1000000] [--seed N]
        [--handler-cases 20000]

Part 1 feeds mutated request heads (tests/unit/agent/http/fuzz_cases.py)
to the strict parser and the router and checks every case against the
independent RFC 9112 oracle (tests/unit/agent/http/rfc9112.py): the same
verdict, the same method, target and framing, and no routed path that
decodes to an API-ish path outside the allow-list. Part 2 serves cases
through the real handler over socket pairs with loopback upstreams
(tests/unit/agent/http/fuzz_harness.py). Prints cases, cases/s and the
seed; exits 1 at the first disagreement, printing the case.
"""

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..'))

from tests.unit.agent.http import fuzz_cases  # noqa: E402
from tests.unit.agent.http import fuzz_harness  # noqa: E402
from tests.unit.agent.http import test_fuzz_http  # noqa: E402
from vmetal_ironic.agent.http import parse  # noqa: E402
from vmetal_ironic.agent.http import routes  # noqa: E402


def parser_run(rng, cases):
    accepted = forwarded = 0
    for _ in range(cases):
        data = fuzz_cases.case(rng)
        verdict = test_fuzz_http.agree(data)
        if verdict is None:
            continue
        accepted += 1
        head = parse.parse_head(fuzz_cases.split(data))
        decision = routes.route(head.method, head.target)
        if isinstance(decision, routes.Route):
            forwarded += 1
            path = decision.target.partition('?')[0]
            if decision.upstream == routes.BOOT:
                assert not fuzz_harness._api_ish(path), data
            else:
                assert fuzz_harness._API_SEEN_RE.match(decision.target), data
    return accepted, forwarded


def handler_run(rng, cases):
    boot, api = fuzz_harness.Recorder(), fuzz_harness.Recorder()
    server = fuzz_harness.FuzzServer(fuzz_harness.FuzzProxy(boot, api))
    rejected = 0
    try:
        for _ in range(cases):
            rejected += fuzz_harness.check(server, boot, api,
                                           fuzz_cases.case(rng)) is None
    finally:
        boot.close()
        api.close()
    return rejected, len(boot.seen) + len(api.seen)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cases', type=int, default=1000000)
    p.add_argument('--handler-cases', type=int, default=20000)
    p.add_argument('--seed', type=int,
                   default=random.SystemRandom().randrange(2 ** 32))
    a = p.parse_args()
    import logging
    logging.disable(logging.CRITICAL)
    print('seed %d' % a.seed)
    rng = random.Random(a.seed)
    for label, run, cases, what in (
            ('parser+router', parser_run, a.cases,
             '%d accepted by the oracle, %d routed upstream, '
             '0 disagreements'),
            ('handler', handler_run, a.handler_cases,
             '%d rejected by the oracle, %d upstream requests, '
             '0 violations')):
        t = time.monotonic()
        figures = run(rng, cases)
        dt = time.monotonic() - t
        print('%s: %d cases in %.1f s (%.0f cases/s), %s'
              % (label, cases, dt, cases / dt, what % figures))


if __name__ == '__main__':
    main()
