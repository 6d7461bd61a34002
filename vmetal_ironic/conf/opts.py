"""The option lists of every group, for oslo-config-generator."""

from vmetal_ironic.conf import database
from vmetal_ironic.conf import dhcp_agent
from vmetal_ironic.conf import ipam
from vmetal_ironic.conf import rpc
from vmetal_ironic.conf import vmetal


def list_opts():
    """[(group, options)] of every vmetal-ironic group."""
    return (database.list_opts() + ipam.list_opts() + vmetal.list_opts()
            + dhcp_agent.list_opts() + rpc.list_opts())
