"""Options of the ``[vmetal_ipam]`` group and the per-pool groups.

Pools are named in ``[vmetal_ipam]pools``; each has its own group
``[vmetal_pool:NAME]``. Those groups are the one exception to "every option
is registered once, at import of :mod:`vmetal_ironic.conf`": their names
are only known once ``pools`` is parsed, so
:func:`vmetal_ironic.ipam.pools.load_pools` (and nothing else) registers
them with :func:`register_pool_opts` when it reads the pools.
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _
from vmetal_ironic.ipam.scope import Scope

GROUP = 'vmetal_ipam'
POOL_GROUP_PREFIX = 'vmetal_pool:'

opts = [
    cfg.ListOpt('pools',
                default=[],
                help=_('Names of the address pools, in order. Each name '
                       'NAME has a section [vmetal_pool:NAME] that defines '
                       'it.')),
    cfg.ListOpt('default_pool',
                help=_('Pool for nodes that name no pool and whose resource '
                       'class no pool lists; or one IPv4 and one IPv6 pool '
                       '(comma separated): such nodes are dual-stack. '
                       'Unset: such a node has no pool and its deployment '
                       'fails validation.')),
    cfg.IntOpt('quarantine',
               default=300,
               min=0,
               help=_('Seconds a released address is held back before '
                      'another node may receive it. The node that held it '
                      'gets it back at any time while it is still free.')),
    cfg.StrOpt('allocation_scope',
               default=Scope.DEPLOYMENT.value,
               choices=[(Scope.DEPLOYMENT.value,
                         _('an address is allocated when a deployment '
                           'starts and released at tear down')),
                        (Scope.NODE.value,
                         _('an address stays with the node until the '
                           'node is deleted'))],
               help=_('How long an allocation lives.')),
    cfg.BoolOpt('manage_pools',
                default=False,
                help=_('Let this process record the configured pools in '
                       'the IPAM database when it first uses it (for a '
                       'single conductor that owns them). Otherwise the '
                       'pools are recorded only by "vmetal-dbsync upgrade" '
                       'and "vmetal-ipam pool sync"; a process whose pools '
                       'differ from the recorded ones logs the difference '
                       'once and uses the recorded pools.')),
    cfg.IntOpt('max_retries',
               default=20,
               min=1,
               help=_('How many times one allocation is retried when a '
                      'concurrent allocator took the same address or a '
                      'database deadlock was detected.')),
]

pool_opts = [
    cfg.StrOpt('cidr',
               required=True,
               help=_('The pool\'s network. Gateway-CIDR shorthand: '
                      '"192.168.100.1/24" means gateway 192.168.100.1 on '
                      'network 192.168.100.0/24. A network address '
                      '("192.168.100.0/24") needs "gateway" as well, or '
                      'the pool has no gateway.')),
    cfg.StrOpt('gateway',
               help=_('Default gateway of the pool\'s network. Optional '
                      'when "cidr" names it.')),
    cfg.ListOpt('ranges',
                default=[],
                help=_('Address ranges handed out: "FIRST-LAST" or CIDR '
                       'blocks. Default: the whole network. The network '
                       'address, the broadcast address and the gateway '
                       'are never handed out.')),
    cfg.ListOpt('exclude',
                default=[],
                help=_('Addresses, "FIRST-LAST" ranges or CIDR blocks that '
                       'are never handed out. Each must lie in a range.')),
    cfg.ListOpt('dns_servers',
                default=[],
                help=_('DNS servers given to the nodes of this pool.')),
    cfg.ListOpt('ntp_servers',
                default=[],
                help=_('NTP servers (IP addresses of the pool\'s IP '
                       'version) given to the nodes of this pool: DHCP '
                       'option 42 while they boot on the provisioning '
                       'network, and the deployed OS\'s time servers '
                       'through the config drive\'s vendor data '
                       '(cloud-init).')),
    cfg.ListOpt('resource_classes',
                default=[],
                help=_('Ironic resource classes (node types) served by this '
                       'pool. A resource class may be listed by one pool '
                       'only.')),
    cfg.IntOpt('mtu',
               min=68,
               max=65535,
               help=_('MTU of the pool\'s network, if not the default.')),
    cfg.ListOpt('routes',
                default=[],
                help=_('Static routes: "DESTINATION via GATEWAY", e.g. '
                       '"10.0.0.0/8 via 192.168.100.254".')),
    cfg.IntOpt('vlan_id',
               min=1,
               max=4094,
               help=_('VLAN of the pool\'s network, if tagged.')),
    cfg.StrOpt('domain',
               help=_('DNS domain given to the nodes of this pool.')),
    cfg.StrOpt('discovery_range',
               help=_('IPv4 addresses ("FIRST-LAST" or a CIDR block) '
                      'leased for a short time to servers that are not '
                      'enrolled, so that they can boot the inspection '
                      'ramdisk and be discovered (doc/discovery.md). Off '
                      'when unset. It must lie in the network, outside '
                      '"ranges" (which must then be set) and the '
                      'exclusions; allocations and pins never use it. '
                      'Served only by agents with '
                      '[dhcp_agent]discovery_enabled.')),
]


def pool_group(name):
    """The option group name of pool ``name``."""
    return POOL_GROUP_PREFIX + name


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def register_pool_opts(conf, name):
    """Register the options of pool ``name``; safe to call again."""
    conf.register_opts(pool_opts, group=pool_group(name))


def list_opts():
    return [(GROUP, opts), (pool_group('compute'), pool_opts)]
