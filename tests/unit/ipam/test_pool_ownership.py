"""One owner of the pools: drift, reads, the feed, forget (SQLite)."""

import logging
from unittest import mock

import pytest
import sqlalchemy as sa

from tests import confutils
from tests.fixtures import ipam as pools_conf
from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.ipam import feed as feed_mod
from vmetal_ironic.ipam import pools as pools_mod
from vmetal_ironic.ipam import recorded

DRIFTED = pools_conf.POOLS.replace(
    'ranges = 192.168.100.10-192.168.100.20',
    'ranges = 192.168.100.30-192.168.100.40').replace(
    'pools = compute, storage', 'pools = compute')


def _pool_rows(database):
    with database.reader.connect() as connection:
        return connection.execute(sa.select(
            models.PoolRecord.name, models.PoolRecord.generation,
            models.PoolRecord.ranges)).all()


def test_drift_warned_once_and_db_pools_used(make_mgr, caplog):
    owner, database = make_mgr()
    rows = _pool_rows(database)
    other, _ = make_mgr(DRIFTED, sync=False, name='drifted.conf')
    with caplog.at_level(logging.WARNING):
        first = other.allocate('node-a')
        other.allocate('node-b')
    # The database's ranges, not this process's.
    assert first.address == '192.168.100.10'
    warnings = [r for r in caplog.records if 'differ' in r.getMessage()]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert 'pool compute: ranges' in text and '192.168.100.30' in text
    assert 'pool storage: pool' in text
    assert _pool_rows(database) == rows          # nothing written
    drift = {(d.pool, d.field) for d in other.pool_drift()}
    assert drift == {('compute', 'ranges'), ('storage', 'pool')}
    assert owner.pool_drift() == []


def test_sync_refuses_to_retire_everything(make_mgr):
    mgr, database = make_mgr(sync=False, text='[vmetal_ipam]\n')
    with pytest.raises(exception.ConfigError, match='refusing'):
        mgr.sync_pools()


def test_manage_pools_option(make_mgr):
    mgr, database = make_mgr(pools_conf.POOLS.replace(
        '[vmetal_ipam]', '[vmetal_ipam]\nmanage_pools = true'), sync=False)
    assert _pool_rows(database) == []
    mgr.allocate('node-a')
    assert {name for name, _, _ in _pool_rows(database)} == \
        {'compute', 'storage'}


def test_forget_never_loads_pools(make_mgr):
    mgr, _ = make_mgr()
    mgr.allocate('node-a')
    other, _ = make_mgr(DRIFTED, sync=False, name='api.conf')
    with mock.patch.object(pools_mod, 'load_pools', autospec=True,
                           side_effect=AssertionError('pools loaded')):
        [released] = other.forget('node-a')
    assert released.address == '192.168.100.10'


def test_feed_reads_only(make_mgr, sqlite_url):
    mgr, database = make_mgr()
    mgr.allocate('node-a')
    mgr.upsert_reservation('52:54:00:00:00:01', 'node-a')
    feed = feed_mod.ReservationFeed(url=sqlite_url)
    try:
        with mock.patch.object(pools_mod, 'load_pools', autospec=True,
                               side_effect=AssertionError('pools loaded')):
            changes = feed.changes_since(0)
            assert changes.full
            assert [r.mac for r in changes.reservations] == \
                ['52:54:00:00:00:01']
            assert {p.name for p in changes.pools} == {'compute', 'storage'}
            assert feed.changes_since(changes.generation).reservations == []
        with mock.patch.object(feed._db(), 'write', autospec=True,
                               side_effect=AssertionError('written')):
            feed.changes_since(0)
    finally:
        feed.close()


def test_recorded_spec_round_trip(tmp_path):
    config = pools_mod.load_pools(confutils.conf_from_text(
        pools_conf.POOLS, tmp_path))
    for spec in config.pools:
        again = recorded.spec_of(spec.name, recorded.values_of(spec))
        assert recorded.values_of(again) == recorded.values_of(spec)
