"""A bounded share of the DHCP fuzzer (tests/fixtures/dhcp_fuzz.py):
scapy is the oracle; the long run is tools/fuzz/dhcp.py."""

import random

import pytest

from tests.fixtures import dhcp_fuzz

RANDOM_SEED = random.SystemRandom().randrange(2 ** 32)


def test_seeds_are_answered_and_accepted_by_the_oracle():
    srv = dhcp_fuzz.make_server()
    for data in dhcp_fuzz.seeds():
        assert dhcp_fuzz.oracle(data) is not None
        dhcp_fuzz.check(srv, data)
    assert srv.stats['malformed'] == 0


@pytest.mark.parametrize('seed', [20261201, RANDOM_SEED])
def test_fuzz(seed):
    print('DHCP fuzz seed %d' % seed)
    stats = dhcp_fuzz.run(4000, seed)
    # the run exercised both sides of the oracle
    assert stats['replies'] > 100 and stats['oracle_rejects'] > 1000
    assert stats['errors'] == 0
