"""Options of the ``[vmetal]`` group: the Ironic network interface.

The IPAM engine has its own groups (``[vmetal_ipam]``, ``[vmetal_pool:*]``,
``[vmetal_database]``); this group holds what only the Ironic-side drivers
(network interface, DHCP provider, notification driver) read.
"""

from oslo_config import cfg

from vmetal_ironic.i18n import _

GROUP = 'vmetal'

opts = [
    cfg.IntOpt('reconcile_interval',
               default=600,
               min=0,
               help=_('Seconds between two runs of the conductor periodic '
                      'task that releases the allocations and reservations '
                      'of nodes that no longer exist in Ironic (a node '
                      'deleted in maintenance, a missed notification). '
                      '0 disables it.')),
    cfg.BoolOpt('reconcile_lease',
                default=True,
                help=_('Run the reconcile on one conductor per interval: '
                       'the periodic of each conductor first takes the '
                       '"reconcile" lease in the IPAM database (a '
                       'conditional UPDATE of vmetal_leases) and does the '
                       'work only while it holds it. False: every '
                       'conductor reconciles on every interval.')),
    cfg.IntOpt('reconcile_lease_grace',
               default=60,
               min=0,
               help=_('Seconds a reconcile lease outlives the interval. '
                      'The holder renews it on each run; another conductor '
                      'takes the reconcile over once the holder has not '
                      'renewed it for reconcile_interval + this (it died '
                      'or lost the database).')),
    cfg.IntOpt('reconcile_page_size',
               default=500,
               min=1,
               max=1000,
               help=_('How many node UUIDs known to the IPAM store the '
                      'reconcile checks against Ironic in one query (an '
                      'indexed IN list, never a listing of all nodes).')),
    cfg.BoolOpt('inject_configdrive',
                default=True,
                help=_('Put the node\'s network_data into the instance '
                       'config drive at deploy time: a dict config drive '
                       'gets a "network_data" key, a gzip+base64 ISO gets '
                       'its openstack/latest/network_data.json replaced, a '
                       'deploy without a config drive gets one. A URL '
                       'config drive is never changed.')),
    cfg.BoolOpt('generate_network_data',
                default=True,
                help=_('Write the generated network_data document into '
                       'node.network_data when the tenant network is '
                       'configured. Operator documents are never '
                       'overwritten whatever this says.')),
    cfg.BoolOpt('release_on_delete_notification',
                default=True,
                help=_('Let the "vmetal" oslo.messaging notification driver '
                       'release the allocations and reservations of a node '
                       'when it sees baremetal.node.delete.end.')),
]


# Ironic's redfish code reads CONF[<node.driver>].verify_ca (with a special
# case only for idrac), so the vmetal-redfish hardware type needs a group of
# its own name.
REDFISH_GROUP = 'vmetal-redfish'

redfish_opts = [
    cfg.StrOpt('verify_ca',
               help=_('For vmetal-redfish nodes: the default verify_ca '
                      'path when redfish_verify_ca in driver_info is '
                      'missing or True (the counterpart of '
                      '[redfish]verify_ca).')),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
    conf.register_opts(redfish_opts, group=REDFISH_GROUP)


def list_opts():
    return [(GROUP, opts), (REDFISH_GROUP, redfish_opts)]
