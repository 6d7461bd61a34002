"""Fixtures of the agent's functional tests: the two test beds.

``dhcp_bed`` is a provisioning segment with the DHCP agent, a relay and a
cluster segment (:mod:`tests.fixtures.dhcp_bed`); ``bridge_bed`` is the
agent with TFTP and the HTTP proxy between a client and stand-ins of
Ironic (:mod:`tests.fixtures.bridge_bed`). Each is built once for all the
agent's functional tests that use it and torn down after them.
"""

import pytest

from tests.fixtures import bridge_bed as bridge
from tests.fixtures import dhcp_bed as dhcp
from tests.fixtures import netns


@pytest.fixture(scope='package')
def dhcp_bed():
    dhcp.require_root_and('ip', 'setpriv')
    with netns.Lab() as lab:
        b = dhcp.Bed(lab)
        b.agent = netns.start_agent(lab, b.agent_ns, dhcp.AGENT_OPTS,
                                    dhcp.HOSTS)
        try:
            yield b
        finally:
            b.agent.stop()


@pytest.fixture(scope='package')
def bridge_bed():
    bridge.require_root_and('ip', 'setpriv', 'curl', 'tftp', 'atftp')
    with netns.Lab('vbr') as lab:
        b = bridge.Bed(lab)
        b.start_cluster_side()
        b.agent = netns.start_agent(lab, b.agent_ns,
                                    bridge.agent_opts(
                                        lab.tmpdir,
                                        server_address6=bridge.SERVER6),
                                    bridge.HOSTS)
        try:
            bridge.wait_port(b.client, bridge.SERVER, 8080)
            yield b
        finally:
            b.agent.stop()
