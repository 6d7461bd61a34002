"""vmetal-dbsync upgrade creates a missing SQLite directory."""

import os
import stat
import subprocess
import sys

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic import exception

import pytest


def test_upgrade_creates_the_directory(tmp_path):
    directory = tmp_path / 'var' / 'lib' / 'vmetal-ironic'
    conf = tmp_path / 'ironic.conf'
    conf.write_text('[vmetal_database]\nconnection = sqlite:///%s\n'
                    % (directory / 'ipam.sqlite'))
    run = subprocess.run(
        [sys.executable, '-c', 'import sys; from vmetal_ironic.cmd import '
         'dbsync; sys.exit(dbsync.main())', '--config-file', str(conf),
         'upgrade'], capture_output=True, text=True, timeout=120,
        check=False)
    assert run.returncode == 0, run.stderr
    assert 'Created %s' % directory in run.stdout
    assert 'No pools configured' in run.stdout
    assert stat.S_IMODE(os.stat(directory).st_mode) & 0o777 == 0o750
    database = db_api.Database('sqlite:///%s' % (directory / 'ipam.sqlite'))
    try:
        migration.check(database.reader)
    finally:
        database.dispose()


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(exception.StoreError, match='does not exist'):
        db_api.Database('sqlite:///%s' % (tmp_path / 'nope' / 'x.sqlite'))
