"""The agent's metric definitions and the one-line counting helpers."""

import math

import prometheus_client as prom
import pytest

from vmetal_ironic.agent import metrics


def value(name, **labels):
    v = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if v is None else v


def exposed_names():
    return {family.name for family in metrics.REGISTRY.collect()}


def test_no_created_series():
    text = prom.generate_latest(metrics.REGISTRY).decode()
    assert '_created' not in text


def test_names_follow_kea_statistics():
    names = exposed_names()
    for name in ('vmetal_dhcp4_packets_received', 'vmetal_dhcp4_packets_sent',
                 'vmetal_dhcp4_parse_failed', 'vmetal_dhcp4_packets_dropped',
                 'vmetal_dhcp4_reservations', 'vmetal_reservation_generation',
                 'vmetal_reservation_sync_age_seconds',
                 'vmetal_reservation_snapshot_age_seconds',
                 'vmetal_reservation_source_loaded',
                 'vmetal_tftp_transfers', 'vmetal_tftp_bytes_sent',
                 'vmetal_tftp_errors', 'vmetal_http_proxy_requests',
                 'vmetal_http_proxy_response_bytes',
                 'vmetal_callback_forwards'):
        assert name in names


def test_every_type_and_reason_is_exposed_from_the_start():
    for t in ('discover', 'request', 'decline', 'release', 'inform',
              'unknown'):
        assert metrics.REGISTRY.get_sample_value(
            'vmetal_dhcp4_packets_received_total', {'type': t}) is not None
    for t in ('offer', 'ack', 'nak'):
        assert metrics.REGISTRY.get_sample_value(
            'vmetal_dhcp4_packets_sent_total', {'type': t}) is not None
    for r in ('unknown_mac', 'wrong_interface', 'relay_not_allowed',
              'rate_limited'):
        assert metrics.REGISTRY.get_sample_value(
            'vmetal_dhcp4_packets_dropped_total', {'reason': r}) is not None


def test_received_and_sent_by_message_type():
    before = value('vmetal_dhcp4_packets_received_total', type='discover')
    unknown = value('vmetal_dhcp4_packets_received_total', type='unknown')
    metrics.received(1)
    metrics.received(99)
    metrics.sent(2)
    assert value('vmetal_dhcp4_packets_received_total',
                 type='discover') == before + 1
    assert value('vmetal_dhcp4_packets_received_total',
                 type='unknown') == unknown + 1
    assert value('vmetal_dhcp4_packets_sent_total', type='offer') >= 1


def test_drops_by_reason():
    before = value('vmetal_dhcp4_packets_dropped_total',
                   reason='relay_not_allowed')
    metrics.dropped(metrics.DROP_RELAY_NOT_ALLOWED)
    assert value('vmetal_dhcp4_packets_dropped_total',
                 reason='relay_not_allowed') == before + 1


def test_tftp_counts_bytes_of_completed_transfers_only():
    done = value('vmetal_tftp_transfers_total', outcome='completed')
    failed = value('vmetal_tftp_transfers_total', outcome='failed')
    sent = value('vmetal_tftp_bytes_sent_total')
    metrics.tftp_finished(True, 1000)
    metrics.tftp_finished(False, 5000)
    assert value('vmetal_tftp_transfers_total',
                 outcome='completed') == done + 1
    assert value('vmetal_tftp_transfers_total', outcome='failed') == failed + 1
    assert value('vmetal_tftp_bytes_sent_total') == sent + 1000


@pytest.mark.parametrize('route,status,outcome', [
    ('ramdisk', 200, 'forwarded'), ('ramdisk', 500, 'forwarded'),
    ('refused', 404, 'refused'), ('refused', 403, 'refused'),
    ('refused', 502, 'failed'), ('refused', 504, 'failed')])
def test_callback_listener_answers_are_forwards(route, status, outcome):
    before = value('vmetal_callback_forwards_total', outcome=outcome)
    proxy = value('vmetal_http_proxy_requests_total', route=route,
                  status=str(status))
    metrics.http_answered(metrics.CALLBACK_SERVER, route, status, 10)
    assert value('vmetal_callback_forwards_total',
                 outcome=outcome) == before + 1
    assert value('vmetal_http_proxy_requests_total', route=route,
                 status=str(status)) == proxy


def test_proxy_requests_by_route_and_status_and_bytes():
    before = value('vmetal_http_proxy_requests_total', route='boot',
                   status='200')
    size = value('vmetal_http_proxy_response_bytes_total', route='boot')
    metrics.http_answered('http-proxy', 'boot', 200, 4096)
    metrics.http_answered('http-proxy', 'refused', 403)
    assert value('vmetal_http_proxy_requests_total', route='boot',
                 status='200') == before + 1
    assert value('vmetal_http_proxy_response_bytes_total',
                 route='boot') == size + 4096
    assert value('vmetal_http_proxy_requests_total', route='refused',
                 status='403') >= 1


def test_sync_age_generation_and_readiness():
    now = [100.0]
    ages = metrics._Ages(clock=lambda: now[0])
    assert math.isnan(ages.sync_age('x'))
    assert not ages.loaded(['x'])
    ages.synced('x')
    now[0] = 107.5
    assert ages.sync_age('x') == 7.5
    assert ages.loaded(['x']) and not ages.loaded(['x', 'y'])
    assert math.isnan(ages.snapshot_age())
    ages.snapshot_written()
    now[0] = 110.0
    assert ages.snapshot_age() == 0.0 + 2.5


def test_source_synced_sets_generation_and_loaded():
    metrics.source_synced('test-source', 42)
    assert value('vmetal_reservation_generation') == 42
    assert value('vmetal_reservation_source_loaded',
                 source='test-source') == 1
    age = value('vmetal_reservation_sync_age_seconds', source='test-source')
    assert 0 <= age < 60


def test_reservations_read_the_table_at_scrape():
    table = [1, 2, 3]
    metrics.watch_table(table)
    assert value('vmetal_dhcp4_reservations') == 3
    table.append(4)
    assert value('vmetal_dhcp4_reservations') == 4
