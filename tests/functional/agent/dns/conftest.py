"""The DNS tests run on their own bed (:mod:`.dns_bed`)."""

import pytest

from tests.fixtures import netns
from tests.functional.agent.dns import dns_bed


@pytest.fixture(scope='package')
def bed():
    netns.require_root_and('network namespaces and port 53', 'ip',
                           'setpriv', 'dig', 'curl', 'getent')
    with netns.Lab('vdns') as lab:
        b = dns_bed.Bed(lab)
        try:
            b.agent = netns.start_agent(lab, b.agent_ns, dns_bed.AGENT_OPTS,
                                        dns_bed.HOSTS)
            try:
                assert b.agent.wait_log('DNS answering', timeout=20), \
                    b.agent.log()[-2000:]
                yield b
            finally:
                b.agent.stop()
        finally:
            b.close()
