"""The discovery_range pool option: validated, never meets allocations."""

import netaddr
import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import pools
from vmetal_ironic.ipam import recorded


def parse(**values):
    values.setdefault('cidr', '192.168.100.1/24')
    values.setdefault('ranges', ['192.168.100.10-192.168.100.100'])
    return pools.parse_pool('compute', values)


def test_off_by_default():
    assert parse().discovery_range is None
    assert parse().discovery is None


@pytest.mark.parametrize('text,normal', [
    ('192.168.100.200-192.168.100.220',
     '192.168.100.200-192.168.100.220'),
    ('192.168.100.224/28', '192.168.100.224-192.168.100.239'),
    (' 192.168.100.201 ', '192.168.100.201-192.168.100.201'),
])
def test_valid(text, normal):
    pool = parse(discovery_range=text)
    assert pool.discovery_range == normal
    first, last = pool.discovery
    assert str(netaddr.IPAddress(first)) == normal.split('-')[0]
    # the allocator's space does not hold it
    assert all(a not in pool.space for a in range(first, last + 1))
    assert recorded.values_of(pool)['discovery_range'] == normal
    again = recorded.spec_of('compute', recorded.values_of(pool))
    assert again.discovery_range == normal


@pytest.mark.parametrize('values,words', [
    ({'discovery_range': '192.168.100.90-192.168.100.110'},
     'overlaps "ranges"'),
    ({'discovery_range': '192.168.101.1-192.168.101.9'},
     'outside the network'),
    ({'discovery_range': '192.168.100.250-192.168.100.255'},
     'broadcast'),
    ({'discovery_range': '192.168.100.0/29'}, 'network, broadcast or gate'),
    ({'discovery_range': '192.168.100.220-192.168.100.200'}, 'reversed'),
    ({'discovery_range': 'ten-twenty'}, 'not an address'),
    ({'discovery_range': '192.168.100.200-192.168.100.210', 'ranges': []},
     'set "ranges" too'),
    ({'cidr': 'fd00::1/64', 'ranges': ['fd00::10-fd00::20'],
      'discovery_range': 'fd00::100-fd00::110'}, 'IPv4 pool only'),
])
def test_invalid_names_the_option_and_value(values, words):
    with pytest.raises(exception.PoolConfigError) as e:
        parse(**values)
    msg = str(e.value)
    assert 'discovery_range' in msg and 'compute' in msg
    assert words in msg


def test_never_pinned():
    pool = parse(discovery_range='192.168.100.200-192.168.100.210')
    pool.check_pinnable(netaddr.IPAddress('192.168.100.150'))
    with pytest.raises(exception.InvalidAddress, match='discovery range'):
        pool.check_pinnable(netaddr.IPAddress('192.168.100.205'))


def test_other_pool_on_the_same_network_may_not_overlap_it():
    a = parse(discovery_range='192.168.100.200-192.168.100.210')
    b = pools.parse_pool('storage', {
        'cidr': '192.168.100.1/24',
        'ranges': ['192.168.100.205-192.168.100.230']})
    with pytest.raises(exception.PoolConfigError, match='overlaps'):
        pools.validate_pools([a, b], None)
    c = pools.parse_pool('storage', {
        'cidr': '192.168.100.1/24',
        'ranges': ['192.168.100.101-192.168.100.150'],
        'discovery_range': '192.168.100.209-192.168.100.212'})
    with pytest.raises(exception.PoolConfigError, match='overlaps'):
        pools.validate_pools([a, c], None)
