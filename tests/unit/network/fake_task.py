"""A TaskManager stand-in with real Ironic Node/Port objects, no DB."""

from unittest import mock

from ironic.common import states
from ironic import objects

from vmetal_ironic.ipam import manager
from vmetal_ironic.ipam import records

from tests.unit.network import fixtures

objects.register_all()


def port(mac, pxe=True, port_id=1, uuid=None):
    uuid = uuid or '00000000-0000-4000-8000-%012d' % port_id
    return objects.Port(id=port_id, uuid=uuid,
                        address=mac, pxe_enabled=pxe, extra={},
                        internal_info={}, portgroup_id=None)


def task(state=states.DEPLOYING, ports=None, **node_fields):
    fields = dict(uuid=fixtures.NODE, name='node-1', provision_state=state,
                  network_data={}, driver_internal_info={},
                  instance_info={}, properties={}, driver_info={},
                  resource_class='baremetal-compute', maintenance=False)
    fields.update(node_fields)
    node = objects.Node(**fields)
    node.save = mock.Mock(autospec=True)
    if ports is None:
        ports = [port('52:54:00:AA:00:01'),
                 port('52:54:00:aa:00:02', pxe=False, port_id=2)]
    return mock.Mock(node=node, ports=ports, portgroups=[])


def ipam():
    """An autospec'd IPAMManager with a few sensible answers."""
    mgr = mock.create_autospec(manager.IPAMManager, instance=True)
    mgr.select_pool.return_value = 'compute'
    mgr.get_pools.return_value = [fixtures.POOL4]
    mgr.pool_config = mock.Mock()
    mgr.pool_config.get.return_value = mock.Mock(
        version=fixtures.POOL4.version)
    mgr.allocate.return_value = fixtures.allocation()
    mgr.get_allocations.return_value = []
    mgr.list_reservations.return_value = []
    mgr.node_state.return_value = ([], [])
    mgr.allocate_and_reserve.side_effect = (
        lambda *a, **kw: (fixtures.allocation(), []))
    mgr.set_boot_profile.return_value = []
    return mgr


def reservation(mac='52:54:00:aa:00:01', profile=None):
    return records.Reservation(mac=mac, node_uuid=fixtures.NODE,
                               pool='compute', address='192.168.100.10',
                               boot_profile=profile or {})
