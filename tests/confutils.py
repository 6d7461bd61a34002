"""Build isolated oslo.config objects from configuration text."""

import textwrap

from oslo_config import cfg

from vmetal_ironic.conf import database
from vmetal_ironic.conf import ipam


def conf_from_text(text, directory, name='vmetal.conf'):
    """A fresh ConfigOpts with the vmetal groups, parsed from ``text``."""
    path = directory / name
    path.write_text(textwrap.dedent(text))
    conf = cfg.ConfigOpts()
    database.register_opts(conf)
    ipam.register_opts(conf)
    conf(['--config-file', str(path)], project='vmetal-test',
         default_config_files=[])
    return conf
