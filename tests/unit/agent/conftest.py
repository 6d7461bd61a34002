"""Shared fixtures of the agent's unit tests."""

import logging

from oslo_config import cfg
import pytest

from vmetal_ironic.conf import database as database_conf
from vmetal_ironic.conf import dhcp_agent as dhcp_conf


@pytest.fixture
def logging_restored():
    """The root logger's handlers and level as they were, after the test.

    For a test that runs a console script's ``main()``: its
    ``oslo_log.log.setup`` adds a root handler on the ``sys.stderr`` of
    that moment, the test's capture stream, which pytest closes after the
    test; every later log line then printed a "--- Logging error ---"
    traceback (ValueError: I/O operation on closed file).
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        # pytest's own (this phase's log capture) stay: pytest removes them
        if handler not in handlers and not type(
                handler).__module__.startswith('_pytest'):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


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
    for group in (dhcp_conf, database_conf):
        group.register_opts(c)
    c([], project='vmetal-test', default_config_files=[])
    c.set_override('interface', 'lo', group='dhcp_agent')
    c.set_override('server_address', '127.0.0.1', group='dhcp_agent')
    return c
