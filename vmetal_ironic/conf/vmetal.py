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
