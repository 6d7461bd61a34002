"""One real Ironic 39 shared by the tests of this directory."""

import os
import shutil
import sys

import pytest

from tests.functional.ironic import ironic_env


def _check():
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable),
                                       'ironic')):
        pytest.skip('the "ironic" command of Ironic 39 is not installed '
                    'in this virtualenv')
    for tool in ('genisoimage', 'ipmitool'):
        if not shutil.which(tool):
            pytest.skip('Debian package %s is not installed (see '
                        'tools/debian-packages.txt)' % tool)


@pytest.fixture(scope='session')
def ironic():
    """A running Ironic with the vmetal plugins and a fake IPA."""
    _check()
    env = ironic_env.IronicEnv()
    try:
        env.start()
        yield env
    finally:
        env.stop()
