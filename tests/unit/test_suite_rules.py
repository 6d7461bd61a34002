"""The suite's own rules (tests/conftest.py): CI skips fail, time limits."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

SAMPLE = '''
import time
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip('no such service')

@pytest.mark.xfail(reason='known')
def test_xfails():
    assert False

def test_hangs():
    time.sleep(30)

@pytest.fixture
def vm_bed():
    return 'a fixture that boots QEMU'

def test_qemu(vm_bed):
    time.sleep(2)
'''


def _pytest(tmp_path, ci, *args):
    (tmp_path / 'test_sample.py').write_text(SAMPLE)
    env = dict(os.environ, CI=ci, PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         '-p', 'tests.conftest', '-c', os.devnull, '--rootdir',
         str(tmp_path), '-rs'] + list(args) + [str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)


def test_a_skip_fails_under_ci(tmp_path):
    proc = _pytest(tmp_path, 'true', '-k', 'not hangs and not qemu')
    assert proc.returncode == 1, proc.stdout
    assert ('CI=true: 1 test(s) skipped, which fails the run: '
            'test_sample.py::test_skips') in proc.stdout
    assert 'SKIPPED' in proc.stdout and 'no such service' in proc.stdout


def test_a_skip_passes_outside_ci(tmp_path):
    proc = _pytest(tmp_path, 'false', '-k', 'not hangs and not qemu')
    assert proc.returncode == 0, proc.stdout
    assert 'which fails the run' not in proc.stdout


def test_every_test_has_a_time_limit(tmp_path):
    proc = _pytest(tmp_path, 'false', '-k', 'hangs', '--timeout', '2')
    assert proc.returncode == 1, proc.stdout
    assert 'Timeout' in proc.stdout


def test_this_run_has_a_default_limit(pytestconfig):
    assert float(pytestconfig.getini('timeout')) > 0


def test_slow_fixtures_get_a_longer_limit(tmp_path):
    proc = _pytest(tmp_path, 'false', '-k', 'qemu', '--timeout', '1')
    assert proc.returncode == 0, proc.stdout
    assert '1 passed' in proc.stdout
