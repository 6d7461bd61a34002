"""Configuration options of vmetal-ironic, one module per option group."""

from oslo_config import cfg

from vmetal_ironic.conf import database
from vmetal_ironic.conf import ipam

CONF = cfg.CONF

database.register_opts(CONF)
ipam.register_opts(CONF)
