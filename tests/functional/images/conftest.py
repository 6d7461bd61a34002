"""Fixtures of the image tests: the built (or cached) images.

Each build runs once per session: the first run on a fresh machine
builds (minutes, see doc/images.md), later runs answer from the cache.
"""

import pytest

from tests.fixtures import images
from tests.fixtures import netns


@pytest.fixture(scope='session')
def ramdisk_build():
    netns.require_root_and('debootstrap and chroot', 'debootstrap', 'cpio',
                           'zstd', 'modprobe', 'depmod')
    return images.ramdisk()


@pytest.fixture(scope='session')
def disk_image_build():
    netns.require_root_and('debootstrap, loop devices and mounts',
                           'debootstrap', 'qemu-img', 'sgdisk', 'losetup',
                           'partx', 'mkfs.vfat', 'mkfs.ext4')
    return images.disk_image()
