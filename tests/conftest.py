"""Suite-wide rules: every test has a time limit; under CI nothing skips.

* pytest-timeout's default limit is in pyproject.toml; the tests that use
  a fixture starting a real Ironic or booting QEMU get a longer one here.
* With ``CI=true`` a run that skipped any test fails (exit status 1): a
  skip there means a missing package or service, not a passing suite.
"""

import os

import pytest

# Fixtures that start something slow, and the limit (seconds) of the tests
# that use them (set-up of the fixture counts towards the limit).
LONG_FIXTURES = {
    'ironic': 600,     # a real Ironic 39 conductor and API, fake IPA
    'ironic_prod': 600,  # ironic-api + 2 conductors, PostgreSQL, RabbitMQ
    'vm_bed': 600,     # QEMU guests booting through the agent
    'discovery_bed': 600,   # real Ironic auto-discovery across the agent
    'aa': 300,         # two agents + keepalived, real clients, QEMU, kill
    # tools/build-ramdisk.sh, tools/build-disk-image.sh: minutes cold on
    # a fresh machine (debootstrap, pip), seconds from the cache
    'ramdisk_build': 1800,
    'disk_image_build': 1800,
    # real VMs (libvirt, sushy-tools, vbmc) through the whole Ironic flow;
    # under TCG (no usable KVM for the firmware) each flow is slower
    'real_bed': 1800,
}


def ci():
    return os.environ.get('CI', '').lower() == 'true'


class SkipGuard:
    """Under CI=true: a skipped test fails the run, naming the test."""

    def __init__(self):
        self.skipped = []

    def pytest_runtest_logreport(self, report):
        if report.skipped and not hasattr(report, 'wasxfail'):
            self.skipped.append(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter):
        if self.skipped:
            terminalreporter.write_line(
                'CI=true: %d test(s) skipped, which fails the run: %s'
                % (len(self.skipped), ', '.join(self.skipped)), red=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.skipped and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config):
    if ci():
        config.pluginmanager.register(SkipGuard(), 'vmetal-ci-skip-guard')


def pytest_collection_modifyitems(config, items):
    for item in items:
        limits = [seconds for name, seconds in LONG_FIXTURES.items()
                  if name in item.fixturenames]
        if limits and item.get_closest_marker('timeout') is None:
            item.add_marker(pytest.mark.timeout(max(limits)))
