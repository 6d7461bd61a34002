"""Unit tests of the TFTP root: resolution, traversal, symlinks."""

import os

import pytest

from vmetal_ironic.agent.tftp import files
from vmetal_ironic.agent.tftp import packet as pkt


@pytest.fixture
def root(tmp_path):
    base = tmp_path / 'root'
    (base / 'sub').mkdir(parents=True)
    (base / 'snponly.efi').write_bytes(b'EFI' * 100)
    (base / 'sub' / 'file').write_bytes(b'inner')
    (tmp_path / 'secret').write_bytes(b'secret')
    os.symlink(str(tmp_path / 'secret'), str(base / 'out-link'))
    os.symlink('snponly.efi', str(base / 'in-link'))
    os.symlink(str(tmp_path), str(base / 'dir-link'))
    os.mkfifo(str(base / 'fifo'))
    return files.real_root(str(base))


def _open(root, name):
    opened = files.open_file(root, name)
    try:
        return os.pread(opened.fd, 1000, 0), opened.size
    finally:
        os.close(opened.fd)


def test_open_regular_and_nested(root):
    assert _open(root, 'snponly.efi') == (b'EFI' * 100, 300)
    assert _open(root, 'sub/file') == (b'inner', 5)
    assert _open(root, './sub//file') == (b'inner', 5)
    assert _open(root, 'sub\\file') == (b'inner', 5)


def test_symlink_inside_root_is_served(root):
    assert _open(root, 'in-link')[1] == 300


@pytest.mark.parametrize('name', [
    '../secret', 'sub/../../secret', '/etc/passwd', '\\etc\\passwd',
    'out-link', 'dir-link/secret', '..', 'sub/..',
])
def test_escapes_are_access_violations(root, name):
    with pytest.raises(files.Refused) as e:
        files.open_file(root, name)
    assert e.value.code == pkt.ERR_ACCESS


@pytest.mark.parametrize('name', ['missing', 'sub', 'fifo', '.', ''])
def test_missing_or_not_regular(root, name):
    with pytest.raises(files.Refused) as e:
        files.open_file(root, name)
    assert e.value.code in (pkt.ERR_NOT_FOUND, pkt.ERR_ACCESS)


def test_real_root_must_be_a_directory(tmp_path):
    with pytest.raises(ValueError):
        files.real_root(str(tmp_path / 'nope'))
