"""A bounded share of the TFTP request fuzzer (tests/fixtures/tftp_fuzz.py):
a strict RFC 1350/2347-2349/7440 parser is the oracle; the long run is
tools/fuzz/tftp.py."""

import random

import pytest

from tests.fixtures import tftp_fuzz
from vmetal_ironic.agent.tftp import packet as pkt

RANDOM_SEED = random.SystemRandom().randrange(2 ** 32)


def test_oracle_agrees_on_known_requests(tmp_path):
    srv = tftp_fuzz.make_server(tmp_path)
    ok = pkt.build_request(1, 'ok.bin', 'octet',
                           {'blksize': '9000', 'tsize': '0',
                            'timeout': '200', 'windowsize': '64'})
    t = tftp_fuzz.check(srv, ok, ('192.0.2.1', 1000))
    assert t is not None
    assert tftp_fuzz.expected_oack(tftp_fuzz.strict_parse(ok)[3], 3000) == {
        'blksize': '1468', 'tsize': '3000', 'windowsize': '16'}
    assert tftp_fuzz.check(srv, ok + b'x' * 500, ('192.0.2.1', 1001)) is None


@pytest.mark.parametrize('seed', [20261201, RANDOM_SEED])
def test_fuzz(tmp_path, seed):
    print('TFTP fuzz seed %d' % seed)
    stats = tftp_fuzz.run(5000, seed, tftp_fuzz.make_server(tmp_path))
    assert stats['transfers'] > 300 and stats['rejected'] > 300
