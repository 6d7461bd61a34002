"""cloud-init network-config v2 -> network_data: mapping and errors."""

import json

import pytest

from vmetal_ironic import exception
from vmetal_ironic.network import netconfig_v2
from vmetal_ironic.network import network_data

from tests.fixtures import network as fixtures

MAC1 = '52:54:00:aa:00:01'
MAC2 = '52:54:00:aa:00:02'

# What a vMetal node template renders: two NICs in an LACP bond, a tagged
# VLAN with the node's address left to IPAM, static storage network.
VMETAL_YAML = """
network:
  version: 2
  renderer: networkd
  ethernets:
    eno1:
      match: {macaddress: "52:54:00:AA:00:01"}
      set-name: eno1
    eno2:
      match: {macaddress: "52:54:00:aa:00:02"}
      mtu: 9000
  bonds:
    bond0:
      interfaces: [eno1, eno2]
      mtu: 9000
      parameters:
        mode: 802.3ad
        mii-monitor-interval: 100
        transmit-hash-policy: layer3+4
        lacp-rate: fast
  vlans:
    bond0.100:
      id: 100
      link: bond0
      gateway4: 192.168.100.1
      nameservers:
        addresses: [192.168.100.2]
    bond0.200:
      id: 200
      link: bond0
      addresses: [10.20.0.5/16]
      routes:
        - to: 10.30.0.0/16
          via: 10.20.0.1
"""


def test_vmetal_template_converts_and_validates_after_merge():
    doc = netconfig_v2.convert(VMETAL_YAML)
    links = {link['id']: link for link in doc['links']}
    assert links['eno1'] == {'id': 'eno1', 'type': 'phy', 'name': 'eno1',
                             'ethernet_mac_address': MAC1}
    assert links['eno2']['mtu'] == 9000
    assert links['bond0'] == {
        'id': 'bond0', 'type': 'bond', 'ethernet_mac_address': MAC1,
        'bond_links': ['eno1', 'eno2'], 'bond_mode': '802.3ad',
        'bond_miimon': 100, 'bond_xmit_hash_policy': 'layer3+4',
        'bond_lacp_rate': 'fast', 'mtu': 9000}
    assert links['bond0.100'] == {
        'id': 'bond0.100', 'type': 'vlan', 'vlan_link': 'bond0',
        'vlan_id': 100, 'vlan_mac_address': MAC1}
    template, storage = doc['networks']
    assert template == {
        'id': 'network0', 'link': 'bond0.100', 'type': 'ipv4',
        'routes': [{'network': '0.0.0.0', 'netmask': '0.0.0.0',
                    'gateway': '192.168.100.1'}],
        'services': [{'type': 'dns', 'address': '192.168.100.2'}]}
    assert storage == {
        'id': 'network1', 'network_id': 'network1', 'type': 'ipv4',
        'link': 'bond0.200', 'ip_address': '10.20.0.5',
        'netmask': '255.255.0.0',
        'routes': [{'network': '10.30.0.0', 'netmask': '255.255.0.0',
                    'gateway': '10.20.0.1'}]}
    assert doc['services'] == [{'type': 'dns', 'address': '192.168.100.2'}]
    # The same merge rules as a hand-written template: the VLAN gets the
    # allocation, keeps the operator's gateway, and the result is valid.
    assert network_data.needs_merge(doc)
    merged = network_data.merge(doc, fixtures.allocation())
    network_data.validate(merged)
    filled = merged['networks'][0]
    assert filled['ip_address'] == '192.168.100.10'
    assert filled['netmask'] == '255.255.255.0'
    assert filled['network_id'] == 'compute'
    assert filled['routes'][0]['gateway'] == '192.168.100.1'


def test_json_text_and_mapping_are_accepted():
    doc = {'version': 2,
           'ethernets': {'eth0': {'match': {'macaddress': MAC1},
                                  'addresses': ['192.168.100.50/24',
                                                '2001:db8::5/64'],
                                  'gateway4': '192.168.100.1',
                                  'gateway6': '2001:db8::1'}}}
    assert netconfig_v2.convert(json.dumps(doc)) == netconfig_v2.convert(doc)
    out = netconfig_v2.convert(doc)
    v4, v6 = out['networks']
    assert (v4['type'], v4['ip_address']) == ('ipv4', '192.168.100.50')
    assert (v6['type'], v6['ip_address']) == ('ipv6', '2001:db8::5')
    assert v6['netmask'] == 'ffff:ffff:ffff:ffff::'
    assert v6['routes'] == [{'network': '::', 'netmask': '::',
                             'gateway': '2001:db8::1'}]
    # Every network has an address: used as it is, and valid as it is.
    assert not network_data.needs_merge(out)
    network_data.validate(out)


def test_dhcp_and_plain_template():
    out = netconfig_v2.convert({
        'version': 2,
        'ethernets': {'eth0': {'match': {'macaddress': MAC1}},
                      'eth1': {'match': {'macaddress': MAC2},
                               'dhcp4': True}}})
    template, dhcp = out['networks']
    assert template == {'id': 'network0', 'link': 'eth0'}
    assert dhcp['type'] == 'ipv4_dhcp' and dhcp['link'] == 'eth1'
    assert network_data.can_take(out, 4) and network_data.can_take(out, 6)


def test_default_route_spellings():
    for to in ('default', '0.0.0.0/0'):
        out = netconfig_v2.convert({
            'version': 2,
            'ethernets': {'eth0': {
                'match': {'macaddress': MAC1},
                'addresses': ['10.0.0.5/24'],
                'routes': [{'to': to, 'via': '10.0.0.1'}]}}})
        assert out['networks'][0]['routes'] == [
            {'network': '0.0.0.0', 'netmask': '0.0.0.0',
             'gateway': '10.0.0.1'}]


@pytest.mark.parametrize('doc, where', [
    ({'version': 1}, 'version'),
    ({'version': 2, 'wifis': {}}, '<top>.wifis'),
    ({'version': 2, 'ethernets': {'eth0': {'match': {'name': 'en*'}}}},
     'ethernets.eth0.match.name'),
    ({'version': 2, 'ethernets': {'eth0': {}}},
     'ethernets.eth0.match.macaddress'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'wakeonlan': True}}},
     'ethernets.eth0.wakeonlan'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'addresses': ['10.0.0.5/24'],
        'nameservers': {'addresses': ['10.0.0.2'], 'search': ['a.b']}}}},
     'ethernets.eth0.nameservers.search'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'addresses': ['10.0.0.5/24'],
        'routes': [{'to': '10.1.0.0/16', 'via': '10.0.0.1',
                    'metric': 100}]}}},
     'ethernets.eth0.routes[0].metric'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'addresses': ['10.0.0.5']}}},
     'ethernets.eth0.addresses[0]'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': 'zz'}}}},
     'ethernets.eth0.match.macaddress'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'mtu': 10}}},
     'ethernets.eth0.mtu'),
    ({'version': 2, 'ethernets': {'eth0': {'match': {'macaddress': MAC1}}},
      'bonds': {'bond0': {'interfaces': ['eth0'],
                          'parameters': {'mode': 'weird'}}}},
     'bonds.bond0.parameters.mode'),
    ({'version': 2, 'ethernets': {'eth0': {'match': {'macaddress': MAC1}}},
      'bonds': {'bond0': {'interfaces': ['eth0'],
                          'parameters': {'mode': 'active-backup',
                                         'gratuitous-arp': 3}}}},
     'bonds.bond0.parameters.gratuitous-arp'),
    ({'version': 2, 'bonds': {'bond0': {'interfaces': ['eth9'],
                                        'parameters': {'mode': '802.3ad'}}}},
     'bonds.bond0.interfaces'),
    ({'version': 2, 'vlans': {'v1': {'id': 5, 'link': 'nope'}}},
     'vlans.v1.link'),
    ({'version': 2, 'ethernets': {'eth0': {'match': {'macaddress': MAC1}}},
      'vlans': {'v1': {'id': 5000, 'link': 'eth0'}}},
     'vlans.v1.id'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'gateway4': '2001:db8::1'}}},
     'ethernets.eth0.gateway4'),
    ({'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': MAC1}, 'dhcp4': 'yes'}}},
     'ethernets.eth0.dhcp4'),
    ({'version': 2, 'ethernets': {'a': {'match': {'macaddress': MAC1}},
                                  'b': {'match': {'macaddress': MAC1}}}},
     'ethernets.b.match.macaddress'),
])
def test_errors_name_the_key(doc, where):
    with pytest.raises(exception.InvalidInput) as info:
        netconfig_v2.convert(doc)
    assert 'network-config v2: %s:' % where in str(info.value)


def test_vlan_loop_and_stacked_vlans():
    out = netconfig_v2.convert({
        'version': 2, 'ethernets': {'eth0': {'match': {'macaddress': MAC1}}},
        'vlans': {'outer': {'id': 20, 'link': 'inner'},
                  'inner': {'id': 10, 'link': 'eth0'}}})
    assert [link['id'] for link in out['links']] == ['eth0', 'inner',
                                                     'outer']
    with pytest.raises(exception.InvalidInput, match='loop'):
        netconfig_v2.convert({
            'version': 2,
            'vlans': {'a': {'id': 1, 'link': 'b'},
                      'b': {'id': 2, 'link': 'a'}}})


@pytest.mark.parametrize('text', [
    'version: [2', '{"version": 2', '- 1\n- 2', '42', 'version: 2\n' +
    'x' * netconfig_v2.MAX_TEXT, '!!python/object:os.system {}'])
def test_bad_text_is_a_clear_error(text):
    with pytest.raises(exception.InvalidInput, match='network-config v2'):
        netconfig_v2.convert(text)


def test_is_v2():
    assert netconfig_v2.is_v2({'version': 2})
    assert netconfig_v2.is_v2({'network': {'version': 2}})
    assert not netconfig_v2.is_v2({'links': []})
