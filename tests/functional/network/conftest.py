"""One real Ironic 39 shared by the tests of this directory."""

import pytest

from tests.fixtures import ironic as ironic_env


@pytest.fixture(scope='session')
def ironic():
    """A running Ironic with the vmetal plugins and a fake IPA."""
    ironic_env.check_available()
    env = ironic_env.IronicEnv()
    try:
        env.start()
        yield env
    finally:
        env.stop()
