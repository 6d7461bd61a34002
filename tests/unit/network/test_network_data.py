"""network_data rendering, merging and validation."""

import copy
import dataclasses

import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import records
from vmetal_ironic.network import network_data

from tests.fixtures import network as fixtures

LINKS = [('port-a', '52:54:00:AA:00:01'), ('port-b', '52:54:00:aa:00:02')]


def test_render_ipv4():
    doc = network_data.render(fixtures.allocation(), LINKS)
    network_data.validate(doc)
    assert doc['links'] == [
        {'id': 'port-a', 'type': 'phy',
         'ethernet_mac_address': '52:54:00:aa:00:01', 'mtu': 9000},
        {'id': 'port-b', 'type': 'phy',
         'ethernet_mac_address': '52:54:00:aa:00:02', 'mtu': 9000}]
    [net] = doc['networks']
    assert net['type'] == 'ipv4'
    assert net['link'] == 'port-a'
    assert net['network_id'] == 'compute'
    assert net['ip_address'] == '192.168.100.10'
    assert net['netmask'] == '255.255.255.0'
    assert net['routes'] == [
        {'network': '0.0.0.0', 'netmask': '0.0.0.0',
         'gateway': '192.168.100.1'},
        {'network': '10.0.0.0', 'netmask': '255.0.0.0',
         'gateway': '192.168.100.254'}]
    assert doc['services'] == [{'type': 'dns', 'address': '192.168.100.2'},
                               {'type': 'dns', 'address': '192.168.100.3'}]


def test_render_ipv6_no_mtu():
    doc = network_data.render(
        fixtures.allocation(fixtures.POOL6, 'fd00:1::10'), LINKS[:1])
    network_data.validate(doc)
    [net] = doc['networks']
    assert net['type'] == 'ipv6'
    assert net['netmask'] == 'ffff:ffff:ffff:ffff::'
    assert net['routes'][0] == {'network': '::', 'netmask': '::',
                                'gateway': 'fd00:1::1'}
    assert 'mtu' not in doc['links'][0]


def test_render_vlan_and_no_gateway():
    pool = records.Pool(name='tagged', version=4, cidr='10.9.0.0/16',
                        prefixlen=16, netmask='255.255.0.0', gateway=None,
                        vlan_id=42)
    doc = network_data.render(fixtures.allocation(pool, '10.9.0.5'), LINKS)
    network_data.validate(doc)
    assert doc['links'][-1] == {
        'id': 'port-a.42', 'type': 'vlan', 'vlan_link': 'port-a',
        'vlan_id': 42, 'vlan_mac_address': '52:54:00:aa:00:01'}
    assert doc['networks'][0]['link'] == 'port-a.42'
    assert doc['networks'][0]['routes'] == []
    assert doc['services'] == []


def test_render_needs_a_link():
    with pytest.raises(exception.InvalidInput, match=fixtures.NODE):
        network_data.render(fixtures.allocation(), [])


BOND_VLAN = fixtures.BOND_VLAN


def test_merge_keeps_links():
    assert network_data.needs_merge(BOND_VLAN)
    before = copy.deepcopy(BOND_VLAN)
    doc = network_data.merge(BOND_VLAN, fixtures.allocation())
    assert BOND_VLAN == before                  # input untouched
    network_data.validate(doc)
    assert doc['links'] == BOND_VLAN['links']
    [net] = doc['networks']
    assert net['link'] == 'vlan100'
    assert net['network_id'] == 'tenant'
    assert net['ip_address'] == '192.168.100.10'
    assert net['netmask'] == '255.255.255.0'
    assert net['routes'][0]['gateway'] == '192.168.100.1'
    assert [s['address'] for s in doc['services']] == \
        ['192.168.100.2', '192.168.100.3']


def test_merge_keeps_operator_routes_and_dns():
    template = copy.deepcopy(BOND_VLAN)
    route = {'network': '0.0.0.0', 'netmask': '0.0.0.0',
             'gateway': '192.168.100.99'}
    template['networks'][0]['routes'] = [route]
    template['services'] = [{'type': 'dns', 'address': '1.1.1.1'}]
    doc = network_data.merge(template, fixtures.allocation())
    assert doc['networks'][0]['routes'] == [route]
    assert doc['services'] == [{'type': 'dns', 'address': '1.1.1.1'}]


def test_merge_without_fitting_network():
    template = copy.deepcopy(BOND_VLAN)
    template['networks'][0]['type'] = 'ipv6'
    with pytest.raises(exception.InvalidInput, match='IPv4'):
        network_data.merge(template, fixtures.allocation())


def test_verbatim_document_needs_no_merge():
    doc = copy.deepcopy(BOND_VLAN)
    doc['networks'][0]['ip_address'] = '10.1.1.1'
    doc['networks'][0]['netmask'] = '255.255.255.0'
    assert not network_data.needs_merge(doc)
    dhcp = copy.deepcopy(BOND_VLAN)
    dhcp['networks'][0]['type'] = 'ipv4_dhcp'
    assert not network_data.needs_merge(dhcp)
    assert not network_data.needs_merge({})
    assert not network_data.needs_merge(None)


@pytest.mark.parametrize('doc, where', [
    ({'links': [], 'networks': []}, '<top>'),
    ({'links': [{'id': 'x', 'type': 'phy',
                 'ethernet_mac_address': 'nope'}],
      'networks': [], 'services': []}, 'links/0'),
    ([], None),
])
def test_validate_rejects(doc, where):
    with pytest.raises(exception.InvalidInput) as e:
        network_data.validate(doc)
    if where:
        assert where in str(e.value)


def test_schema_is_ironics():
    assert network_data.default_schema_path().endswith(
        'ironic/api/controllers/v1/network-data-schema.json')


def _variants():
    """Documents valid and not, each a small change of a rendered one."""
    pool = dataclasses.replace(fixtures.POOL4, vlan_id=42)
    base = network_data.render(fixtures.allocation(pool=pool), LINKS)
    yield base
    for path, value in [(('links', 0, 'ethernet_mac_address'), 'nope'),
                        (('links', 0, 'mtu'), 70000),
                        (('links', 2, 'vlan_id'), 'x'),
                        (('networks', 0, 'ip_address'), '10.1.1.300'),
                        (('networks', 0, 'netmask'), '255.0.255.0'),
                        (('networks', 0, 'type'), 'ipv9'),
                        (('networks', 0, 'routes', 0, 'gateway'), 'gw'),
                        (('services', 0, 'type'), 'ntp'),
                        (('services',), 'none')]:
        doc = copy.deepcopy(base)
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        yield doc
    missing = copy.deepcopy(base)
    del missing['networks'][0]['link']
    yield missing


def test_inlined_schema_judges_like_ironics():
    """Inlined references judge like Ironic's schema, errors included."""
    import jsonschema

    schema = network_data.load_schema()
    original = jsonschema.validators.validator_for(schema)(schema)
    inlined = network_data._validator(None)
    assert '$ref' not in str(inlined.schema)
    results = []
    for doc in _variants():
        ours = jsonschema.exceptions.best_match(inlined.iter_errors(doc))
        theirs = jsonschema.exceptions.best_match(original.iter_errors(doc))
        assert (ours is None) == (theirs is None), doc
        if ours is not None:
            assert list(ours.absolute_path) == list(theirs.absolute_path)
        results.append(ours is None)
    assert results[0] and not any(results[1:])


def test_a_valid_document_is_checked_once(monkeypatch):
    doc = network_data.render(fixtures.allocation(), LINKS)
    doc['networks'][0]['id'] = 'checked-once'      # not seen before
    calls = []
    validator = network_data._validator(None)

    def counting(path):
        calls.append(path)
        return validator
    monkeypatch.setattr(network_data, '_validator', counting)
    network_data.validate(doc)
    network_data.validate(copy.deepcopy(doc))
    assert calls == [None]
    bad = copy.deepcopy(doc)
    bad['links'][0]['ethernet_mac_address'] = 'nope'
    for _ in range(2):                  # an invalid one, every time
        with pytest.raises(exception.InvalidInput):
            network_data.validate(bad)
    assert calls == [None] * 3
