"""The TFTP server component: its configuration."""

import os

import pytest

from vmetal_ironic.agent.tftp import server as tftp
from vmetal_ironic import exception


def test_root_must_be_a_directory(tmp_path):
    with pytest.raises(exception.ConfigError, match='tftp_root'):
        tftp.TftpServer(str(tmp_path / 'missing'))
    f = tmp_path / 'file'
    f.write_bytes(b'')
    with pytest.raises(exception.ConfigError, match='tftp_root'):
        tftp.TftpServer(str(f))
    assert os.path.isdir(tftp.TftpServer(str(tmp_path)).root)
