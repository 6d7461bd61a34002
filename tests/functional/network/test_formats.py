"""The formats operators bring, in a real Ironic.

cloud-init network-config v2 in ``node.extra``, and a pool's NTP servers.
"""

import json

import yaml

from vmetal_ironic.network import configdrive
from vmetal_ironic.network import network_data

from tests.fixtures import ironic_helpers as helpers

VENDOR_DATA = '/openstack/latest/vendor_data2.json'


def _written_config_drive(env, node_uuid):
    [step] = [p['step'] for p in env.ipa.deploy_steps(node_uuid)
              if p['step']['step'] == 'write_image']
    return step['args']['image_info']['configdrive']


def _v2(mac):
    """A vMetal-style template with the node's address left to IPAM.

    An active-backup bond with a static management address, and VLAN 30 on
    it without an address: that one receives the allocation.
    """
    return yaml.safe_dump({'network': {
        'version': 2,
        'ethernets': {
            'eno1': {'match': {'macaddress': mac}, 'set-name': 'eno1'},
            'eno2': {'match': {'macaddress': '52:54:00:fe:00:02'}}},
        'bonds': {'bond0': {
            'interfaces': ['eno1', 'eno2'], 'addresses': ['10.77.0.9/24'],
            'parameters': {'mode': 'active-backup', 'primary': 'eno1',
                           'mii-monitor-interval': 100}}},
        'vlans': {'bond0.30': {
            'id': 30, 'link': 'bond0', 'gateway4': '192.168.200.1',
            'nameservers': {'addresses': ['192.168.200.2']}}}}})


def test_network_config_v2_and_ntp_deploy(ironic):
    node = ironic.create_node(resource_class='baremetal-storage',
                              deploy='direct',
                              extra_fields={'automated_clean': False})
    uuid, mac = node['uuid'], node['mac']
    text = _v2(mac)
    ironic.patch(uuid, [{'op': 'add', 'path': '/extra/vmetal_network_config',
                         'value': text}])
    assert ironic.api('GET', '/nodes/%s/validate' % uuid)['network'] == \
        {'result': True}
    ironic.provide(uuid)
    node = helpers.deploy(ironic, node)
    assert node['provision_state'] == 'active', node['last_error']
    [alloc] = ironic.ipam.get_allocations(uuid)
    assert alloc.pool_name == 'storage'

    doc = node['network_data']
    network_data.validate(doc)
    links = {link['id']: link for link in doc['links']}
    assert links['bond0']['type'] == 'bond'
    assert links['bond0']['bond_links'] == ['eno1', 'eno2']
    assert links['bond0']['bond_mode'] == 'active-backup'
    assert links['bond0']['bond_primary'] == 'eno1'
    assert links['bond0.30']['vlan_id'] == 30
    assert links['eno1']['ethernet_mac_address'] == mac
    by_link = {n['link']: n for n in doc['networks']}
    assert by_link['bond0']['ip_address'] == '10.77.0.9'
    mine = by_link['bond0.30']
    assert mine['ip_address'] == alloc.address
    assert mine['network_id'] == 'storage'
    assert mine['routes'] == [{'network': '0.0.0.0', 'netmask': '0.0.0.0',
                               'gateway': '192.168.200.1'}]
    record = node['driver_internal_info']['vmetal_network_data']
    assert (record['mode'], record['source']) == ('merged', 'network_config')

    # The image was written with a config drive carrying that document
    # and the pool's NTP servers as cloud-init vendor data.
    written = _written_config_drive(ironic, uuid)
    assert configdrive.read_network_data(written) == doc
    vendor = json.loads(configdrive.read_iso_file(
        configdrive.decode_iso(written), VENDOR_DATA))
    assert yaml.safe_load(vendor['cloud-init'])['ntp'] == {
        'enabled': True, 'servers': ['192.168.200.123', '192.168.200.124']}
    # ... and the PXE reservation serves them too (option 42 comes from the
    # pool the agent reads).
    [pool] = [p for p in ironic.ipam.get_pools() if p.name == 'storage']
    assert pool.ntp_servers == ('192.168.200.123', '192.168.200.124')

    node = helpers.undeploy(ironic, node)
    assert node['network_data'] == {}
    assert node['extra']['vmetal_network_config'] == text
    helpers.forget(ironic, node)


def test_network_config_v2_error_is_reported_by_validate(ironic):
    node = ironic.create_node(resource_class='baremetal-storage',
                              extra_fields={'automated_clean': False})
    uuid = node['uuid']
    bad = {'version': 2, 'ethernets': {'eno1': {
        'match': {'macaddress': node['mac']}, 'addresses': ['10.1.0.5/24'],
        'nameservers': {'addresses': ['10.1.0.2'], 'search': ['lab']}}}}
    ironic.patch(uuid, [{'op': 'add', 'path': '/extra/vmetal_network_config',
                         'value': bad}])
    result = ironic.api('GET', '/nodes/%s/validate' % uuid)['network']
    assert result['result'] is False
    assert 'ethernets.eno1.nameservers.search' in result['reason']
    helpers.forget(ironic, node)
