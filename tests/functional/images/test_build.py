"""The images the build scripts make are what they claim to be.

* The ramdisk: the kernel is a bzImage; the initramfs is a zstd cpio
  holding systemd as /init, ironic-python-agent 13.x in /opt/ipa (the
  real agent from PyPI, its dist-info), glean, the tools of IPA's
  hardware manager, the virtio modules, and no firmware.
* The instance image: a compressed qcow2 whose GPT has a BIOS boot
  partition, an EFI system partition and a Linux root.
* Both are cached: a second run of a script prints the same paths at
  once, and ``--print-path`` answers without building.
"""

import json
import os
import re
import subprocess

import pytest

from tests.fixtures import images

# GPT partition type GUIDs (sgdisk codes ef02, ef00, 8300)
BIOS_BOOT = '21686148-6449-6E6F-744E-656564454649'
ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4'


def _initramfs_list(path):
    p = subprocess.run('zstd -dc %s | cpio -t --quiet' % path, shell=True,
                       stdout=subprocess.PIPE, text=True, check=True,
                       timeout=300)
    return set(p.stdout.split('\n'))


def _initramfs_file(path, member):
    p = subprocess.run('zstd -dc %s | cpio -i --quiet --to-stdout %s'
                       % (path, member), shell=True, stdout=subprocess.PIPE,
                       text=True, check=True, timeout=300)
    return p.stdout


@pytest.fixture(scope='module')
def ramdisk_files(ramdisk_build):
    return _initramfs_list(ramdisk_build[1])


def test_kernel_is_a_bzimage(ramdisk_build):
    kernel = ramdisk_build[0]
    with open(kernel, 'rb') as f:
        head = f.read(0x210)
    assert head[0x1fe:0x200] == b'\x55\xaa'     # boot sector signature
    assert head[0x202:0x206] == b'HdrS'         # Linux boot protocol


def test_initramfs_holds_the_real_agent_13(ramdisk_build, ramdisk_files):
    files = ramdisk_files
    assert 'opt/ipa/bin/ironic-python-agent' in files
    assert 'usr/local/bin/ironic-python-agent' in files
    meta = [f for f in files if re.match(
        r'opt/ipa/lib/python3\.\d+/site-packages/'
        r'ironic_python_agent-[\d.]+\.dist-info/METADATA$', f)]
    assert len(meta) == 1, meta
    text = _initramfs_file(ramdisk_build[1], meta[0])
    version = re.search(r'^Version: (\S+)$', text, re.M).group(1)
    assert version.startswith('13.'), version
    assert images.manifest(ramdisk_build[1])['ironic_python_agent'] == \
        version
    # the agent's own code, not a shim: its API and hardware manager
    for mod in ('api/app.py', 'hardware.py', 'agent.py', 'inspector.py'):
        assert any(f.endswith('site-packages/ironic_python_agent/' + mod)
                   for f in files), mod


def test_initramfs_boots_systemd_with_glean_and_the_tools(ramdisk_files):
    files = ramdisk_files
    assert 'init' in files
    assert 'etc/systemd/system/multi-user.target.wants/' \
        'ironic-python-agent.service' in files
    assert 'usr/lib/systemd/system/glean@.service' in files
    assert 'etc/udev/rules.d/99-glean.rules' in files
    assert 'usr/lib/systemd/system/glean-early.service' in files
    for tool in ('usr/bin/lsblk', 'usr/sbin/wipefs', 'usr/sbin/sgdisk',
                 'usr/sbin/parted', 'usr/sbin/dmidecode', 'usr/bin/lshw',
                 'usr/bin/qemu-img', 'usr/bin/efibootmgr',
                 'usr/sbin/mkfs.vfat', 'usr/bin/udevadm', 'usr/sbin/ip',
                 'usr/sbin/dhclient', 'usr/sbin/ifup', 'usr/sbin/mdadm'):
        assert tool in files or tool.replace('usr/', '', 1) in files, tool


def test_initramfs_keeps_only_the_needed_modules(ramdisk_files):
    mods = {f.rsplit('/', 1)[1].split('.ko')[0] for f in ramdisk_files
            if '/kernel/' in f and '.ko' in f}
    for m in ('virtio_net', 'virtio_blk', 'virtio_scsi', 'isofs', 'vfat',
              'ext4', 'nvme', 'usb-storage', 'sd_mod', 'sr_mod'):
        assert m in mods, m
    assert len(mods) < 200, len(mods)
    assert not any(f.startswith('usr/lib/firmware/') and f.count('/') > 3
                   for f in ramdisk_files)
    assert not any('/drivers/gpu/' in f or '/sound/' in f
                   for f in ramdisk_files)


def test_instance_image_is_a_qcow2_with_bios_and_efi_partitions(
        disk_image_build, tmp_path):
    info = json.loads(subprocess.run(
        ['qemu-img', 'info', '--output=json', disk_image_build],
        stdout=subprocess.PIPE, check=True, timeout=60).stdout)
    assert info['format'] == 'qcow2'
    assert info['actual-size'] < info['virtual-size'] / 3, info
    raw = tmp_path / 'disk.raw'
    subprocess.run(['qemu-img', 'convert', '-O', 'raw', disk_image_build,
                    str(raw)], check=True, timeout=300)
    table = json.loads(subprocess.run(
        ['sfdisk', '--json', str(raw)], stdout=subprocess.PIPE, check=True,
        timeout=60).stdout)['partitiontable']
    assert table['label'] == 'gpt'
    types = [p['type'].upper() for p in table['partitions']]
    assert types == [BIOS_BOOT, ESP, LINUX], types


def test_second_build_is_the_cache(ramdisk_build, disk_image_build):
    for script, want in ((images.BUILD_RAMDISK, list(ramdisk_build)),
                         (images.BUILD_DISK_IMAGE, [disk_image_build])):
        for argv in ([script], [script, '--print-path']):
            p = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               timeout=60)
            assert p.returncode == 0, p.stderr
            assert p.stdout.split() == want
            assert 'cached' in p.stderr


@pytest.mark.parametrize('script', [images.BUILD_RAMDISK,
                                    images.BUILD_DISK_IMAGE])
def test_print_path_of_an_empty_cache_fails_without_building(
        script, tmp_path):
    env = dict(os.environ, VMETAL_RAMDISK_CACHE=str(tmp_path),
               VMETAL_DISK_IMAGE_CACHE=str(tmp_path))
    p = subprocess.run([script, '--print-path'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60,
                       env=env)
    assert p.returncode == 1
    assert p.stdout == ''
    assert 'not built: %s/' % tmp_path in p.stderr
    assert os.listdir(tmp_path) == []
