"""The ``vmetal`` Ironic network interface: IPAM without Neutron.

Thin hooks, like Ironic's ``flat`` interface: each gathers the node's
facts (:func:`vmetal_ironic.network.facts.facts_of`) and makes one call to
the IPAM manager, which owns the rules (scopes, reuse, which MACs are
reserved; see :mod:`vmetal_ironic.ipam.operations`). Each phase that boots
the node on the provisioning network (deploy, cleaning, rescue,
inspection, servicing) ensures the node's network for its scope; the
tenant network step also writes the node's ``network_data`` (and the
config drive); tear down and the end of each phase release their scope.
"""

from ironic.common import states
from ironic.conductor import periodics
from ironic.drivers import base
from oslo_log import log

from vmetal_ironic.conf import CONF
from vmetal_ironic.dhcp import switch as dhcp_switch
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import node as node_mod
from vmetal_ironic.ipam.scope import Scope
from vmetal_ironic.network import errors
from vmetal_ironic.network import facts as facts_mod
from vmetal_ironic.network import netdata_state
from vmetal_ironic.network import network_data
from vmetal_ironic.network import validation
from vmetal_ironic.network import vifs

LOG = log.getLogger(__name__)

PROPERTIES = {
    node_mod.POOL_KEY: _(
        'Name of the vmetal address pool of the node. '
        'instance_info["vmetal_pool"] wins over it; without either the '
        'pool listing the node\'s resource class, then '
        '[vmetal_ipam]default_pool is used. Optional.'),
    node_mod.SCOPE_KEY: _(
        '"deployment" (address released at tear down) or "node" (kept '
        'until the node is deleted). Default: '
        '[vmetal_ipam]allocation_scope. Optional.'),
    dhcp_switch.DHCP_KEY: _(
        'Whether the vmetal DHCP agent answers the node\'s DHCP (a '
        'boolean). Default: false with a virtual-media boot interface '
        '(the boot ISO carries the node\'s network_data), true otherwise. '
        'Optional.'),
}


def ipam():
    """The process-wide IPAM manager (imported late: __init__ never fails)."""
    from vmetal_ironic.ipam import manager
    return manager.get_manager()


class VmetalNetwork(vifs.VIFBookkeepingMixin, base.NetworkInterface):
    """Network interface that allocates addresses from vmetal pools."""

    def get_properties(self):
        """Node properties (driver_info keys) this interface reads."""
        return PROPERTIES

    # Validation -----------------------------------------------------------

    def validate(self, task):
        """Check that the node can get an address and boot on PXE.

        See :func:`vmetal_ironic.network.validation.validate`, and that
        ``driver_info['vmetal_dhcp']``, if set, is a boolean; never
        writes the node (it may hold a shared lock).

        :raises: InvalidParameterValue, MissingParameterValue
        """
        validation.validate(task, ipam())
        facts_mod.answers_dhcp(task)        # a vmetal_dhcp that parses

    def validate_rescue(self, task):
        """Rescue needs what validate() checks."""

    def validate_inspection(self, task):
        """Managed inspection is supported (the node gets an address)."""

    # Helpers ------------------------------------------------------------

    def _ensure(self, task, scope, action):
        with errors.translated(task.node.uuid, action):
            network = ipam().ensure_network(facts_mod.facts_of(task), scope)
        self._switch_dhcp(task, network)
        return network

    def _switch_dhcp(self, task, network):
        """Keep the profile's ``dhcp`` field to the node's switch.

        A virtual-media node gets no DHCP (:mod:`vmetal_ironic.dhcp.
        switch`); its boot interface never calls the DHCP provider, so
        the switch is written here, where its reservations are made. One
        write only when it changes.
        """
        node = task.node
        answers = facts_mod.answers_dhcp(task)
        current = (network.reservations[0].boot_profile
                   if network.reservations else None)
        if current is None and answers:
            return
        wanted = dhcp_switch.with_switch(current, answers)
        if wanted == current:
            return
        with errors.translated(node.uuid, 'switch its DHCP %s'
                               % ('on' if answers else 'off'), errors.DHCP):
            ipam().set_boot_profile(node.uuid, wanted or None)
        LOG.info('Node %(node)s: the agent %(does)s answer its DHCP '
                 '(boot interface %(boot)s)',
                 {'node': node.uuid, 'does': 'does' if answers else
                  'does not', 'boot': node.boot_interface})

    def _release(self, task, scope, when=None):
        node = task.node
        with errors.translated(node.uuid, 'release the %s address' % scope):
            released = ipam().release(node.uuid, scope)
        if released:
            LOG.info('Node %(node)s: released %(addrs)s %(when)s',
                     {'node': node.uuid,
                      'when': when or 'at the end of %s' % scope,
                      'addrs': [a.address for a in released]})

    def _deploy_network(self, task, action):
        """Deployment allocation, reservations, network_data, config drive."""
        node = task.node
        allocations = self._ensure(task, Scope.DEPLOYMENT, action).allocations
        with errors.translated(node.uuid, 'write the network_data'):
            links = [(p.uuid, p.address)
                     for p in facts_mod.pxe_ports(task)]
            changed = netdata_state.apply(node, allocations, links)
            if node.provision_state == states.DEPLOYING:
                ntp = tuple(dict.fromkeys(
                    n for a in allocations for n in a.pool.ntp_servers))
                changed = netdata_state.inject_configdrive(
                    node, ntp) or changed
            if changed:
                node.save()

    def _tear_down(self, task):
        """Release the deployment at tear down (state ``deleting``)."""
        node = task.node
        if node.provision_state != states.DELETING:
            return
        with errors.translated(node.uuid, 'release the deployment address'):
            if netdata_state.restore(node):
                node.save()
        self._release(task, Scope.DEPLOYMENT, 'at tear down')

    # Network hooks ------------------------------------------------------

    def add_provisioning_network(self, task):
        """Allocate the deployment address and reserve it for PXE."""
        self._deploy_network(task, 'allocate the deployment address')

    def remove_provisioning_network(self, task):
        """During a deploy: nothing. At tear down: release."""
        self._tear_down(task)

    def configure_tenant_networks(self, task):
        """Write node.network_data (and the config drive) for the address."""
        self._deploy_network(task, 'configure the tenant network')

    def unconfigure_tenant_networks(self, task):
        """At tear down: restore network_data and release the address."""
        self._tear_down(task)

    def add_cleaning_network(self, task):
        """An address (the node's or a cleaning one) reserved for PXE."""
        self._ensure(task, Scope.CLEANING, 'reserve an address for cleaning')
        return {}

    def remove_cleaning_network(self, task):
        """Release the cleaning-scoped address, if any."""
        self._release(task, Scope.CLEANING)

    def add_rescuing_network(self, task):
        """An address reserved for the rescue ramdisk."""
        self._ensure(task, Scope.RESCUE, 'reserve an address for rescue')
        return {}

    def remove_rescuing_network(self, task):
        """Release the rescue-scoped address, if any."""
        self._release(task, Scope.RESCUE)

    def add_inspection_network(self, task):
        """An address reserved for the inspection ramdisk."""
        self._ensure(task, Scope.INSPECTION,
                     'reserve an address for inspection')
        return {}

    def remove_inspection_network(self, task):
        """Release the inspection-scoped address, if any."""
        self._release(task, Scope.INSPECTION)

    def add_servicing_network(self, task):
        """An address reserved for the servicing ramdisk."""
        self._ensure(task, Scope.SERVICING,
                     'reserve an address for servicing')
        return {}

    def remove_servicing_network(self, task):
        """Release the servicing-scoped address, if any."""
        self._release(task, Scope.SERVICING)

    def need_power_on(self, task):
        """No switch or smart NIC to program: never."""
        return False

    def get_current_vif(self, task, p_obj):
        """The tenant VIF recorded on the port, if any."""
        return self._get_vif_id_by_port_like_obj(p_obj)

    def get_node_network_data(self, task):
        """node.network_data, or the document of the node's allocation."""
        node = task.node
        if node.network_data:
            return node.network_data
        with errors.translated(node.uuid, 'render the network_data'):
            allocations = ipam().get_allocations(node.uuid)
            links = [(p.uuid, p.address)
                     for p in facts_mod.pxe_ports(task)]
            if not allocations or not links:
                return {}
            return network_data.render(
                node_mod.first_per_version(allocations), links)

    def port_changed(self, task, port_obj):
        """Keep the reservations in step with a port's MAC / PXE flag.

        :raises: FailedToUpdateDHCPOptOnPort
        """
        if not port_obj.obj_what_changed() & {'address', 'pxe_enabled',
                                              'extra'}:
            return
        node = task.node
        old = [p.address for p in task.ports if p.id == port_obj.id]
        with errors.translated(node.uuid, 'update the reservation of port '
                               '%s' % port_obj.uuid, errors.DHCP):
            ipam().port_changed(
                facts_mod.facts_of(task), port_obj.address.lower(),
                bool(port_obj.pxe_enabled),
                client_id=(port_obj.extra or {}).get('client-id'),
                old_mac=old[0].lower() if old else None)

    def portgroup_changed(self, task, portgroup_obj):
        """Port groups carry no reservation: nothing to do."""

    # Safety net -----------------------------------------------------------

    @periodics.periodic(
        spacing=lambda: CONF.vmetal.reconcile_interval,
        enabled=lambda: CONF.vmetal.reconcile_interval > 0)
    def reconcile_deleted_nodes(self, manager, context):
        """Release allocations and reservations of nodes deleted in Ironic.

        Node deletion runs no driver code; the notification driver catches
        most deletions, this catches the rest.
        """
        from vmetal_ironic.network import reconcile
        reconcile.run(context)
