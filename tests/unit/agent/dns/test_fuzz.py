"""The bounded fuzz run of the DNS responder (see :mod:`.fuzz`)."""

import random

import pytest

from tests.unit.agent.dns import fuzz

RANDOM_SEED = random.SystemRandom().randrange(2 ** 32)


def test_oracle_agrees_on_known_queries():
    z = fuzz.make_zone()
    for data in fuzz.seeds(random.Random(1)):
        fuzz.check(z, data)
    assert fuzz.expected(b'\0' * 11) == (None, None)
    assert fuzz.expected(bytes.fromhex('0001000000010000000000000161c00c'
                                       '00010001'))[0] == 1


@pytest.mark.parametrize('seed', [20261202, RANDOM_SEED])
def test_fuzz(seed):
    print('DNS fuzz seed %d' % seed)
    stats = fuzz.run(20000, seed)
    for result in ('garbage', 'formerr', 'noerror', 'nxdomain', 'notimp',
                   'refused', 'badvers', 'nodata'):
        assert stats.get(result, 0) > 20, stats
