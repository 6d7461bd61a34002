"""Who owns node.network_data, and tear-down restore."""

import copy

from ironic import objects
import pytest

from vmetal_ironic import exception
from vmetal_ironic.network import configdrive
from vmetal_ironic.network import netdata_state
from vmetal_ironic.network import network_data

from tests.fixtures import network as fixtures

LINKS = [('port-a', '52:54:00:aa:00:01')]

objects.register_all()


def _node(network_data=None, instance_info=None, extra=None):
    return objects.Node(uuid=fixtures.NODE, name='node-1',
                        network_data=network_data or {},
                        driver_internal_info={},
                        instance_info=instance_info or {},
                        extra=extra or {})


def test_generated_then_restored():
    node = _node()
    assert netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert node.network_data['networks'][0]['ip_address'] == \
        '192.168.100.10'
    assert netdata_state.is_ours(node)
    record = node.driver_internal_info[netdata_state.KEY]
    assert record['mode'] == netdata_state.GENERATED
    # Idempotent.
    assert not netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert netdata_state.restore(node)
    assert node.network_data == {}
    assert netdata_state.KEY not in node.driver_internal_info


def test_template_merged_then_template_restored():
    template = copy.deepcopy(fixtures.BOND_VLAN)
    node = _node(network_data=template)
    assert netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert node.network_data['links'] == template['links']
    assert node.network_data['networks'][0]['ip_address'] == \
        '192.168.100.10'
    assert netdata_state.is_ours(node)
    # A later allocation merges into the template again, not the result.
    assert netdata_state.apply(
        node, fixtures.allocation(address='192.168.100.11'), LINKS)
    assert node.network_data['networks'][0]['ip_address'] == \
        '192.168.100.11'
    assert netdata_state.restore(node)
    assert node.network_data == template


def test_operator_document_verbatim():
    doc = copy.deepcopy(fixtures.BOND_VLAN)
    doc['networks'][0].update(ip_address='10.5.5.5',
                              netmask='255.255.255.0')
    node = _node(network_data=doc)
    netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert node.network_data == doc
    assert not netdata_state.is_ours(node)
    assert netdata_state.restore(node)
    assert node.network_data == doc


def test_operator_edit_after_generation_wins():
    node = _node()
    netdata_state.apply(node, fixtures.allocation(), LINKS)
    edited = copy.deepcopy(node.network_data)
    edited['networks'][0]['ip_address'] = '192.168.100.77'
    node.network_data = edited
    assert not netdata_state.is_ours(node)
    netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert node.network_data == edited
    netdata_state.restore(node)
    assert node.network_data == edited


def test_bad_template_rejected():
    template = copy.deepcopy(fixtures.BOND_VLAN)
    template['networks'][0]['type'] = 'ipv6'
    node = _node(network_data=template)
    with pytest.raises(Exception, match='IPv4'):
        netdata_state.apply(node, fixtures.allocation(), LINKS)


def test_configdrive_injected():
    node = _node()
    netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert netdata_state.inject_configdrive(node)
    cd = node.instance_info['configdrive']
    assert cd['network_data'] == node.network_data
    assert cd['meta_data']['uuid'] == fixtures.NODE
    network_data.validate(cd['network_data'])
    assert not netdata_state.inject_configdrive(node)


def test_configdrive_url_untouched():
    node = _node(instance_info={'configdrive': 'http://x/cd'})
    netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert not netdata_state.inject_configdrive(node)
    assert node.instance_info['configdrive'] == 'http://x/cd'
    assert configdrive.SKIPPED


V2_TEMPLATE = """
version: 2
ethernets:
  eth0: {match: {macaddress: "52:54:00:aa:00:01"}}
  eth1: {match: {macaddress: "52:54:00:aa:00:02"}}
bonds:
  bond0:
    interfaces: [eth0, eth1]
    parameters: {mode: active-backup, primary: eth0}
"""


def test_v2_template_merged_then_removed():
    node = _node(extra={'vmetal_network_config': V2_TEMPLATE})
    assert netdata_state.apply(node, fixtures.allocation(), LINKS)
    record = node.driver_internal_info[netdata_state.KEY]
    assert record['mode'] == netdata_state.MERGED
    assert record['source'] == netdata_state.NETWORK_CONFIG
    doc = node.network_data
    assert [link['type'] for link in doc['links']] == ['phy', 'phy', 'bond']
    assert doc['links'][2]['bond_primary'] == 'eth0'
    net = doc['networks'][0]
    assert (net['link'], net['ip_address']) == ('bond0', '192.168.100.10')
    assert not netdata_state.apply(node, fixtures.allocation(), LINKS)
    # The v2 document stays in extra; node.network_data goes back to empty
    # (putting the converted template there would make it the operator's).
    assert netdata_state.restore(node)
    assert node.network_data == {}
    assert node.extra['vmetal_network_config'] == V2_TEMPLATE


def test_v2_with_every_address_is_converted_verbatim():
    config = {'version': 2, 'ethernets': {'eth0': {
        'match': {'macaddress': '52:54:00:aa:00:01'},
        'addresses': ['10.1.0.5/24'], 'gateway4': '10.1.0.1'}}}
    node = _node(extra={'vmetal_network_config': config})
    assert netdata_state.apply(node, fixtures.allocation(), LINKS)
    record = node.driver_internal_info[netdata_state.KEY]
    assert record['mode'] == netdata_state.CONVERTED
    assert node.network_data['networks'][0]['ip_address'] == '10.1.0.5'
    assert netdata_state.is_ours(node)
    assert netdata_state.restore(node)
    assert node.network_data == {}


def test_v2_and_network_data_together_rejected():
    node = _node(network_data=copy.deepcopy(fixtures.BOND_VLAN),
                 extra={'vmetal_network_config': V2_TEMPLATE})
    with pytest.raises(exception.InvalidInput, match='both'):
        netdata_state.apply(node, fixtures.allocation(), LINKS)


def test_v2_error_names_the_key():
    node = _node(extra={'vmetal_network_config': {
        'version': 2, 'ethernets': {'eth0': {'match': {'name': 'e*'}}}}})
    with pytest.raises(exception.InvalidInput,
                       match='ethernets.eth0.match.name'):
        netdata_state.apply(node, fixtures.allocation(), LINKS)


def test_configdrive_carries_ntp_vendor_data():
    node = _node()
    netdata_state.apply(node, fixtures.allocation(), LINKS)
    assert netdata_state.inject_configdrive(node, ('192.168.100.123',))
    drive = node.instance_info['configdrive']
    assert drive['network_data'] == node.network_data
    assert '192.168.100.123' in drive['vendor_data']['cloud-init']
