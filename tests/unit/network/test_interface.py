"""The vmetal network interface, with a mocked IPAM manager."""

import copy
from unittest import mock

from ironic.common import exception as ironic_exc
from ironic.common import states
import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import records
from vmetal_ironic.network import interface

from tests.fixtures import fake_task
from tests.fixtures import network as fixtures


@pytest.fixture
def mgr():
    m = fake_task.ipam()
    with mock.patch.object(interface, 'ipam', autospec=True,
                           return_value=m):
        yield m


@pytest.fixture
def iface():
    return interface.VmetalNetwork()


class TestValidate:

    def test_ok(self, mgr, iface):
        iface.validate(fake_task.task(states.AVAILABLE))
        mgr.select_pool.assert_called_once_with(
            fixtures.NODE, instance_info={}, properties={}, driver_info={},
            resource_class='baremetal-compute')

    def test_no_pxe_port(self, mgr, iface):
        task = fake_task.task(states.AVAILABLE, ports=[
            fake_task.port('52:54:00:aa:00:01', pxe=False)])
        with pytest.raises(ironic_exc.MissingParameterValue,
                           match='PXE-enabled'):
            iface.validate(task)
        # While the node is being set up, it is not an error yet.
        task.node.maintenance = True
        iface.validate(task)
        task.node.maintenance = False
        task.node.provision_state = states.ENROLL
        iface.validate(task)

    def test_no_pool(self, mgr, iface):
        mgr.select_pool.side_effect = exception.NoPoolForNode(
            node=fixtures.NODE, reason='nothing matches')
        with pytest.raises(ironic_exc.MissingParameterValue,
                           match=fixtures.NODE):
            iface.validate(fake_task.task(states.AVAILABLE))
        iface.validate(fake_task.task(states.MANAGEABLE))
        with pytest.raises(ironic_exc.MissingParameterValue):
            iface.validate(fake_task.task(
                states.MANAGEABLE, instance_info={'vmetal_pool': 'nope'}))

    def test_bad_scope(self, mgr, iface):
        with pytest.raises(ironic_exc.InvalidParameterValue,
                           match='vmetal_allocation_scope'):
            iface.validate(fake_task.task(
                driver_info={'vmetal_allocation_scope': 'forever'}))

    def test_bad_network_data(self, mgr, iface):
        with pytest.raises(ironic_exc.InvalidParameterValue,
                           match='network_data'):
            iface.validate(fake_task.task(
                network_data={'links': 'x', 'networks': [],
                              'services': []}))

    def test_template_for_other_ip_version(self, mgr, iface):
        template = copy.deepcopy(fixtures.BOND_VLAN)
        template['networks'][0]['type'] = 'ipv6'
        with pytest.raises(ironic_exc.InvalidParameterValue,
                           match='IPv4'):
            iface.validate(fake_task.task(network_data=template))


class TestDeploy:

    def test_add_provisioning_network(self, mgr, iface):
        task = fake_task.task()
        iface.add_provisioning_network(task)
        # One write: the allocation and exactly the PXE port's MAC,
        # lower-cased (the store deletes the node's other reservations).
        mgr.allocate_and_reserve.assert_called_once_with(
            fixtures.NODE, {'52:54:00:aa:00:01': None}, hostname='node-1',
            scope='deployment', instance_info=mock.ANY, properties={},
            driver_info={}, resource_class='baremetal-compute')
        mgr.node_state.assert_not_called()
        node = task.node
        assert node.network_data['networks'][0]['ip_address'] == \
            '192.168.100.10'
        assert node.instance_info['configdrive']['network_data'] == \
            node.network_data
        node.save.assert_called_once_with()

    def test_node_scope_from_driver_info(self, mgr, iface):
        iface.configure_tenant_networks(fake_task.task(
            states.ACTIVE, driver_info={'vmetal_allocation_scope': 'node'}))
        assert mgr.allocate_and_reserve.call_args.kwargs['scope'] == 'node'

    def test_nothing_written_when_in_place(self, mgr, iface):
        mgr.node_state.return_value = ([fixtures.allocation()], [
            records.Reservation(mac='52:54:00:aa:00:01',
                                node_uuid=fixtures.NODE, pool='compute',
                                address='192.168.100.10',
                                hostname='node-1')])
        iface.configure_tenant_networks(fake_task.task(states.ACTIVE))
        mgr.allocate_and_reserve.assert_not_called()
        mgr.allocate.assert_not_called()

    def test_no_configdrive_outside_deploy(self, mgr, iface):
        task = fake_task.task(states.ACTIVE)
        iface.configure_tenant_networks(task)
        assert 'configdrive' not in task.node.instance_info
        assert task.node.network_data

    def test_exhausted(self, mgr, iface):
        mgr.allocate_and_reserve.side_effect = exception.PoolExhausted(
            pool='tiny', size=1)
        task = fake_task.task()
        with pytest.raises(ironic_exc.NetworkError) as e:
            iface.add_provisioning_network(task)
        assert 'tiny' in str(e.value) and fixtures.NODE in str(e.value)
        task.node.save.assert_not_called()

    def test_unexpected_error_is_network_error(self, mgr, iface):
        mgr.allocate_and_reserve.side_effect = RuntimeError('boom')
        with pytest.raises(ironic_exc.NetworkError, match='boom'):
            iface.add_provisioning_network(fake_task.task())

    def test_tear_down(self, mgr, iface):
        task = fake_task.task()
        iface.add_provisioning_network(task)
        task.node.provision_state = states.DELETING
        mgr.get_allocations.return_value = [fixtures.allocation()]
        iface.unconfigure_tenant_networks(task)
        mgr.release.assert_called_once_with(fixtures.NODE,
                                            scope='deployment')
        assert task.node.network_data == {}

    def test_no_release_while_deploying(self, mgr, iface):
        task = fake_task.task()
        iface.unconfigure_tenant_networks(task)
        iface.remove_provisioning_network(task)
        mgr.release.assert_not_called()

    def test_node_scope_kept_at_tear_down(self, mgr, iface):
        mgr.get_allocations.return_value = [
            records.Allocation(pool=fixtures.POOL4, node_uuid=fixtures.NODE,
                               address='192.168.100.10', scope='node')]
        iface.remove_provisioning_network(fake_task.task(states.DELETING))
        mgr.release.assert_not_called()


class TestPhases:

    def test_cleaning_gets_own_allocation(self, mgr, iface):
        assert iface.add_cleaning_network(fake_task.task(
            states.CLEANING)) == {}
        mgr.allocate_and_reserve.assert_called_once()
        assert mgr.allocate_and_reserve.call_args.kwargs['scope'] == \
            'cleaning'
        mgr.get_allocations.return_value = [records.Allocation(
            pool=fixtures.POOL4, node_uuid=fixtures.NODE,
            address='192.168.100.10', scope='cleaning')]
        iface.remove_cleaning_network(fake_task.task(states.CLEANING))
        mgr.release.assert_called_once_with(fixtures.NODE, scope='cleaning')

    @pytest.mark.parametrize('add, phase', [
        ('add_rescuing_network', 'rescue'),
        ('add_inspection_network', 'inspection'),
        ('add_servicing_network', 'servicing')])
    def test_existing_allocation_reused(self, mgr, iface, add, phase):
        allocation = fixtures.allocation()
        mgr.node_state.return_value = ([allocation], [])
        mgr.get_allocations.return_value = [allocation]
        getattr(iface, add)(fake_task.task(states.ACTIVE))
        mgr.allocate.assert_not_called()
        # the existing allocation, its pool and scope; only the MACs added
        mgr.allocate_and_reserve.assert_called_once()
        kwargs = mgr.allocate_and_reserve.call_args.kwargs
        assert (kwargs['pool'], kwargs['scope']) == (allocation.pool_name,
                                                     allocation.scope)
        getattr(iface, add.replace('add_', 'remove_'))(
            fake_task.task(states.ACTIVE))
        mgr.release.assert_not_called()     # not the phase's allocation

    def test_inspection_supported(self, mgr, iface):
        iface.validate_inspection(fake_task.task(states.MANAGEABLE))


class TestPortsAndData:

    def test_port_mac_changed(self, mgr, iface):
        mgr.get_allocations.return_value = [fixtures.allocation()]
        task = fake_task.task(states.MANAGEABLE)
        changed = fake_task.port('52:54:00:aa:00:01')
        changed.obj_reset_changes()
        changed.address = '52:54:00:aa:00:77'
        iface.port_changed(task, changed)
        mgr.delete_reservations.assert_called_once_with(
            mac='52:54:00:aa:00:01')
        assert mgr.upsert_reservation.call_args.args[0] == \
            '52:54:00:aa:00:77'

    def test_port_changed_without_allocation(self, mgr, iface):
        changed = fake_task.port('52:54:00:aa:00:01')
        changed.obj_reset_changes()
        changed.pxe_enabled = False
        iface.port_changed(fake_task.task(states.MANAGEABLE), changed)
        mgr.delete_reservations.assert_not_called()

    def test_get_node_network_data(self, mgr, iface):
        assert iface.get_node_network_data(fake_task.task()) == {}
        mgr.get_allocations.return_value = [fixtures.allocation()]
        doc = iface.get_node_network_data(fake_task.task())
        assert doc['networks'][0]['ip_address'] == '192.168.100.10'
        own = {'links': [], 'networks': [], 'services': [{'type': 'dns',
                                                          'address': 'x'}]}
        assert iface.get_node_network_data(
            fake_task.task(network_data=own)) == own

    def test_vif_attach_detach(self, mgr, iface):
        task = fake_task.task(states.ACTIVE)
        for p in task.ports:
            p.save = mock.Mock()
        iface.vif_attach(task, {'id': 'vif-1'})
        assert task.ports[0].internal_info['tenant_vif_port_id'] == 'vif-1'
        assert iface.vif_list(task) == [{'id': 'vif-1'}]
        with pytest.raises(ironic_exc.VifAlreadyAttached):
            iface.vif_attach(task, {'id': 'vif-1'})
        iface.vif_attach(task, {'id': 'vif-2'})
        with pytest.raises(ironic_exc.NoFreePhysicalPorts):
            iface.vif_attach(task, {'id': 'vif-3'})
        iface.vif_detach(task, 'vif-1')
        with pytest.raises(ironic_exc.VifNotAttached):
            iface.vif_detach(task, 'vif-1')
        assert iface.vif_list(task) == [{'id': 'vif-2'}]
