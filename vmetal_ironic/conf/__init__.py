"""Configuration options of vmetal-ironic, one module per option group.

Every group is registered here, once, on the global CONF, at import (as
``ironic.conf`` does); driver modules import ``CONF`` from here and
register nothing. The only options registered later are the per-pool
groups ``[vmetal_pool:NAME]``, whose names the configuration itself gives
(see :mod:`vmetal_ironic.conf.ipam`).
"""

from oslo_config import cfg

from vmetal_ironic.conf import database
from vmetal_ironic.conf import dhcp_agent
from vmetal_ironic.conf import ipam
from vmetal_ironic.conf import rpc
from vmetal_ironic.conf import vmetal

CONF = cfg.CONF


def register_opts(conf):
    """Register every vmetal-ironic group on ``conf``."""
    database.register_opts(conf)
    ipam.register_opts(conf)
    vmetal.register_opts(conf)
    dhcp_agent.register_opts(conf)
    rpc.register_opts(conf)


register_opts(CONF)
