"""network_data of a dual-stack node: an ipv4 and an ipv6 network."""

import copy

import pytest

from tests.fixtures import network as fixtures
from vmetal_ironic import exception
from vmetal_ironic.ipam import records
from vmetal_ironic.network import network_data

LINKS = [('port-a', '52:54:00:AA:00:01'), ('port-b', '52:54:00:aa:00:02')]
V4 = fixtures.allocation()
V6 = fixtures.allocation(fixtures.POOL6, 'fd00:1::10')


def test_render_both_families_on_one_link():
    doc = network_data.render([V4, V6], LINKS)
    network_data.validate(doc)
    assert [link['id'] for link in doc['links']] == ['port-a', 'port-b']
    v4, v6 = doc['networks']
    assert (v4['type'], v4['ip_address'], v4['link']) == (
        'ipv4', '192.168.100.10', 'port-a')
    assert (v6['type'], v6['ip_address'], v6['link']) == (
        'ipv6', 'fd00:1::10', 'port-a')
    assert v6['netmask'] == 'ffff:ffff:ffff:ffff::'
    assert v6['routes'][0] == {'network': '::', 'netmask': '::',
                               'gateway': 'fd00:1::1'}
    assert v4['id'] != v6['id']
    # DNS of both pools, once each
    assert [s['address'] for s in doc['services']] == (
        list(V4.pool.dns_servers) + [s for s in V6.pool.dns_servers
                                     if s not in V4.pool.dns_servers])
    # one allocation: the document it always was
    assert network_data.render([V4], LINKS) == network_data.render(V4, LINKS)


def test_render_tagged_pools_share_a_vlan_link():
    v4 = records.Pool(name='t4', version=4, cidr='10.9.0.0/16',
                      prefixlen=16, netmask='255.255.0.0',
                      gateway='10.9.0.1', vlan_id=42)
    v6 = records.Pool(name='t6', version=6, cidr='fd00:9::/64',
                      prefixlen=64, netmask='64', gateway='fd00:9::1',
                      vlan_id=42)
    doc = network_data.render([fixtures.allocation(v4, '10.9.0.5'),
                               fixtures.allocation(v6, 'fd00:9::5')], LINKS)
    network_data.validate(doc)
    assert [link['id'] for link in doc['links']] == [
        'port-a', 'port-b', 'port-a.42']
    assert [n['link'] for n in doc['networks']] == ['port-a.42'] * 2


def test_merge_fills_a_slot_of_each_family():
    template = copy.deepcopy(fixtures.BOND_VLAN)
    six = dict(template['networks'][0], id='tenant6', type='ipv6')
    template['networks'].append(six)
    doc = network_data.merge(template, [V4, V6])
    network_data.validate(doc)
    assert [(n['id'], n['ip_address']) for n in doc['networks']] == [
        (template['networks'][0]['id'], '192.168.100.10'),
        ('tenant6', 'fd00:1::10')]


def test_merge_adds_the_ipv6_network_to_an_ipv4_template():
    """An operator template with an IPv4 slot keeps working."""
    doc = network_data.merge(fixtures.BOND_VLAN, [V4, V6])
    network_data.validate(doc)
    assert doc['links'] == fixtures.BOND_VLAN['links']
    v4, v6 = doc['networks']
    assert v6['link'] == v4['link'] == 'vlan100'
    assert (v6['type'], v6['ip_address']) == ('ipv6', 'fd00:1::10')
    assert v6['routes'][0]['gateway'] == 'fd00:1::1'
    assert {s['address'] for s in doc['services']} >= set(
        V6.pool.dns_servers)


def test_merge_first_family_must_fit():
    template = copy.deepcopy(fixtures.BOND_VLAN)
    template['networks'][0]['type'] = 'ipv6'
    with pytest.raises(exception.InvalidInput, match='IPv4'):
        network_data.merge(template, [V4, V6])
