"""NTP servers of a pool.

Parsed, recorded, served as DHCP option 42 and written for the deployed OS
as cloud-init vendor data.
"""

import dataclasses

import pytest
import yaml

from vmetal_ironic.agent.dhcp import codec
from vmetal_ironic.agent.dhcp import options
from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources import ipam_hosts
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic import exception
from vmetal_ironic.ipam import pools
from vmetal_ironic.ipam import recorded
from vmetal_ironic.ipam import records
from vmetal_ironic.network import configdrive

from tests.fixtures import network as fixtures

SID = bytes([172, 22, 0, 2])
NODE = '00000000-0000-4000-8000-000000000001'


def _pool(**values):
    values.setdefault('cidr', '172.22.0.1/24')
    return pools.parse_pool('prov', values)


def test_pool_parses_and_records_ntp_servers():
    spec = _pool(ntp_servers=['172.22.0.123', ' 10.0.0.123 ', ''])
    assert spec.ntp_servers == ('172.22.0.123', '10.0.0.123')
    assert spec.record().ntp_servers == ('172.22.0.123', '10.0.0.123')
    assert spec.record().to_dict()['ntp_servers'] == ['172.22.0.123',
                                                      '10.0.0.123']
    values = recorded.values_of(spec)
    assert values['ntp_servers'] == ['172.22.0.123', '10.0.0.123']
    # What is recorded parses back to the same pool.
    assert recorded.spec_of('prov', values).ntp_servers == spec.ntp_servers


@pytest.mark.parametrize('server, words', [
    ('ntp.example', 'not an IP address'),
    ('2001:db8::123', 'an IPv6 address for an IPv4 pool'),
])
def test_bad_ntp_server_names_pool_and_option(server, words):
    with pytest.raises(exception.PoolConfigError) as info:
        _pool(ntp_servers=[server])
    assert 'option ntp_servers' in str(info.value)
    assert words in str(info.value)


def test_ntp_change_is_drift():
    spec = _pool(ntp_servers=['172.22.0.123'])
    config = pools.validate_pools([spec], None)
    before = recorded.values_of(_pool())
    drift = recorded.drift(config, {'prov': before})
    assert [(d.field, d.configured, d.recorded) for d in drift] == [
        ('ntp_servers', ['172.22.0.123'], [])]


def _net(ntp):
    return reservations.Network(24, SID, (), None, 600, None, (), None,
                                ntp)


def test_option_42_sent_when_asked_for():
    net = _net((bytes([172, 22, 0, 123]), bytes([10, 0, 0, 123])))
    everything = options.encode(SID, net, None, None, True)
    assert codec.opt(42, bytes([172, 22, 0, 123, 10, 0, 0, 123])) \
        in everything
    asked = options.encode(SID, net, None, bytes([1, 3, 42]), True)
    assert codec.opt(42, bytes([172, 22, 0, 123, 10, 0, 0, 123])) in asked
    not_asked = options.encode(SID, net, None, bytes([1, 3, 6]), True)
    assert not [p for p in not_asked if p[0] == 42]
    none = options.encode(SID, _net(()), None, None, True)
    assert not [p for p in none if p[0] == 42]


def test_ntp_is_part_of_the_interned_network():
    interner = reservations.Interner()
    a = interner.network(_net((bytes([10, 0, 0, 1]),)))
    b = interner.network(_net((bytes([10, 0, 0, 1]),)))
    c = interner.network(_net((bytes([10, 0, 0, 2]),)))
    assert a is b and a is not c


def test_file_source_field():
    host = hostspec.merge({'prefix': 24, 'ntp_servers': '10.0.0.1, 10.0.0.2'},
                          {'mac': '52:54:00:00:00:01', 'ip': '10.0.0.50'})
    assert 'ntp_servers' in hostspec.ALL_FIELDS
    net = hostspec.network(host, bytes([10, 0, 0, 50]), 600,
                           reservations.Interner())
    assert net.ntp == (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    with pytest.raises(hostspec.HostSpecError, match='ntp_servers'):
        hostspec.network(dict(host, ntp_servers=['ntp.example']),
                         bytes([10, 0, 0, 50]), 600,
                         reservations.Interner())


def test_ipam_source_compiles_pool_ntp():
    pool = dataclasses.replace(_pool().record(),
                               ntp_servers=('172.22.0.123',))
    res = records.Reservation(mac='52:54:00:00:00:01', node_uuid=NODE,
                              pool=pool.name, address='172.22.0.50')
    host = ipam_hosts.make_host(res, pool, BootProfile(), 600, {},
                                reservations.Interner())
    assert host.net.ntp == (bytes([172, 22, 0, 123]),)


def test_vendor_data_for_cloud_init():
    assert configdrive.ntp_vendor_data(()) is None
    vendor = configdrive.ntp_vendor_data(('10.0.0.1', '10.0.0.2'))
    text = vendor['cloud-init']
    assert text.startswith('#cloud-config\n')
    assert yaml.safe_load(text) == {
        'ntp': {'enabled': True, 'servers': ['10.0.0.1', '10.0.0.2']}}


def test_configdrive_gets_vendor_data_unless_the_user_has_some():
    nd = {'links': [], 'networks': [], 'services': []}
    vendor = configdrive.ntp_vendor_data(('10.0.0.1',))
    value, action = configdrive.with_network_data(None, nd, fixtures.NODE,
                                                  vendor_data=vendor)
    assert action == configdrive.CREATED
    assert value['vendor_data'] == vendor
    value, action = configdrive.with_network_data(
        {'user_data': 'x'}, nd, fixtures.NODE, vendor_data=vendor)
    assert action == configdrive.ADDED
    assert value == {'user_data': 'x', 'network_data': nd,
                     'vendor_data': vendor}
    users = {'network_data': nd, 'vendor_data': {'mine': 1}}
    value, action = configdrive.with_network_data(
        users, nd, fixtures.NODE, vendor_data=vendor)
    assert (value, action) == (users, configdrive.UNCHANGED)
    # network_data the user's, vendor data missing: only that is added.
    value, action = configdrive.with_network_data(
        {'network_data': {'links': [1]}}, nd, fixtures.NODE,
        vendor_data=vendor)
    assert action == configdrive.ADDED
    assert value == {'network_data': {'links': [1]}, 'vendor_data': vendor}
