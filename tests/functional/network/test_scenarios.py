"""Parallel deploys, operator network_data, exhaustion, validation."""

import concurrent.futures
import copy

from vmetal_ironic.network import network_data

from tests.fixtures import ironic_helpers as helpers
from tests.fixtures import network as fixtures

TEMPLATE = fixtures.BOND_VLAN


def test_twenty_parallel_deploys(ironic):
    nodes = [ironic.create_node(extra_fields={'automated_clean': False})
             for _ in range(20)]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda n: ironic.provide(n['uuid']), nodes))
        for node in nodes:
            info = ironic.instance_info()
            ironic.patch(node['uuid'], [{'op': 'add',
                                         'path': '/instance_info',
                                         'value': info}])
            ironic.set_state(node['uuid'], 'active')
        done = list(pool.map(
            lambda n: ironic.wait_state(n['uuid'],
                                        ('active', 'deploy failed'), 180),
            nodes))
    assert [n['provision_state'] for n in done] == ['active'] * 20, \
        [n['last_error'] for n in done if n['last_error']]
    addresses = set()
    for node in done:
        [alloc] = ironic.ipam.get_allocations(node['uuid'])
        assert node['network_data']['networks'][0]['ip_address'] == \
            alloc.address
        addresses.add(alloc.address)
    assert len(addresses) == 20
    for node in nodes:
        helpers.forget(ironic, node)
    helpers.wait_for(
        lambda: not any(helpers.node_allocations(ironic, n['uuid'])
                        for n in nodes),
        what='20 deleted nodes released')


def test_operator_template_merged(ironic):
    node = helpers.quick_node(ironic, extra_fields={
        'automated_clean': False, 'network_data': TEMPLATE})
    node = helpers.deploy(ironic, node)
    assert node['provision_state'] == 'active', node['last_error']
    [alloc] = ironic.ipam.get_allocations(node['uuid'])
    doc = node['network_data']
    network_data.validate(doc)
    assert doc['links'] == TEMPLATE['links']
    [net] = doc['networks']
    assert (net['link'], net['network_id']) == ('vlan100', 'tenant')
    assert net['ip_address'] == alloc.address
    assert net['netmask'] == '255.255.255.0'
    assert doc['services'] == [{'type': 'dns', 'address': '192.168.100.2'}]
    assert node['driver_internal_info']['vmetal_network_data']['mode'] == \
        'merged'
    node = helpers.undeploy(ironic, node)
    assert node['network_data'] == TEMPLATE     # the template is back
    helpers.forget(ironic, node)


def test_operator_document_verbatim(ironic):
    doc = copy.deepcopy(TEMPLATE)
    doc['networks'][0].update(ip_address='10.20.30.40',
                              netmask='255.255.255.0')
    node = helpers.quick_node(ironic, extra_fields={
        'automated_clean': False, 'network_data': doc})
    node = helpers.deploy(ironic, node)
    assert node['provision_state'] == 'active', node['last_error']
    assert node['network_data'] == doc
    assert node['driver_internal_info']['vmetal_network_data']['mode'] == \
        'operator'
    # The address is still allocated and reserved for PXE.
    assert ironic.ipam.get_allocations(node['uuid'])
    node = helpers.undeploy(ironic, node)
    assert node['network_data'] == doc
    helpers.forget(ironic, node)


def test_pool_exhaustion_and_recovery(ironic):
    tiny = {'properties': {'vmetal_pool': 'tiny'}, 'automated_clean': False}
    first = helpers.quick_node(ironic, extra_fields=dict(tiny))
    assert helpers.deploy(ironic, first)['provision_state'] == 'active'
    [held] = ironic.ipam.get_allocations(first['uuid'])
    assert held.address == '192.168.250.10'

    second = helpers.quick_node(ironic, extra_fields=dict(tiny))
    failed = helpers.deploy(ironic, second)
    assert failed['provision_state'] == 'deploy failed'
    assert 'tiny' in failed['last_error']
    assert second['uuid'] in failed['last_error']
    assert helpers.node_allocations(ironic, second['uuid']) == []
    assert ironic.ipam.list_reservations(second['uuid']) == []

    helpers.forget(ironic, first)               # frees the only address
    helpers.wait_for(
        lambda: not helpers.node_allocations(ironic, first['uuid']),
        what='address of the deleted node released')
    node = helpers.deploy(ironic, second)
    assert node['provision_state'] == 'active', node['last_error']
    assert [a.address for a in ironic.ipam.get_allocations(
        second['uuid'])] == ['192.168.250.10']
    helpers.forget(ironic, second)


def test_maintenance_delete_releases_via_notification(ironic):
    node = helpers.quick_node(ironic)
    assert helpers.deploy(ironic, node)['provision_state'] == 'active'
    assert ironic.ipam.get_allocations(node['uuid'])
    helpers.forget(ironic, node)                # active, in maintenance
    helpers.wait_for(
        lambda: not helpers.node_allocations(ironic, node['uuid']),
        timeout=20, what='notification driver released the node')
    assert ironic.ipam.list_reservations(node['uuid']) == []


def test_validate_reports_bad_pool(ironic):
    node = ironic.create_node(extra_fields={
        'instance_info': {'vmetal_pool': 'no-such-pool'}})
    result = ironic.api('GET', '/nodes/%s/validate' % node['uuid'])
    assert result['network']['result'] is False
    assert 'no-such-pool' in result['network']['reason']
    assert node['uuid'] in result['network']['reason']
    ironic.delete(node['uuid'])


def test_vif_bookkeeping(ironic):
    node = ironic.create_node()
    path = '/nodes/%s/vifs' % node['uuid']
    ironic.api('POST', path, expect=204, json={'id': 'vif-1'})
    assert ironic.api('GET', path)['vifs'] == [{'id': 'vif-1'}]
    ironic.api('POST', path, expect=409, json={'id': 'vif-1'})
    ironic.api('DELETE', path + '/vif-1', expect=204)
    assert ironic.api('GET', path)['vifs'] == []
    ironic.delete(node['uuid'])


def test_vmetal_hardware_types_validate(ironic):
    ipmi = ironic.create_node(driver='vmetal-ipmi', network=None,
                              driver_info={'ipmi_address': '127.0.0.1',
                                           'ipmi_username': 'admin',
                                           'ipmi_password': 'secret'})
    redfish = ironic.create_node(
        driver='vmetal-redfish', network=None,
        driver_info={'redfish_address': 'https://127.0.0.1:8443',
                     'redfish_system_id': '/redfish/v1/Systems/1',
                     'redfish_username': 'admin',
                     'redfish_password': 'secret'})
    for node in (ipmi, redfish):
        got = ironic.node(node['uuid'])
        assert got['network_interface'] == 'vmetal'
        result = ironic.api('GET', '/nodes/%s/validate' % node['uuid'])
        assert result['network'] == {'result': True}
        assert result['power']['result'] is True, result['power']
        ironic.delete(node['uuid'])
    for hw in ('vmetal-ipmi', 'vmetal-redfish'):
        info = ironic.api('GET', '/drivers/%s' % hw)
        assert 'vmetal' in info['enabled_network_interfaces']


def test_noop_network_node_beside_vmetal(ironic):
    """Ironic's in-tree noop network beside vmetal: no address, no rows."""
    node = helpers.quick_node(ironic, network='noop')
    node = helpers.deploy(ironic, node)
    assert node['provision_state'] == 'active', node['last_error']
    assert node['network_interface'] == 'noop'
    assert node['network_data'] == {}
    assert helpers.node_allocations(ironic, node['uuid']) == []
    assert ironic.ipam.list_reservations(node['uuid']) == []
    node = helpers.undeploy(ironic, node)
    assert node['provision_state'] == 'available', node['last_error']
    ironic.delete(node['uuid'])
