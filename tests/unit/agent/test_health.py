"""The metrics and health endpoint, its factory, and the pool gauges."""

import http.client
import math
from unittest import mock

import prometheus_client as prom
import pytest

from vmetal_ironic.agent import health
from vmetal_ironic.agent.http import callback
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import pool_stats
from vmetal_ironic import exception
from vmetal_ironic.ipam import records


def get(endpoint, path, method='GET'):
    conn = http.client.HTTPConnection(endpoint.address, endpoint.port,
                                      timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.getheader('Content-Type'), r.read()
    finally:
        conn.close()


@pytest.fixture
def endpoint():
    e = health.MetricsEndpoint('127.0.0.1', 0, ['unit-test-source'])
    e.start()
    yield e
    e.stop()


def test_metrics_in_prometheus_text_format(endpoint):
    assert endpoint.interface == 'lo'
    status, ctype, body = get(endpoint, '/metrics')
    assert status == 200
    assert ctype == prom.CONTENT_TYPE_LATEST
    assert b'vmetal_dhcp4_packets_received_total{type="discover"}' in body


def test_healthz_and_readyz_waits_for_the_sources(endpoint):
    assert get(endpoint, '/healthz')[0] == 200
    assert get(endpoint, '/readyz')[0] == 503
    metrics.source_synced('unit-test-source')
    assert get(endpoint, '/readyz')[0] == 200


def test_other_paths_and_methods(endpoint):
    assert get(endpoint, '/nope')[0] == 404
    assert get(endpoint, '/metrics', 'POST')[0] == 405
    status, _, body = get(endpoint, '/healthz', 'HEAD')
    assert (status, body) == (200, b'')


def test_start_refuses_an_address_of_no_local_device():
    e = health.MetricsEndpoint('192.0.2.77', 0, [])
    with pytest.raises(OSError):
        e.start()


@pytest.fixture
def conf(agent_conf):
    agent_conf.set_override('server_address', '172.22.0.2',
                            group='dhcp_agent')
    agent_conf.set_override('reservations_file', '/dev/null',
                            group='dhcp_agent')
    return agent_conf


def test_defaults(conf):
    g = conf.dhcp_agent
    assert (g.metrics_port, g.metrics_address, g.pool_stats_ttl) == (
        9180, None, 30.0)


def test_factory_off(conf):
    conf.set_override('metrics_port', 0, group='dhcp_agent')
    conf.set_override('metrics_address', '10.99.0.2', group='dhcp_agent')
    assert health.create_components(conf, None) == []


def test_factory_off_without_a_cluster_side_address(conf):
    assert health.create_components(conf, None) == []


def test_factory_off_without_a_route_toward_ironic(conf):
    conf.set_override('ironic_api_url', 'http://192.0.2.1:6385',
                      group='dhcp_agent')
    with mock.patch.object(callback.socket, 'getaddrinfo', autospec=True,
                           side_effect=OSError(101, 'unreachable')):
        assert health.create_components(conf, None) == []


def test_factory_uses_the_callback_address(conf):
    conf.set_override('callback_address', '10.99.0.2', group='dhcp_agent')
    [e] = health.create_components(conf, None)
    assert (e.address, e.port, e.sources) == ('10.99.0.2', 9180, ['file'])
    assert e.registry is metrics.REGISTRY


def test_factory_metrics_address_wins(conf):
    conf.set_override('callback_address', '10.99.0.2', group='dhcp_agent')
    conf.set_override('metrics_address', '10.99.0.3', group='dhcp_agent')
    conf.set_override('metrics_port', 9999, group='dhcp_agent')
    [e] = health.create_components(conf, None)
    assert (e.address, e.port) == ('10.99.0.3', 9999)


@pytest.mark.parametrize('address', ['172.22.0.2', '0.0.0.0'])
def test_factory_refuses_the_provisioning_side(conf, address):
    conf.set_override('metrics_address', address, group='dhcp_agent')
    with pytest.raises(exception.ConfigError) as e:
        health.create_components(conf, None)
    assert 'metrics_address' in str(e.value)


def test_factory_with_the_ipam_source_adds_the_pool_gauges(conf):
    conf.set_override('sources', ['ipam'], group='dhcp_agent')
    conf.set_override('metrics_address', '10.99.0.3', group='dhcp_agent')
    conf.set_override('pool_stats_ttl', 5.0, group='dhcp_agent')
    [e] = health.create_components(conf, [1, 2])
    assert e.sources == ['ipam']
    assert e.registry is not metrics.REGISTRY
    assert e.registry.get_sample_value('vmetal_dhcp4_reservations') == 2
    e.stop()                                # closes the feed


def pool(name, size):
    return records.Pool(name=name, version=4, cidr='10.0.0.0/24',
                        prefixlen=24, netmask='255.255.255.0', gateway=None,
                        dns_servers=(), mtu=None, routes=(), vlan_id=None,
                        domain=None, resource_classes=(), size=size,
                        generation=1)


class Feed:
    def __init__(self):
        self.usage = [records.PoolUsage(pool=pool('prov', 100), size=100,
                                        used=80, quarantined=7, held=3)]
        self.failures = {'exhausted': 2, 'no_pool': 0}
        self.error = None
        self.calls = 0

    def pool_usage(self):
        self.calls += 1
        if self.error:
            raise self.error
        return self.usage

    def allocation_failures(self):
        return self.failures


def collect(collector):
    registry = prom.CollectorRegistry()
    registry.register(collector)
    return registry


def test_pool_gauges_and_failures():
    feed = Feed()
    reg = collect(pool_stats.PoolStatsCollector(feed, 30))
    got = {n: reg.get_sample_value(n, {'pool': 'prov'}) for n in (
        'vmetal_ipam_pool_size', 'vmetal_ipam_pool_assigned',
        'vmetal_ipam_pool_quarantined', 'vmetal_ipam_pool_pinned',
        'vmetal_ipam_pool_free')}
    assert got == {'vmetal_ipam_pool_size': 100,
                   'vmetal_ipam_pool_assigned': 80,
                   'vmetal_ipam_pool_quarantined': 7,
                   'vmetal_ipam_pool_pinned': 3,
                   'vmetal_ipam_pool_free': 10}
    assert reg.get_sample_value('vmetal_ipam_allocation_failures_total',
                                {'reason': 'exhausted'}) == 2
    assert reg.get_sample_value('vmetal_ipam_allocation_failures_total',
                                {'reason': 'no_pool'}) == 0


def test_registering_reads_nothing():
    feed = Feed()
    collect(pool_stats.PoolStatsCollector(feed, 30))
    assert feed.calls == 0


def test_scrapes_within_the_ttl_read_the_database_once():
    now = [0.0]
    feed = Feed()
    c = pool_stats.PoolStatsCollector(feed, 30, clock=lambda: now[0])
    reg = collect(c)
    for _ in range(5):
        prom.generate_latest(reg)
    assert feed.calls == 1
    feed.usage = []
    now[0] = 29.0
    assert reg.get_sample_value('vmetal_ipam_pool_size',
                                {'pool': 'prov'}) == 100
    now[0] = 31.0
    assert reg.get_sample_value('vmetal_ipam_pool_size',
                                {'pool': 'prov'}) is None
    assert feed.calls == 2


def test_database_errors_serve_the_last_answer():
    now = [0.0]
    feed = Feed()
    c = pool_stats.PoolStatsCollector(feed, 10, clock=lambda: now[0])
    reg = collect(c)
    prom.generate_latest(reg)
    feed.error = exception.StoreError(reason='down')
    now[0] = 25.0
    assert reg.get_sample_value('vmetal_ipam_pool_assigned',
                                {'pool': 'prov'}) == 80
    assert reg.get_sample_value(
        'vmetal_ipam_pool_stats_age_seconds') == 25.0
    assert feed.calls == 2


def test_never_read_age_is_nan():
    feed = Feed()
    feed.error = exception.StoreError(reason='down')
    reg = collect(pool_stats.PoolStatsCollector(feed, 10))
    assert math.isnan(reg.get_sample_value(
        'vmetal_ipam_pool_stats_age_seconds'))
    assert reg.get_sample_value('vmetal_ipam_pool_size',
                                {'pool': 'prov'}) is None
