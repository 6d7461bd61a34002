"""The DHCPv6 tests run on the DHCPv6 bed (tests/fixtures/dhcp6_bed.py),
built once for the package and torn down after it."""

import pytest

from tests.fixtures import dhcp6_bed
from tests.fixtures import netns


@pytest.fixture(scope='package')
def bed6():
    dhcp6_bed.require_root_and('ip', 'setpriv', 'radvd')
    with netns.Lab('v6b') as lab:
        b = dhcp6_bed.Bed(lab)
        b.agent = netns.start_agent(lab, b.agent_ns, b.agent_opts(),
                                    dhcp6_bed.HOSTS)
        try:
            assert b.agent.wait_log('DHCPv6 server started', timeout=20)
            yield b
        finally:
            b.agent.stop()
