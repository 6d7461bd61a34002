"""The ``vmetal`` Ironic DHCP provider (``[dhcp]dhcp_provider = vmetal``).

Ironic calls it whenever it writes a PXE/iPXE configuration: the option
list is translated into a boot profile (:mod:`vmetal_ironic.dhcp.options`)
and stored once for the node; every reservation of the node (also of a
MAC added later) serves it, and the vmetal DHCP agent reads it with
them. The reservations themselves (MAC -> address) are made by the
``vmetal`` network interface, which knows the address. The profile's
``dhcp`` field follows the node's DHCP switch (:mod:`.switch`) in both.
"""

import logging

from ironic.dhcp import base
from oslo_log import log

from vmetal_ironic.dhcp import options as dhcp_options
from vmetal_ironic.dhcp import switch
from vmetal_ironic.network import errors
from vmetal_ironic.network import facts

LOG = log.getLogger(__name__)


def _ipam():
    from vmetal_ironic.ipam import manager
    return manager.get_manager()


class VmetalDHCP(base.BaseDHCP):
    """Boot options of vmetal reservations, for the vmetal DHCP agent."""

    def update_port_dhcp_opts(self, port_id, dhcp_options, context=None):
        """Neutron-port hook: vmetal has no Neutron ports, nothing to do.

        :param port_id: a Neutron port id.
        :param dhcp_options: the options for that port.
        :param context: request context.
        """
        LOG.debug('vmetal DHCP: update_port_dhcp_opts(%s) ignored: no '
                  'Neutron ports here', port_id)

    def update_dhcp_opts(self, task, options, vifs=None):
        """Store Ironic's boot options as the node's boot profile.

        Idempotent and cheap: the database is written only when the
        profile changed.

        :param task: a TaskManager instance.
        :param options: Ironic's DHCP option list.
        :param vifs: unused (Neutron VIF map).
        :raises: FailedToUpdateDHCPOptOnPort naming the node.
        """
        node = task.node
        with errors.translated(node.uuid, 'store the DHCP boot options',
                               errors.DHCP):
            profile = switch.with_switch(
                dhcp_options.to_boot_profile(options),
                facts.answers_dhcp(task))
            # One read; a write only when the profile changed.
            reservations = _ipam().set_boot_profile(node.uuid, profile)
            if not reservations:
                LOG.warning('vmetal DHCP: node %s has no reservation yet: '
                            'its boot profile is stored and served once a '
                            'MAC is reserved; is its network interface '
                            '"vmetal"?', node.uuid)
                return
            if LOG.isEnabledFor(logging.DEBUG):     # the MAC list costs
                LOG.debug('vmetal DHCP: boot profile of node %(node)s '
                          '(MACs %(macs)s) set to %(profile)s',
                          {'node': node.uuid,
                           'macs': [r.mac for r in reservations],
                           'profile': profile})

    def clean_dhcp_opts(self, task):
        """Clear the boot profile of the node (no write if it has none).

        A node without DHCP keeps ``dhcp = 'off'``: its reservation may
        outlive the tear down (scope ``node``).

        :raises: FailedToUpdateDHCPOptOnPort naming the node.
        """
        node = task.node
        with errors.translated(node.uuid, 'clear the DHCP boot options',
                               errors.DHCP):
            profile = switch.with_switch(None, facts.answers_dhcp(task))
            _ipam().set_boot_profile(node.uuid, profile or None)

    def get_ip_addresses(self, task):
        """The node's allocated addresses.

        :raises: NetworkError naming the node.
        """
        node = task.node
        with errors.translated(node.uuid, 'look up the addresses'):
            return [a.address for a in _ipam().get_allocations(node.uuid)]

    def supports_ipxe_tag(self):
        """The agent tags iPXE clients (user class iPXE / option 175)."""
        return True
