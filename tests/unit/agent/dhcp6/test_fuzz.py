"""A bounded share of the DHCPv6 fuzzer (tests/fixtures/dhcp6_fuzz.py):
scapy is the oracle."""

import random

import pytest

from tests.fixtures import dhcp6_fuzz
from tests.fixtures import dhcp6_packets as p

RANDOM_SEED = random.SystemRandom().randrange(2 ** 32)


def test_seeds_are_answered_and_accepted_by_the_oracle():
    srv = p.make_server(max_payload=dhcp6_fuzz.MAX_PAYLOAD)
    for data in dhcp6_fuzz.seeds():
        assert dhcp6_fuzz.oracle(data) is not None, data.hex()
        src = dhcp6_fuzz.RELAY_SRC if data[0] == 12 else p.src()
        assert dhcp6_fuzz.check(srv, data, src) is not None, data.hex()
    assert srv.stats['malformed'] == 0


@pytest.mark.parametrize('seed', [20261201, RANDOM_SEED])
def test_fuzz(seed):
    print('DHCPv6 fuzz seed %d' % seed)
    stats = dhcp6_fuzz.run(2000, seed)
    # the run exercised both sides of the oracle
    assert stats['replies'] > 100 and stats['oracle_rejects'] > 1000
    assert stats['errors'] == 0
