import netaddr
import pytest

from tests import confutils
from vmetal_ironic import exception
from vmetal_ironic.ipam import pools
from vmetal_ironic.ipam import selection


def parse(**values):
    values.setdefault('cidr', '192.168.100.1/24')
    return pools.parse_pool('compute', values)


def test_gateway_cidr_shorthand():
    pool = parse(cidr='192.168.100.1/24')
    assert str(pool.network) == '192.168.100.0/24'
    assert str(pool.gateway) == '192.168.100.1'
    # 256 - network - broadcast - gateway
    assert pool.space.size == 253
    for reserved in ('192.168.100.0', '192.168.100.1', '192.168.100.255'):
        assert int(netaddr.IPAddress(reserved)) not in pool.space


def test_network_address_and_gateway_option():
    pool = parse(cidr='10.1.0.0/16', gateway='10.1.255.254')
    assert str(pool.gateway) == '10.1.255.254'
    assert pool.space.size == 65536 - 3


def test_network_without_gateway():
    pool = parse(cidr='10.1.0.0/24')
    assert pool.gateway is None
    assert pool.record().gateway is None
    assert pool.space.size == 254


def test_issue_example_ranges_and_exclusions():
    pool = parse(ranges=['192.168.100.10-192.168.100.200',
                         '192.168.100.224/28'],
                 exclude=['192.168.100.50', '192.168.100.60-192.168.100.69'],
                 dns_servers=['192.168.100.2', '192.168.100.3'],
                 resource_classes=['baremetal-compute', 'gpu'], mtu=9000,
                 routes=['10.0.0.0/8 via 192.168.100.254'])
    assert pool.space.size == 191 - 1 - 10 + 16
    record = pool.record()
    assert record.netmask == '255.255.255.0'
    assert record.dns_servers == ('192.168.100.2', '192.168.100.3')
    assert record.routes[0].to_dict() == {'destination': '10.0.0.0/8',
                                          'gateway': '192.168.100.254'}
    assert record.mtu == 9000
    assert record.resource_classes == ('baremetal-compute', 'gpu')
    addresses = {str(netaddr.IPAddress(pool.space.address_at(i)))
                 for i in range(pool.space.size)}
    assert '192.168.100.50' not in addresses
    assert '192.168.100.65' not in addresses
    assert '192.168.100.239' in addresses


def test_range_that_covers_gateway_skips_it():
    pool = parse(ranges=['192.168.100.0-192.168.100.5'])
    first = netaddr.IPAddress(pool.space.address_at(0))
    assert str(first) == '192.168.100.2'
    assert pool.space.size == 4


def test_ipv6_slash64_is_not_enumerated():
    pool = pools.parse_pool('v6', {'cidr': '2001:db8::1/64',
                                   'dns_servers': ['2001:db8::53']})
    assert pool.version == 6
    assert pool.space.size == 2 ** 64 - 2
    assert pool.record().netmask == '64'
    assert str(netaddr.IPAddress(pool.space.address_at(0), 6)) == \
        '2001:db8::2'


@pytest.mark.parametrize('values, option, words', [
    ({'cidr': 'nonsense'}, 'cidr', 'not a CIDR'),
    ({'cidr': '192.168.100.1'}, 'cidr', 'prefix length'),
    ({'cidr': '192.168.100.0/24', 'gateway': '192.168.101.1'}, 'gateway',
     'outside the network'),
    ({'cidr': '192.168.100.1/24', 'gateway': '192.168.100.2'}, 'gateway',
     'already names gateway'),
    ({'cidr': '192.168.100.0/24', 'gateway': '192.168.100.255'}, 'gateway',
     'broadcast'),
    ({'gateway': 'x'}, 'gateway', 'not an IP address'),
    ({'ranges': ['192.168.100.20-192.168.100.10']}, 'ranges', 'reversed'),
    ({'ranges': ['192.168.100.10-192.168.101.10']}, 'ranges',
     'outside the network'),
    ({'ranges': ['10.0.0.0/28']}, 'ranges', 'outside the network'),
    ({'ranges': ['192.168.100.5/28']}, 'ranges', 'network address'),
    ({'ranges': ['192.168.100.10-192.168.100.20',
                 '192.168.100.15-192.168.100.30']}, 'ranges', 'overlap'),
    ({'ranges': ['bogus']}, 'ranges', 'not an address'),
    ({'ranges': ['192.168.100.10-2001:db8::1']}, 'ranges', 'mixes'),
    ({'ranges': ['192.168.100.10-192.168.100.20'],
      'exclude': ['192.168.100.30']}, 'exclude', 'outside every range'),
    ({'exclude': ['192.168.100.0/24']}, 'ranges', 'no address is left'),
    ({'dns_servers': ['dns.example']}, 'dns_servers', 'not an IP'),
    ({'routes': ['10.0.0.0/8 192.168.100.254']}, 'routes', 'via'),
    ({'routes': ['10.0.0.0/8 via 10.9.9.9']}, 'routes', 'not on the network'),
    ({'routes': ['garbage/99 via 192.168.100.254']}, 'routes',
     'not a CIDR'),
    ({'routes': ['2001:db8::/32 via 192.168.100.254']}, 'routes',
     'IP version'),
    ({'resource_classes': ['a', 'a']}, 'resource_classes', 'twice'),
    ({'cidr': ''}, 'cidr', 'required'),
])
def test_bad_pool_values(values, option, words):
    with pytest.raises(exception.PoolConfigError) as info:
        parse(**values)
    message = str(info.value)
    assert 'pool "compute"' in message
    assert 'option %s' % option in message
    assert words in message


def test_bad_pool_name():
    with pytest.raises(exception.PoolConfigError) as info:
        pools.parse_pool('bad name', {'cidr': '10.0.0.1/24'})
    assert 'bad name' in str(info.value)


def _two(a, b, default=None):
    return pools.validate_pools(
        [pools.parse_pool('a', a), pools.parse_pool('b', b)], default)


def test_overlapping_networks_rejected():
    with pytest.raises(exception.PoolConfigError) as info:
        _two({'cidr': '10.0.0.1/16'}, {'cidr': '10.0.5.1/24'})
    assert 'pool "b"' in str(info.value)
    assert 'overlaps the network 10.0.0.0/16 of pool "a"' in str(info.value)


def test_same_network_disjoint_ranges_allowed():
    config = _two({'cidr': '10.0.0.1/24', 'ranges': ['10.0.0.10-10.0.0.99']},
                  {'cidr': '10.0.0.1/24', 'ranges': ['10.0.0.100-10.0.0.199']})
    assert [p.name for p in config.pools] == ['a', 'b']


def test_same_network_overlapping_ranges_rejected():
    with pytest.raises(exception.PoolConfigError) as info:
        _two({'cidr': '10.0.0.1/24', 'ranges': ['10.0.0.10-10.0.0.99']},
             {'cidr': '10.0.0.1/24', 'ranges': ['10.0.0.90-10.0.0.199']})
    assert 'at 10.0.0.90' in str(info.value)


def test_resource_class_claimed_twice():
    with pytest.raises(exception.PoolConfigError) as info:
        _two({'cidr': '10.0.0.1/24', 'resource_classes': ['gpu']},
             {'cidr': '10.1.0.1/24', 'resource_classes': ['gpu']})
    assert 'already served by pool "a"' in str(info.value)


def test_unknown_default_pool():
    with pytest.raises(exception.ConfigError) as info:
        _two({'cidr': '10.0.0.1/24'}, {'cidr': '10.1.0.1/24'}, 'c')
    assert '"c"' in str(info.value) and 'a, b' in str(info.value)


def test_duplicate_pool_listed():
    pool = pools.parse_pool('a', {'cidr': '10.0.0.1/24'})
    with pytest.raises(exception.PoolConfigError) as info:
        pools.validate_pools([pool, pool], None)
    assert 'listed twice' in str(info.value)


CONFIG = """
[vmetal_ipam]
pools = compute, storage
default_pool = compute

[vmetal_pool:compute]
cidr = 192.168.100.1/24
resource_classes = baremetal-compute, gpu

[vmetal_pool:storage]
cidr = 192.168.200.1/24
resource_classes = storage
"""


def test_load_pools_from_file(tmp_path):
    conf = confutils.conf_from_text(CONFIG, tmp_path)
    config = pools.load_pools(conf)
    assert [p.name for p in config.pools] == ['compute', 'storage']
    assert config.default_pool == 'compute'


def test_load_pools_missing_section(tmp_path):
    conf = confutils.conf_from_text(
        '[vmetal_ipam]\npools = compute, ghost\n'
        '[vmetal_pool:compute]\ncidr = 10.0.0.1/24\n', tmp_path)
    with pytest.raises(exception.PoolConfigError) as info:
        pools.load_pools(conf)
    assert 'pool "ghost"' in str(info.value)
    assert '[vmetal_pool:ghost]' in str(info.value)


def test_load_pools_bad_integer(tmp_path):
    conf = confutils.conf_from_text(
        '[vmetal_ipam]\npools = compute\n'
        '[vmetal_pool:compute]\ncidr = 10.0.0.1/24\nmtu = big\n', tmp_path)
    with pytest.raises(exception.PoolConfigError) as info:
        pools.load_pools(conf)
    assert 'option mtu' in str(info.value)


@pytest.fixture
def config(tmp_path):
    return pools.load_pools(confutils.conf_from_text(CONFIG, tmp_path))


def test_select_pool_order(config):
    select = selection.select_pool
    assert select(config, 'n', instance_info={'vmetal_pool': 'storage'},
                  properties={'vmetal_pool': 'compute'}).name == 'storage'
    assert select(config, 'n', properties={'vmetal_pool': 'storage'},
                  resource_class='gpu').name == 'storage'
    assert select(config, 'n', driver_info={'vmetal_pool': 'storage'}
                  ).name == 'storage'
    assert select(config, 'n', resource_class='storage').name == 'storage'
    assert select(config, 'n', resource_class='gpu').name == 'compute'
    assert select(config, 'n', resource_class='other').name == 'compute'


def test_select_pool_unknown_explicit(config):
    with pytest.raises(exception.NoPoolForNode) as info:
        selection.select_pool(config, 'node-1',
                              instance_info={'vmetal_pool': 'nope'})
    assert 'node-1' in str(info.value)
    assert 'instance_info/vmetal_pool names "nope"' in str(info.value)


def test_select_pool_no_match(tmp_path):
    conf = confutils.conf_from_text(
        '[vmetal_ipam]\npools = a\n[vmetal_pool:a]\ncidr = 10.0.0.1/24\n'
        'resource_classes = x\n', tmp_path)
    config = pools.load_pools(conf)
    with pytest.raises(exception.NoPoolForNode) as info:
        selection.select_pool(config, 'node-2', resource_class='y')
    assert 'node-2' in str(info.value) and '"y"' in str(info.value)


def test_check_pinnable(config):
    pool = config.get('compute')
    pool.check_pinnable(netaddr.IPAddress('192.168.100.77'))
    for bad in ('192.168.100.0', '192.168.100.1', '192.168.100.255',
                '10.0.0.1', '2001:db8::1'):
        with pytest.raises(exception.InvalidAddress):
            pool.check_pinnable(netaddr.IPAddress(bad))
