"""What the vmetal network interface checks before a node may boot."""

from ironic.common import exception as ironic_exc
from ironic.common import states

from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import node as node_mod
from vmetal_ironic.ipam.scope import DEPLOYMENT_SCOPES
from vmetal_ironic.network import errors
from vmetal_ironic.network import facts as facts_mod
from vmetal_ironic.network import netdata_state
from vmetal_ironic.network import network_data

# States in which a node is being set up (ports added, inspected): there
# validate() checks only what is already decided, so that adding the first
# PXE port is possible.
_SETUP_STATES = frozenset([states.ENROLL, states.MANAGEABLE,
                           states.INSPECTING, states.INSPECTWAIT,
                           states.VERIFYING])


def validate(task, mgr):
    """Check that the node can get an address and boot on PXE.

    A pool must be selectable, the node needs a PXE-enabled port and
    its network_data (if any) must match Ironic's schema and, when it is
    a template, have a network the pool can fill. In set-up states
    (enroll, manageable, inspecting) and in maintenance, where Ironic
    lets ports change, a missing pool or PXE port is not an error yet.
    Never writes the node (it may hold a shared lock).

    :param mgr: the IPAM manager.
    :raises: InvalidParameterValue, MissingParameterValue
    """
    node = task.node
    facts = facts_mod.facts_of(task)
    scope = (node.driver_info or {}).get(node_mod.SCOPE_KEY)
    if scope is not None and scope not in [s.value for s in
                                           DEPLOYMENT_SCOPES]:
        raise ironic_exc.InvalidParameterValue(
            _('Node %(node)s: driver_info %(key)s must be "deployment" '
              'or "node", not %(val)r') % {'node': node.uuid,
                                           'key': node_mod.SCOPE_KEY,
                                           'val': scope})
    # Ironic lets ports change only in these states or in maintenance.
    setting_up = (node.provision_state in _SETUP_STATES
                  or bool(node.maintenance))
    pool = None
    try:
        pool = mgr.select_pool(
            node.uuid, instance_info=facts.instance_info,
            properties=facts.properties, driver_info=facts.driver_info,
            resource_class=facts.resource_class)
    except exception.NoPoolForNode as e:
        # While a node is set up a missing pool is not an error yet;
        # a pool named explicitly but unknown always is.
        if facts.explicit_pool() or not setting_up:
            raise errors.convert(e, node.uuid, 'select an address pool',
                                 errors.VALIDATE)
    except exception.VmetalError as e:
        raise errors.convert(e, node.uuid, 'select an address pool',
                             errors.VALIDATE)
    if not setting_up and not facts.ports:
        raise ironic_exc.MissingParameterValue(
            _('Node %s has no PXE-enabled port: the vmetal network '
              'interface reserves addresses for PXE-enabled ports '
              'only.') % node.uuid)
    _network_data(task, mgr, pool)


def _network_data(task, mgr, pool_name):
    node = task.node
    if netdata_state.is_ours(node):
        return
    try:
        doc, source = netdata_state.operator_document(node)
        if not doc:
            return
        if source is None:
            network_data.validate(doc, netdata_state.schema_path())
        else:
            # A converted template's networks get their address (and so
            # their type and network_id) at deploy time; the schema is
            # checked on the rest now and on the whole document then.
            network_data.validate(network_data.without_templates(doc),
                                  netdata_state.schema_path())
    except exception.InvalidInput as e:
        raise ironic_exc.InvalidParameterValue(
            _('Node %(node)s: %(err)s') % {'node': node.uuid, 'err': e})
    if pool_name and network_data.needs_merge(doc):
        with errors.translated(node.uuid, 'check the network_data '
                               'template', errors.VALIDATE):
            version = mgr.pools.get(pool_name).version
            if not network_data.can_take(doc, version):
                raise ironic_exc.InvalidParameterValue(
                    _('Node %(node)s: network_data has no IPv%(ver)d '
                      'network without ip_address for pool %(pool)s') %
                    {'node': node.uuid, 'ver': version,
                     'pool': pool_name})
