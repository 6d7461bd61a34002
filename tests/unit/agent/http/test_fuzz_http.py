"""Fuzz the HTTP proxy's request head parser and router (bounded share).

Mutated heads of the proxy's real traffic go (1) to the strict parser,
which must agree with an independent RFC 9112 oracle on every case, and
(2) to the real handler over a socket pair with loopback upstreams: what
the oracle rejects reaches no upstream, no API-ish path reaches the boot
upstream, and every response is well-formed. Each run uses a fixed seed
and a random one, printed so a failure can be replayed; the long run is
``tools/fuzz/http_fuzz.py``.
"""

import random
import time

import pytest

from tests.unit.agent.http import fuzz_cases
from tests.unit.agent.http import fuzz_harness
from tests.unit.agent.http import rfc9112
from vmetal_ironic.agent.http import parse

FIXED_SEED = 9112
PARSER_SECONDS = 1.5
HANDLER_SECONDS = 2.5


def _seeds():
    return [FIXED_SEED, random.SystemRandom().randrange(2 ** 32)]


def agree(data):
    """Parser and oracle agree on one case (returns the oracle verdict)."""
    head = fuzz_cases.split(data)
    ours = parse.parse_head(head)
    theirs = rfc9112.oracle(head)
    if theirs is None:
        assert isinstance(ours, parse.Invalid), head
    else:
        assert not isinstance(ours, parse.Invalid), (head, ours)
        assert (ours.method, ours.target, ours.version,
                ours.content_length, ours.chunked) == (
            theirs['method'], theirs['target'], theirs['version'],
            theirs['length'], theirs['chunked']), head
    return theirs


@pytest.mark.parametrize('seed', _seeds())
def test_parser_agrees_with_the_oracle(seed):
    print('HTTP parser fuzz seed %d' % seed)
    rng = random.Random(seed)
    end = time.monotonic() + PARSER_SECONDS
    runs = accepted = 0
    while time.monotonic() < end or runs < 2000:
        accepted += agree(fuzz_cases.case(rng)) is not None
        runs += 1
    print('%d cases, %d accepted' % (runs, accepted))
    # both kinds were exercised
    assert 0 < accepted < runs


@pytest.fixture(scope='module')
def upstreams():
    boot, api = fuzz_harness.Recorder(), fuzz_harness.Recorder()
    try:
        yield boot, api
    finally:
        boot.close()
        api.close()


@pytest.mark.parametrize('seed', _seeds())
def test_handler_against_the_oracle(seed, upstreams):
    print('HTTP handler fuzz seed %d' % seed)
    boot, api = upstreams
    server = fuzz_harness.FuzzServer(fuzz_harness.FuzzProxy(boot, api))
    rng = random.Random(seed)
    end = time.monotonic() + HANDLER_SECONDS
    runs = rejected = 0
    while time.monotonic() < end or runs < 200:
        rejected += fuzz_harness.check(server, boot, api,
                                       fuzz_cases.case(rng)) is None
        runs += 1
    print('%d cases, %d rejected by the oracle' % (runs, rejected))
    assert 0 < rejected < runs


@pytest.mark.parametrize('target', [
    b'/%76%31/nodes', b'/%2fv1/nodes', b'/V1/nodes', b'/v1;x/nodes',
    b'/a?b\x01c', b'//v1/nodes', b'/v1/%6eodes'])
def test_finding_paths_never_reach_an_upstream(target, upstreams):
    boot, api = upstreams
    server = fuzz_harness.FuzzServer(fuzz_harness.FuzzProxy(boot, api))
    before = len(boot.seen), len(api.seen)
    out = fuzz_harness.exchange(
        server, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\n\r\n')
    boot.sync()
    api.sync()
    (status, _, _), = fuzz_harness.responses(out)
    assert status in (400, 403)
    assert (len(boot.seen), len(api.seen)) == before
