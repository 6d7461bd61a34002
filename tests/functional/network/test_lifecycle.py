"""enroll -> manage -> provide -> deploy -> undeploy -> delete, for real."""

from openstack.baremetal import configdrive as os_configdrive

from vmetal_ironic.network import configdrive
from vmetal_ironic.network import network_data

from tests.fixtures import ironic_helpers as helpers


def _written_config_drive(env, node_uuid):
    """The config drive Ironic sent to the agent with write_image."""
    [step] = [p['step'] for p in env.ipa.deploy_steps(node_uuid)
              if p['step']['step'] == 'write_image']
    return step['args']['image_info']['configdrive']


def _config_drive_network_data(env, node_uuid):
    return configdrive.read_network_data(
        _written_config_drive(env, node_uuid))


def test_deployment_scope_lifecycle(ironic):
    """compute pool by resource class, direct deploy, released at undeploy."""
    node = ironic.create_node(resource_class='baremetal-compute',
                              deploy='direct')
    uuid, mac = node['uuid'], node['mac']
    assert ironic.api('GET', '/nodes/%s/validate' % uuid)['network'] == \
        {'result': True}
    ironic.provide(uuid)                        # with automated cleaning
    # Cleaning had its own short-lived allocation: nothing left now.
    assert ironic.ipam.get_allocations(uuid) == []
    assert ironic.ipam.list_reservations(uuid) == []

    node = helpers.deploy(ironic, node)
    assert node['provision_state'] == 'active', node['last_error']
    [alloc] = ironic.ipam.get_allocations(uuid)
    assert alloc.pool_name == 'compute'
    assert alloc.scope == 'deployment'
    assert helpers.in_range(alloc.address, '192.168.100.10',
                            '192.168.100.200')
    assert alloc.address != '192.168.100.50'    # excluded

    nd = node['network_data']
    network_data.validate(nd)
    [net] = nd['networks']
    assert net['ip_address'] == alloc.address
    assert net['netmask'] == '255.255.255.0'
    assert {'network': '0.0.0.0', 'netmask': '0.0.0.0',
            'gateway': '192.168.100.1'} in net['routes']
    assert nd['links'][0]['ethernet_mac_address'] == mac
    assert nd['links'][0]['mtu'] == 9000
    assert nd['services'] == [{'type': 'dns', 'address': '192.168.100.2'}]
    assert node['driver_internal_info']['vmetal_network_data']['mode'] == \
        'generated'

    # The image was written with a config drive carrying the same data.
    assert _config_drive_network_data(ironic, uuid) == nd

    [res] = ironic.ipam.list_reservations(uuid)
    assert (res.mac, res.address, res.pool) == (mac, alloc.address,
                                                'compute')
    profile = res.boot_profile.to_dict()
    assert profile['ipxe_script_url'].endswith('/boot.ipxe')
    assert profile['bootfile'] == 'snponly.efi'
    assert profile['tftp_server'] == '127.0.0.1'
    # Ironic's DHCPv6 options (option 59 by the ipxe6 tag) are stored as
    # the profile's IPv6 URLs for the DHCPv6 server.
    assert profile['ipxe6_url'].endswith('/boot.ipxe')
    assert profile['bootfile6_url'].endswith('snponly.efi')
    # Only the profile's fields are stored, not Ironic's verbatim list.
    assert set(profile) == {'bootfile', 'ipxe_script_url', 'tftp_server',
                            'ipxe6_url', 'bootfile6_url'}

    node = helpers.undeploy(ironic, node)      # tear down + cleaning
    assert node['provision_state'] == 'available', node['last_error']
    assert ironic.ipam.get_allocations(uuid) == []
    assert ironic.ipam.list_reservations(uuid) == []
    assert node['network_data'] == {}
    assert 'vmetal_network_data' not in node['driver_internal_info']

    ironic.delete(uuid)
    helpers.wait_for(lambda: not helpers.node_allocations(ironic, uuid),
                     what='IPAM rows of deleted node %s gone' % uuid)
    assert ironic.ipam.list_reservations(uuid) == []


def test_node_scope_lifecycle(ironic):
    """storage pool by resource class; scope node: kept until delete."""
    node = ironic.create_node(
        resource_class='baremetal-storage',
        driver_info={'vmetal_allocation_scope': 'node'})
    uuid = node['uuid']
    ironic.provide(uuid)
    node = helpers.deploy(ironic, node)
    assert node['provision_state'] == 'active', node['last_error']
    [alloc] = ironic.ipam.get_allocations(uuid)
    assert (alloc.pool_name, alloc.scope) == ('storage', 'node')
    assert helpers.in_range(alloc.address, '192.168.200.10',
                            '192.168.200.20')

    node = helpers.undeploy(ironic, node)
    assert node['provision_state'] == 'available', node['last_error']
    [kept] = ironic.ipam.get_allocations(uuid)
    assert kept.address == alloc.address
    assert [r.address for r in ironic.ipam.list_reservations(uuid)] == \
        [alloc.address]
    # clean_dhcp_opts ran at tear down; cleaning wrote its options again.
    ironic.delete(uuid)
    helpers.wait_for(lambda: not helpers.node_allocations(ironic, uuid),
                     what='allocation of deleted node %s released' % uuid)
    assert ironic.ipam.list_reservations(uuid) == []


def test_iso_config_drive_gets_network_data(ironic):
    """A user's gzip+base64 ISO config drive: network_data.json replaced."""
    node = helpers.quick_node(ironic, deploy='direct')
    user_cd = os_configdrive.build(
        {'uuid': node['uuid'], 'hostname': 'from-user'},
        user_data=b'#cloud-config\n',
        network_data={'links': [], 'networks': [], 'services': []})
    helpers.set_instance_info(ironic, node)
    ironic.set_state(node['uuid'], 'active', configdrive=user_cd)
    node = ironic.wait_state(node['uuid'], ('active', 'deploy failed'))
    assert node['provision_state'] == 'active', node['last_error']
    [alloc] = ironic.ipam.get_allocations(node['uuid'])
    sent = _written_config_drive(ironic, node['uuid'])
    assert configdrive.read_network_data(sent) == node['network_data']
    assert node['network_data']['networks'][0]['ip_address'] == \
        alloc.address
    iso = configdrive.decode_iso(sent)
    assert configdrive.read_iso_file(
        iso, '/openstack/latest/user_data') == b'#cloud-config\n'
    assert b'from-user' in configdrive.read_iso_file(
        iso, '/openstack/latest/meta_data.json')
    helpers.forget(ironic, node)


def test_ramdisk_deploy(ironic):
    """ramdisk deploy: configure_tenant_networks only, then iPXE options.

    (Ironic 39 rejects kernel/ramdisk URLs without image_source for this
    interface, "Validation of image href None"; a boot_iso works.)
    """
    node = helpers.quick_node(ironic, deploy='ramdisk')
    ironic.patch(node['uuid'], [{'op': 'add', 'path': '/instance_info',
                                 'value': {'boot_iso': ironic.image_url(
                                     'disk.img')}}])
    ironic.set_state(node['uuid'], 'active')
    node = ironic.wait_state(node['uuid'], ('active', 'deploy failed'))
    assert node['provision_state'] == 'active', node['last_error']
    [alloc] = ironic.ipam.get_allocations(node['uuid'])
    assert node['network_data']['networks'][0]['ip_address'] == \
        alloc.address
    # The API masks the config drive; it was created (unit tests check
    # its content, the direct deploy test what reaches the agent).
    assert node['instance_info'].get('configdrive')
    [res] = ironic.ipam.list_reservations(node['uuid'])
    assert res.address == alloc.address
    assert res.boot_profile.ipxe_script_url.endswith('/boot.ipxe')
    node = helpers.undeploy(ironic, node)
    assert node['provision_state'] == 'available', node['last_error']
    assert ironic.ipam.get_allocations(node['uuid']) == []
    helpers.forget(ironic, node)


def test_rescue_keeps_the_deployment_address(ironic):
    """rescue/unrescue of an active node reuse its address, release none."""
    node = helpers.quick_node(ironic, extra_fields={
        'automated_clean': False, 'rescue_interface': 'agent'},
        driver_info={'rescue_kernel': ironic.image_url('kernel'),
                     'rescue_ramdisk': ironic.image_url('ramdisk')})
    assert helpers.deploy(ironic, node)['provision_state'] == 'active'
    [alloc] = ironic.ipam.get_allocations(node['uuid'])
    ironic.set_state(node['uuid'], 'rescue', rescue_password='secret')
    rescued = ironic.wait_state(node['uuid'], ('rescue', 'rescue failed'))
    assert rescued['provision_state'] == 'rescue', rescued['last_error']
    assert ironic.ipam.get_allocations(node['uuid']) == [alloc]
    [res] = ironic.ipam.list_reservations(node['uuid'])
    assert res.address == alloc.address
    assert res.boot_profile.ipxe_script_url.endswith('/boot.ipxe')
    ironic.set_state(node['uuid'], 'unrescue')
    back = ironic.wait_state(node['uuid'], ('active', 'unrescue failed'))
    assert back['provision_state'] == 'active', back['last_error']
    assert [a.address for a in ironic.ipam.get_allocations(
        node['uuid'])] == [alloc.address]
    helpers.forget(ironic, node)
