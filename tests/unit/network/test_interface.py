"""The vmetal network interface, with a mocked IPAM manager."""

import copy
from unittest import mock

from ironic.common import exception as ironic_exc
from ironic.common import states
import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import node
from vmetal_ironic.ipam.scope import Scope
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

    def test_v2_network_config_checked(self, mgr, iface):
        good = {'version': 2, 'ethernets': {'eth0': {
            'match': {'macaddress': '52:54:00:aa:00:01'},
            'gateway4': '192.168.100.1'}}}
        iface.validate(fake_task.task(
            extra={'vmetal_network_config': good}))
        bad = {'version': 2, 'ethernets': {'eth0': {
            'match': {'macaddress': '52:54:00:aa:00:01'},
            'addresses': ['10.0.0.5/24'],
            'routes': [{'to': '10.9.0.0/16', 'via': '10.0.0.1',
                        'table': 5}]}}}
        with pytest.raises(ironic_exc.InvalidParameterValue,
                           match=r'ethernets\.eth0\.routes\[0\]\.table'):
            iface.validate(fake_task.task(
                extra={'vmetal_network_config': bad}))
        v6_only = {'version': 2, 'ethernets': {'eth0': {
            'match': {'macaddress': '52:54:00:aa:00:01'},
            'gateway6': '2001:db8::1'}}}
        with pytest.raises(ironic_exc.InvalidParameterValue,
                           match='IPv4'):
            iface.validate(fake_task.task(
                extra={'vmetal_network_config': v6_only}))
        with pytest.raises(ironic_exc.InvalidParameterValue, match='both'):
            iface.validate(fake_task.task(
                network_data=copy.deepcopy(fixtures.BOND_VLAN),
                extra={'vmetal_network_config': good}))


def _facts(**fields):
    values = dict(uuid=fixtures.NODE, name='node-1',
                  resource_class='baremetal-compute',
                  ports=(node.PxePort('52:54:00:aa:00:01'),))
    values.update(fields)
    return node.NodeFacts(**values)


class TestDeploy:

    def test_add_provisioning_network(self, mgr, iface):
        task = fake_task.task()
        iface.add_provisioning_network(task)
        # One call: the deployment's network for exactly the PXE port's
        # MAC, lower-cased (the manager deletes the node's other
        # reservations and writes only what is not in place).
        mgr.ensure_network.assert_called_once_with(_facts(),
                                                   Scope.DEPLOYMENT)
        mgr.allocate_and_reserve.assert_not_called()
        node_obj = task.node
        assert node_obj.network_data['networks'][0]['ip_address'] == \
            '192.168.100.10'
        assert node_obj.instance_info['configdrive']['network_data'] == \
            node_obj.network_data
        node_obj.save.assert_called_once_with()

    def test_node_scope_from_driver_info(self, mgr, iface):
        # The hook hands the node's driver_info over; the manager decides
        # the scope (tests/unit/ipam/test_operations.py).
        iface.configure_tenant_networks(fake_task.task(
            states.ACTIVE, driver_info={'vmetal_allocation_scope': 'node'}))
        [facts, scope] = mgr.ensure_network.call_args.args
        assert facts.driver_info == {'vmetal_allocation_scope': 'node'}
        assert scope == Scope.DEPLOYMENT

    def test_no_configdrive_outside_deploy(self, mgr, iface):
        task = fake_task.task(states.ACTIVE)
        iface.configure_tenant_networks(task)
        assert 'configdrive' not in task.node.instance_info
        assert task.node.network_data

    def test_exhausted(self, mgr, iface):
        mgr.ensure_network.side_effect = exception.PoolExhausted(
            pool='tiny', size=1)
        task = fake_task.task()
        with pytest.raises(ironic_exc.NetworkError) as e:
            iface.add_provisioning_network(task)
        assert 'tiny' in str(e.value) and fixtures.NODE in str(e.value)
        task.node.save.assert_not_called()

    def test_unexpected_error_is_network_error(self, mgr, iface):
        mgr.ensure_network.side_effect = RuntimeError('boom')
        with pytest.raises(ironic_exc.NetworkError, match='boom'):
            iface.add_provisioning_network(fake_task.task())

    def test_tear_down(self, mgr, iface):
        task = fake_task.task()
        iface.add_provisioning_network(task)
        task.node.provision_state = states.DELETING
        mgr.release.return_value = [fixtures.allocation()]
        iface.unconfigure_tenant_networks(task)
        mgr.release.assert_called_once_with(fixtures.NODE,
                                            Scope.DEPLOYMENT)
        assert task.node.network_data == {}

    def test_no_release_while_deploying(self, mgr, iface):
        task = fake_task.task()
        iface.unconfigure_tenant_networks(task)
        iface.remove_provisioning_network(task)
        mgr.release.assert_not_called()


class TestPhases:

    @pytest.mark.parametrize('add, scope', [
        ('add_cleaning_network', Scope.CLEANING),
        ('add_rescuing_network', Scope.RESCUE),
        ('add_inspection_network', Scope.INSPECTION),
        ('add_servicing_network', Scope.SERVICING)])
    def test_phase_hooks(self, mgr, iface, add, scope):
        assert getattr(iface, add)(fake_task.task(states.ACTIVE)) == {}
        mgr.ensure_network.assert_called_once_with(_facts(), scope)
        getattr(iface, add.replace('add_', 'remove_'))(
            fake_task.task(states.ACTIVE))
        mgr.release.assert_called_once_with(fixtures.NODE, scope)

    def test_phase_failure_is_network_error(self, mgr, iface):
        mgr.release.side_effect = exception.StoreError(reason='db down')
        with pytest.raises(ironic_exc.NetworkError, match='db down'):
            iface.remove_cleaning_network(fake_task.task(states.CLEANING))

    def test_inspection_supported(self, mgr, iface):
        iface.validate_inspection(fake_task.task(states.MANAGEABLE))


class TestPortsAndData:

    def test_port_mac_changed(self, mgr, iface):
        task = fake_task.task(states.MANAGEABLE)
        changed = fake_task.port('52:54:00:aa:00:01')
        changed.obj_reset_changes()
        changed.address = '52:54:00:AA:00:77'
        iface.port_changed(task, changed)
        mgr.port_changed.assert_called_once_with(
            mock.ANY, '52:54:00:aa:00:77', True, client_id=None,
            old_mac='52:54:00:aa:00:01')
        assert mgr.port_changed.call_args.args[0].uuid == fixtures.NODE

    def test_port_unchanged_field_ignored(self, mgr, iface):
        port = fake_task.port('52:54:00:aa:00:01')
        port.obj_reset_changes()
        iface.port_changed(fake_task.task(states.MANAGEABLE), port)
        mgr.port_changed.assert_not_called()

    def test_port_change_failure(self, mgr, iface):
        mgr.port_changed.side_effect = exception.Conflict(reason='taken')
        port = fake_task.port('52:54:00:aa:00:01')
        port.obj_reset_changes()
        port.pxe_enabled = False
        with pytest.raises(ironic_exc.FailedToUpdateDHCPOptOnPort,
                           match='taken'):
            iface.port_changed(fake_task.task(states.MANAGEABLE), port)

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
