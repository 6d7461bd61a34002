"""Shared fixtures of the agent's unit tests."""

from oslo_config import cfg
import pytest

from vmetal_ironic.conf import bridge as bridge_conf
from vmetal_ironic.conf import callback as callback_conf
from vmetal_ironic.conf import database as database_conf
from vmetal_ironic.conf import dhcp_agent as dhcp_conf
from vmetal_ironic.conf import metrics as metrics_conf


class FakeFeed:
    """A reservation feed: hands out queued ChangeSets (or raises)."""

    def __init__(self):
        self.sets = []
        self.calls = []
        self.closed = False

    def changes_since(self, generation):
        self.calls.append(generation)
        item = self.sets.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        self.closed = True


@pytest.fixture
def fake_feed():
    return FakeFeed()


@pytest.fixture
def agent_conf():
    """A parsed ConfigOpts with the agent's groups; interface ``lo``."""
    c = cfg.ConfigOpts()
    for group in (dhcp_conf, bridge_conf, callback_conf, database_conf,
                  metrics_conf):
        group.register_opts(c)
    c([], project='vmetal-test', default_config_files=[])
    c.set_override('interface', 'lo', group='dhcp_agent')
    c.set_override('server_address', '127.0.0.1', group='dhcp_agent')
    return c
