"""The real-server bed, built once for the flow tests of this package.

See :mod:`tests.fixtures.real_server`. The bed needs root, the Debian
packages of tools/debian-packages.txt (libvirt, QEMU, OVMF, iPXE) and
the Python packages sushy-tools, virtualbmc and libvirt-python; under
CI=true their absence fails instead of skipping (tests/conftest.py).
"""

import os
import pathlib
import shutil
import sys
import tempfile

import pytest

from tests.fixtures import netns
from tests.fixtures import real_server as rs
from tests.fixtures import segments as seg
from tests.functional import databases

BINARIES = ('ip', 'setpriv', 'curl', 'ping', 'libvirtd', 'unshare',
            'qemu-system-x86_64', 'qemu-img', 'sfdisk', 'ipmitool',
            'ssh', 'ssh-keygen')


def require():
    if not netns.have_root():
        pytest.skip('needs root: network namespaces, libvirtd, KVM')
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable),
                                       'ironic')):
        pytest.skip('the "ironic" command of Ironic 39 is not installed')
    missing = netns.missing_binaries(*BINARIES)
    if missing:
        pytest.fail('missing binaries (tools/debian-packages.txt): %s'
                    % ', '.join(missing))
    for module in ('libvirt', 'sushy_tools', 'virtualbmc'):
        try:
            __import__(module)
        except ImportError:
            pytest.fail('Python package for %s missing '
                        '(test-requirements.txt)' % module)


@pytest.fixture(scope='package')
def real_bed():
    require()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-realvm-'))
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with rs.Bed(seg.postgresql_socket_url(url),
                        rs.find_images()) as bed:
                bed.start()
                yield bed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope='package')
def real_images_bed(real_bed):
    """The bed, for the tests that boot the real ramdisk and image."""
    missing = [k for k, v in real_bed.images.items() if not v]
    if missing:
        pytest.fail('images not built (%s): tools/build-ramdisk.sh and '
                    'tools/build-disk-image.sh (cached under %s)'
                    % (', '.join(missing), rs.IMAGE_CACHE))
    return real_bed
