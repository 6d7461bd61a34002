"""VIF bookkeeping without Neutron.

Ironic's ``VIFPortIDMixin`` lists and finds VIFs recorded in a port's (or
port group's) ``internal_info['tenant_vif_port_id']`` but leaves attach and
detach to Neutron-backed subclasses. :class:`VIFBookkeepingMixin` adds them
as plain bookkeeping: a VIF is a name attached to a free port-like object;
nothing outside Ironic's database changes.
"""

from ironic.common import exception as ironic_exc
from ironic.drivers.modules.network import common
from oslo_log import log

from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)


class VIFBookkeepingMixin(common.VIFPortIDMixin):
    """vif_attach/vif_detach that only record the VIF in Ironic's DB."""

    @staticmethod
    def _candidates(task, vif_info):
        """Port-like objects the VIF may go to, best first."""
        port_uuid = vif_info.get('port_uuid')
        portgroup_uuid = vif_info.get('portgroup_uuid')
        if port_uuid or portgroup_uuid:
            wanted = [p for p in task.ports + task.portgroups
                      if p.uuid in (port_uuid, portgroup_uuid)]
            if not wanted:
                raise ironic_exc.InvalidParameterValue(
                    _('Node %(node)s has no port or port group %(uuid)s to '
                      'attach VIF %(vif)s to.') % {
                        'node': task.node.uuid, 'vif': vif_info['id'],
                        'uuid': port_uuid or portgroup_uuid})
            return wanted
        # Port groups first (a bond carries the VIF), then PXE ports, then
        # the other ports; ports inside a port group are not free.
        ports = [p for p in task.ports if not p.portgroup_id]
        return (list(task.portgroups)
                + [p for p in ports if p.pxe_enabled]
                + [p for p in ports if not p.pxe_enabled])

    def vif_attach(self, task, vif_info):
        """Attach a VIF to a free port or port group of the node.

        :param task: A TaskManager instance.
        :param vif_info: dict with an ``id`` and optionally ``port_uuid`` or
            ``portgroup_uuid`` naming where it goes.
        :raises: VifAlreadyAttached, NoFreePhysicalPorts,
            InvalidParameterValue
        """
        vif_id = vif_info['id']
        for obj in task.portgroups + task.ports:
            if self._get_vif_id_by_port_like_obj(obj) == vif_id:
                raise ironic_exc.VifAlreadyAttached(
                    vif=vif_id, object_uuid=obj.uuid,
                    object_type=type(obj).__name__.lower())
        for obj in self._candidates(task, vif_info):
            if not self._get_vif_id_by_port_like_obj(obj):
                self._save_vif_to_port_like_obj(obj, vif_id)
                LOG.info('VIF %(vif)s attached to %(obj)s of node %(node)s',
                         {'vif': vif_id, 'obj': obj.uuid,
                          'node': task.node.uuid})
                return
        raise ironic_exc.NoFreePhysicalPorts(vif=vif_id)

    def vif_detach(self, task, vif_id):
        """Detach a VIF from the node.

        :raises: VifNotAttached if it is not attached to the node.
        """
        obj = self._get_port_like_obj_by_vif_id(task, vif_id)
        self._clear_vif_from_port_like_obj(obj)
        LOG.info('VIF %(vif)s detached from %(obj)s of node %(node)s',
                 {'vif': vif_id, 'obj': obj.uuid, 'node': task.node.uuid})
