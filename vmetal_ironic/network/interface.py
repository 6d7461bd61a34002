"""The ``vmetal`` Ironic network interface: IPAM without Neutron.

Each phase that boots the node on the provisioning network (deploy,
cleaning, rescue, inspection, servicing) makes sure the node has an address
allocation and a DHCP reservation for each PXE-enabled port; the tenant
network step writes the node's ``network_data`` (and the config drive);
tear down and the end of each phase release what belongs to them.

Scopes: the deployment's allocation has the scope ``[vmetal_ipam]
allocation_scope`` (``deployment``: released at tear down; ``node``: kept
until the node is deleted), overridable per node with
``driver_info['vmetal_allocation_scope']``. A node that has no allocation
when cleaning, rescue, inspection or servicing starts gets one scoped to
that phase and released when it ends.
"""

from ironic.common import exception as ironic_exc
from ironic.common import states
from ironic.conductor import periodics
from ironic.drivers import base
from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.conf import vmetal as vmetal_conf
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.network import errors
from vmetal_ironic.network import netdata_state
from vmetal_ironic.network import network_data
from vmetal_ironic.network import vifs

LOG = log.getLogger(__name__)
CONF = cfg.CONF
vmetal_conf.register_opts(CONF)

SCOPE_DEPLOYMENT = 'deployment'
SCOPE_NODE = 'node'
SCOPE_KEY = 'vmetal_allocation_scope'

# States in which a node is being set up (ports added, inspected): there
# validate() checks only what is already decided, so that adding the first
# PXE port is possible.
_SETUP_STATES = frozenset([states.ENROLL, states.MANAGEABLE,
                           states.INSPECTING, states.INSPECTWAIT,
                           states.VERIFYING])

PROPERTIES = {
    'vmetal_pool': _('Name of the vmetal address pool of the node. '
                     'instance_info["vmetal_pool"] wins over it; without '
                     'either the pool listing the node\'s resource class, '
                     'then [vmetal_ipam]default_pool is used. Optional.'),
    SCOPE_KEY: _('"deployment" (address released at tear down) or "node" '
                 '(kept until the node is deleted). Default: '
                 '[vmetal_ipam]allocation_scope. Optional.'),
}


def ipam():
    """The process-wide IPAM manager (imported late: __init__ never fails)."""
    from vmetal_ironic.ipam import manager
    return manager.get_manager()


def pxe_ports(task):
    """The node's PXE-enabled ports, in a stable order."""
    return sorted((p for p in task.ports if p.pxe_enabled),
                  key=lambda p: p.id or 0)


def pxe_port_map(task):
    """MAC -> client id (or None) of the node's PXE-enabled ports."""
    return {p.address.lower(): (p.extra or {}).get('client-id')
            for p in pxe_ports(task)}


def reservations_in_place(node, ports, allocation, reservations):
    """True when ``reservations`` are exactly what ``ports`` need."""
    have = {r.mac: r for r in reservations}
    if set(have) != set(ports):
        return False
    for mac, client_id in ports.items():
        res = have[mac]
        if (res.address != allocation.address
                or res.pool != allocation.pool_name
                or (node.name and res.hostname != node.name)
                or (client_id and res.client_id != client_id)):
            return False
    return True


def _select_kwargs(node):
    return {'instance_info': node.instance_info,
            'properties': node.properties,
            'driver_info': node.driver_info,
            'resource_class': node.resource_class}


def deployment_scope(node):
    """The scope of the node's deployment allocation."""
    scope = (node.driver_info or {}).get(SCOPE_KEY)
    return scope or CONF.vmetal_ipam.allocation_scope


class VmetalNetwork(vifs.VIFBookkeepingMixin, base.NetworkInterface):
    """Network interface that allocates addresses from vmetal pools."""

    def get_properties(self):
        """Node properties (driver_info keys) this interface reads."""
        return PROPERTIES

    # Validation -----------------------------------------------------------

    def validate(self, task):
        """Check that the node can get an address and boot on PXE.

        A pool must be selectable, the node needs a PXE-enabled port and
        its network_data (if any) must match Ironic's schema and, when it is
        a template, have a network the pool can fill. In set-up states
        (enroll, manageable, inspecting) and in maintenance, where Ironic
        lets ports change, a missing pool or PXE port is not an error yet.
        Never writes the node (it may hold a shared lock).

        :raises: InvalidParameterValue, MissingParameterValue
        """
        node = task.node
        scope = (node.driver_info or {}).get(SCOPE_KEY)
        if scope not in (None, SCOPE_DEPLOYMENT, SCOPE_NODE):
            raise ironic_exc.InvalidParameterValue(
                _('Node %(node)s: driver_info %(key)s must be "deployment" '
                  'or "node", not %(val)r') % {'node': node.uuid,
                                               'key': SCOPE_KEY,
                                               'val': scope})
        # Ironic lets ports change only in these states or in maintenance.
        setting_up = (node.provision_state in _SETUP_STATES
                      or bool(node.maintenance))
        pool = None
        try:
            pool = ipam().select_pool(node.uuid, **_select_kwargs(node))
        except exception.NoPoolForNode as e:
            # While a node is set up a missing pool is not an error yet;
            # a pool named explicitly but unknown always is.
            explicit = any((src or {}).get('vmetal_pool') for src in (
                node.instance_info, node.properties, node.driver_info))
            if explicit or not setting_up:
                raise errors.convert(e, node.uuid, 'select an address pool',
                                     errors.VALIDATE)
        except exception.VmetalError as e:
            raise errors.convert(e, node.uuid, 'select an address pool',
                                 errors.VALIDATE)
        if not setting_up and not pxe_ports(task):
            raise ironic_exc.MissingParameterValue(
                _('Node %s has no PXE-enabled port: the vmetal network '
                  'interface reserves addresses for PXE-enabled ports '
                  'only.') % node.uuid)
        self._validate_network_data(task, pool)

    def _validate_network_data(self, task, pool_name):
        node = task.node
        doc = node.network_data
        if not doc or netdata_state.is_ours(node):
            return
        try:
            network_data.validate(doc, netdata_state.schema_path())
        except exception.InvalidInput as e:
            raise ironic_exc.InvalidParameterValue(
                _('Node %(node)s: %(err)s') % {'node': node.uuid, 'err': e})
        if pool_name and network_data.needs_merge(doc):
            with errors.translated(node.uuid, 'check the network_data '
                                   'template', errors.VALIDATE):
                # From the configuration: validate must not touch the store.
                version = ipam().pool_config.get(pool_name).version
                if not network_data.can_take(doc, version):
                    raise ironic_exc.InvalidParameterValue(
                        _('Node %(node)s: network_data has no IPv%(ver)d '
                          'network without ip_address for pool %(pool)s') %
                        {'node': node.uuid, 'ver': version,
                         'pool': pool_name})

    def validate_rescue(self, task):
        """Rescue needs what validate() checks."""

    def validate_inspection(self, task):
        """Managed inspection is supported (the node gets an address)."""

    # Helpers ------------------------------------------------------------

    def _reserve(self, task, allocation, reservations):
        """Reserve ``allocation`` for every PXE port MAC, stale ones deleted.

        Compares with ``reservations`` (read by the caller) and writes, in
        one transaction, only when something differs: hooks run many times.
        """
        node = task.node
        ports = pxe_port_map(task)
        if reservations_in_place(node, ports, allocation, reservations):
            return allocation
        allocation, _ = ipam().allocate_and_reserve(
            node.uuid, ports, hostname=node.name, pool=allocation.pool_name,
            scope=allocation.scope)
        return allocation

    def _allocate(self, task, scope, action, reuse=True):
        """The node's allocation of ``scope`` (+ reservations).

        :param reuse: read first (one read) and write only if the
            allocation or a reservation is missing or stale; False goes
            straight to the (idempotent) write. Either way at most one
            write transaction.
        """
        node = task.node
        with errors.translated(node.uuid, action):
            mgr = ipam()
            allocation = None
            if reuse:
                current, reservations = mgr.node_state(node.uuid)
                pool = mgr.select_pool(node.uuid, **_select_kwargs(node))
                allocation = next((a for a in current if a.scope == scope
                                   and a.pool_name == pool), None)
                if allocation is not None:
                    allocation = self._reserve(task, allocation,
                                               reservations)
            if allocation is None:
                allocation, _ = mgr.allocate_and_reserve(
                    node.uuid, pxe_port_map(task), hostname=node.name,
                    scope=scope, **_select_kwargs(node))
        LOG.debug('Node %(node)s has address %(addr)s of pool %(pool)s '
                  '(scope %(scope)s)', {'node': node.uuid,
                                        'addr': allocation.address,
                                        'pool': allocation.pool_name,
                                        'scope': allocation.scope})
        return allocation

    def _add_phase_network(self, task, phase):
        """Allocation + reservations for a phase (cleaning, rescue...)."""
        node = task.node
        with errors.translated(node.uuid, 'look up the allocation'):
            current, reservations = ipam().node_state(node.uuid)
        if current:
            with errors.translated(node.uuid, 'reserve the address'):
                self._reserve(task, current[0], reservations)
            return {}
        self._allocate(task, phase, 'allocate an address for %s' % phase,
                       reuse=False)
        return {}

    def _remove_phase_network(self, task, phase, when=None):
        """Release the node's allocation of scope ``phase``, if it has one.

        Reads first: the hooks run in every flow, most have nothing to do.
        """
        node = task.node
        with errors.translated(node.uuid, 'release the %s address' % phase):
            mgr = ipam()
            if any(a.scope == phase for a in mgr.get_allocations(node.uuid)):
                released = mgr.release(node.uuid, scope=phase)
                LOG.info('Node %(node)s: released %(addrs)s %(when)s',
                         {'node': node.uuid,
                          'when': when or 'at the end of %s' % phase,
                          'addrs': [a.address for a in released]})

    def _deploy_network(self, task, action, reuse=True):
        """Deployment allocation, reservations, network_data, config drive."""
        node = task.node
        allocation = self._allocate(task, deployment_scope(node), action,
                                    reuse=reuse)
        with errors.translated(node.uuid, 'write the network_data'):
            links = [(p.uuid, p.address) for p in pxe_ports(task)]
            changed = netdata_state.apply(node, allocation, links)
            if node.provision_state == states.DEPLOYING:
                changed = netdata_state.inject_configdrive(node) or changed
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
        self._remove_phase_network(task, SCOPE_DEPLOYMENT, 'at tear down')

    # Network hooks ------------------------------------------------------

    def add_provisioning_network(self, task):
        """Allocate the deployment address and reserve it for PXE."""
        self._deploy_network(task, 'allocate the deployment address',
                             reuse=False)

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
        return self._add_phase_network(task, 'cleaning')

    def remove_cleaning_network(self, task):
        """Release the cleaning-scoped address, if any."""
        self._remove_phase_network(task, 'cleaning')

    def add_rescuing_network(self, task):
        """An address reserved for the rescue ramdisk."""
        return self._add_phase_network(task, 'rescue')

    def remove_rescuing_network(self, task):
        """Release the rescue-scoped address, if any."""
        self._remove_phase_network(task, 'rescue')

    def add_inspection_network(self, task):
        """An address reserved for the inspection ramdisk."""
        return self._add_phase_network(task, 'inspection')

    def remove_inspection_network(self, task):
        """Release the inspection-scoped address, if any."""
        self._remove_phase_network(task, 'inspection')

    def add_servicing_network(self, task):
        """An address reserved for the servicing ramdisk."""
        return self._add_phase_network(task, 'servicing')

    def remove_servicing_network(self, task):
        """Release the servicing-scoped address, if any."""
        self._remove_phase_network(task, 'servicing')

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
            links = [(p.uuid, p.address) for p in pxe_ports(task)]
            if not allocations or not links:
                return {}
            return network_data.render(allocations[0], links)

    def port_changed(self, task, port_obj):
        """Keep the reservations in step with a port's MAC / PXE flag.

        :raises: FailedToUpdateDHCPOptOnPort
        """
        changed = port_obj.obj_what_changed()
        if not changed & {'address', 'pxe_enabled', 'extra'}:
            return
        node = task.node
        with errors.translated(node.uuid, 'update the reservation of port '
                               '%s' % port_obj.uuid, errors.DHCP):
            mgr = ipam()
            allocations = mgr.get_allocations(node.uuid)
            if not allocations:
                return
            old = [p for p in task.ports if p.id == port_obj.id]
            if old and old[0].address.lower() != port_obj.address.lower():
                mgr.delete_reservations(mac=old[0].address.lower())
            mac = port_obj.address.lower()
            if port_obj.pxe_enabled:
                mgr.upsert_reservation(
                    mac, node.uuid, address=allocations[0].address,
                    pool=allocations[0].pool_name, hostname=node.name,
                    client_id=(port_obj.extra or {}).get('client-id'))
            else:
                mgr.delete_reservations(mac=mac)

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
