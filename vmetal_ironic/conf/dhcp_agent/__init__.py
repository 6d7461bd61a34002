"""``[dhcp_agent]``: every option of vmetal-dhcp-agent, one group.

The group is defined here and only here; its options are written in one
module per part of the agent:

* :mod:`.dhcp`: the DHCP server, its interface, address and sources;
* :mod:`.dhcp6`: the DHCPv6 server;
* :mod:`.bridge`: the TFTP server and the HTTP proxy on the provisioning
  side, and their limits;
* :mod:`.callback`: the callback listener on the cluster side and the TLS
  it serves;
* :mod:`.metrics`: the metrics and health endpoint on the cluster side;
* :mod:`.discovery`: leases for MACs without a reservation (off);
* :mod:`.dns`: the boot-name DNS responder (off).
"""

from vmetal_ironic.conf.dhcp_agent import bridge
from vmetal_ironic.conf.dhcp_agent import callback
from vmetal_ironic.conf.dhcp_agent import dhcp
from vmetal_ironic.conf.dhcp_agent import dhcp6
from vmetal_ironic.conf.dhcp_agent import discovery
from vmetal_ironic.conf.dhcp_agent import dns
from vmetal_ironic.conf.dhcp_agent import metrics

GROUP = 'dhcp_agent'

SOURCE_FILE = dhcp.SOURCE_FILE
SOURCE_IPAM = dhcp.SOURCE_IPAM

#: Every option of the group.
opts = (dhcp.opts + dhcp6.opts + bridge.opts + callback.opts + metrics.opts
        + discovery.opts + dns.opts)


def register_opts(conf):
    """Register the ``[dhcp_agent]`` options on ``conf``."""
    conf.register_opts(opts, group=GROUP)


def list_opts():
    """The ``[dhcp_agent]`` options for oslo-config-generator."""
    return [(GROUP, opts)]
