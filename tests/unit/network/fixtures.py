"""Records shared by the network unit tests."""

from vmetal_ironic.ipam import records

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'

POOL4 = records.Pool(
    name='compute', version=4, cidr='192.168.100.0/24', prefixlen=24,
    netmask='255.255.255.0', gateway='192.168.100.1',
    dns_servers=('192.168.100.2', '192.168.100.3'), mtu=9000,
    routes=(records.Route('10.0.0.0/8', '192.168.100.254'),),
    resource_classes=('baremetal-compute',), size=190)

POOL6 = records.Pool(
    name='v6', version=6, cidr='fd00:1::/64', prefixlen=64, netmask='64',
    gateway='fd00:1::1', dns_servers=('fd00:1::53',), size=1000)


def allocation(pool=POOL4, address='192.168.100.10', node=NODE):
    return records.Allocation(pool=pool, node_uuid=node, address=address)


# An operator template: static IPv4 on VLAN 100 over an LACP bond, with
# no ip_address (ironic-notes section 3).
BOND_VLAN = {
    'links': [
        {'id': 'eth0', 'type': 'phy',
         'ethernet_mac_address': '52:54:00:aa:00:01'},
        {'id': 'eth1', 'type': 'phy',
         'ethernet_mac_address': '52:54:00:aa:00:02'},
        {'id': 'bond0', 'type': 'bond', 'bond_mode': '802.3ad',
         'bond_links': ['eth0', 'eth1'],
         'ethernet_mac_address': '52:54:00:aa:00:01'},
        {'id': 'vlan100', 'type': 'vlan', 'vlan_link': 'bond0',
         'vlan_id': 100, 'vlan_mac_address': '52:54:00:aa:00:01'}],
    'networks': [{'id': 'net0', 'type': 'ipv4', 'link': 'vlan100',
                  'network_id': 'tenant'}],
    'services': []}
