"""Dual-stack pool selection: at most one pool of each IP version (pure)."""

import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import node
from vmetal_ironic.ipam import pools
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import selection

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


def config(default=None, **extra):
    specs = [pools.parse_pool('a4', {'cidr': '10.0.0.1/24',
                                     'resource_classes': ['dual']}),
             pools.parse_pool('a6', {'cidr': 'fd00:a::1/64',
                                     'resource_classes': ['dual', 'six']}),
             pools.parse_pool('b4', {'cidr': '10.1.0.1/24',
                                     'resource_classes': ['four']}),
             pools.parse_pool('b6', {'cidr': 'fd00:b::1/64'})]
    return pools.validate_pools(specs, default)


def names(cfg, **facts):
    facts.setdefault('uuid', NODE)
    return [p.name for p in selection.select_all(cfg, node.NodeFacts(**facts))]


def test_resource_class_listed_by_one_pool_of_each_version():
    cfg = config()
    assert names(cfg, resource_class='dual') == ['a4', 'a6']
    assert names(cfg, resource_class='six') == ['a6']
    assert names(cfg, resource_class='four') == ['b4']
    # the first pool is what select_pool has always answered
    assert selection.select_pool(cfg, NODE, resource_class='dual').name \
        == 'a4'


def test_two_pools_of_one_version_may_not_list_a_class():
    specs = [pools.parse_pool('x', {'cidr': 'fd00:1::1/64',
                                    'resource_classes': ['rc']}),
             pools.parse_pool('y', {'cidr': 'fd00:2::1/64',
                                    'resource_classes': ['rc']})]
    with pytest.raises(exception.PoolConfigError,
                       match='already served by pool "x"'):
        pools.validate_pools(specs, None)


def test_default_pools_one_of_each_version():
    cfg = config(['b6', 'b4'])
    assert cfg.default_pool == 'b6'
    assert names(cfg) == ['b4', 'b6']
    assert names(config('b4')) == ['b4']
    with pytest.raises(exception.ConfigError, match='two IPv4 pools'):
        config(['a4', 'b4'])
    with pytest.raises(exception.ConfigError, match='"nope" is not one'):
        config(['a4', 'nope'])


def test_explicit_names_win_as_a_whole():
    cfg = config(['b4', 'b6'])
    # an IPv4 pool named: no IPv6 pool from the resource class or default
    assert names(cfg, resource_class='dual',
                 instance_info={node.POOL_KEY: 'b4'}) == ['b4']
    assert names(cfg, resource_class='dual',
                 driver_info={node.POOL_KEY: ' b6 , b4 '}) == ['b4', 'b6']
    # instance_info wins over properties, as a whole
    assert names(cfg, instance_info={node.POOL_KEY: 'a6'},
                 properties={node.POOL_KEY: 'a4,a6'}) == ['a6']


@pytest.mark.parametrize('value, words', [
    ('a4,b4', 'names two IPv4 pools'),
    ('a6,b6', 'names two IPv6 pools'),
    ('a4,zz', '"zz", which is not a pool'),
    (' , ', 'names no pool'),
])
def test_bad_explicit_names(value, words):
    with pytest.raises(exception.NoPoolForNode, match=words):
        names(config(), instance_info={node.POOL_KEY: value})


def _alloc(name, version, address):
    cidr = '10.0.0.0/24' if version == 4 else 'fd00::/64'
    pool = records.Pool(name=name, version=version, cidr=cidr, prefixlen=24,
                        netmask='x', gateway=None)
    return records.Allocation(pool=pool, node_uuid=NODE, address=address)


def test_in_place_needs_one_reservation_per_family():
    a4, a6 = _alloc('a4', 4, '10.0.0.5'), _alloc('a6', 6, 'fd00::5')
    facts = node.NodeFacts(uuid=NODE,
                           ports=(node.PxePort('52:54:00:00:00:01'),))
    r4 = records.Reservation(mac='52:54:00:00:00:01', node_uuid=NODE,
                             pool='a4', address='10.0.0.5')
    r6 = records.Reservation(mac='52:54:00:00:00:01', node_uuid=NODE,
                             pool='a6', address='fd00::5', ip_version=6)
    assert node.in_place(facts, [a4, a6], [r4, r6])
    assert node.in_place(facts, a4, [r4])
    assert not node.in_place(facts, [a4, a6], [r4])
    assert not node.in_place(facts, a4, [r4, r6])
    assert not node.in_place(facts, [a4, a6], [r4, r4])
    assert node.first_per_version([a6, _alloc('x6', 6, 'fd00::9'), a4]) == [
        a4, a6]
    network = node.NodeNetwork(a4)
    assert network.allocations == (a4,)
