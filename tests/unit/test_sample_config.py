"""The committed sample configuration is the generated one.

The sample is never hand-written: ``tox -e genconfig`` (or the
oslo-config-generator line in tox.ini) writes it from the option modules.
"""

import pathlib

from oslo_config import generator

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / 'etc' / 'vmetal-ironic' / 'vmetal-ironic.conf.sample'


def test_sample_is_generated(tmp_path):
    output = tmp_path / 'sample.conf'
    generator.main([
        '--config-file',
        str(ROOT / 'tools' / 'config' / 'vmetal-ironic-config-generator.conf'),
        '--output-file', str(output)])
    assert output.read_text() == SAMPLE.read_text(), (
        'etc/vmetal-ironic/vmetal-ironic.conf.sample is stale: run '
        '"tox -e genconfig"')


def test_every_group_is_listed():
    from vmetal_ironic.conf import opts
    groups = {group for group, _ in opts.list_opts()}
    assert {'vmetal_ipam', 'vmetal_database', 'dhcp_agent'} <= groups
