"""The agent's feed reads what the manager reads, without oslo.db or alembic.

``ReservationFeed.changes_since`` has its own Core SQL (and streams a full
read); on SQLite, PostgreSQL and MariaDB every answer must equal the
manager's ``changes_since`` through the ORM store.
"""

import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.functional.ipam.test_store import SMALL
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import checks
from vmetal_ironic import exception
from vmetal_ironic.ipam import feed as feed_mod

PROFILE = {'bootfile': 'snponly.efi', 'tftp_server': '192.168.100.2',
           'ipxe_script_url': 'http://192.168.100.2:8080/boot.ipxe'}


def _same(feed, mgr, generation):
    """Both answers for ``generation``, the feed's stream read as a list."""
    got, want = feed.changes_since(generation), mgr.changes_since(generation)
    reservations = list(got.reservations)
    assert (got.generation, got.full, got.pools) == \
        (want.generation, want.full, want.pools)
    # a streamed row reads like the record it stands for
    assert [tuple(r) if isinstance(r, feed_mod.Row) else r
            for r in reservations] == \
        [tuple(getattr(r, f) for f in feed_mod.Row._fields) if got.full
         else r for r in want.reservations]
    return want


@pytest.mark.parametrize('driver', [True, False], ids=['dbapi', 'core'])
def test_feed_answers_as_the_manager(make_manager, db_url, clock, driver):
    mgr = make_manager(SMALL)
    feed = feed_mod.ReservationFeed(url=db_url, driver=driver)
    try:
        start = _same(feed, mgr, 0)
        for i in range(1, 5):
            mgr.allocate('node-%d' % i)
            mgr.upsert_reservation('52:54:00:00:00:0%d' % i, 'node-%d' % i,
                                   hostname='node-%d' % i,
                                   client_id='01:52:54:00:00:00:0%d' % i)
        mgr.set_boot_profile('node-1', PROFILE)
        mgr.set_boot_profile('node-2', PROFILE)
        full = _same(feed, mgr, 0)
        assert len(full.reservations) == 4
        _same(feed, mgr, start.generation)
        # deletions are tombstones in an incremental read
        mgr.release('node-3')
        mgr.set_boot_profile('node-4', {'bootfile': 'ipxe.efi'})
        delta = _same(feed, mgr, full.generation)
        assert {(r.mac, r.deleted) for r in delta.reservations} == {
            ('52:54:00:00:00:03', True), ('52:54:00:00:00:04', False)}
        # a stored profile that is not a valid one is served as none
        with mgr.database.writer.begin() as c:
            c.execute(sa.text("UPDATE vmetal_boot_profiles SET profile = "
                              "'{\"bootfile\": 7}' WHERE node_uuid = "
                              "'node-2'"))
        _same(feed, mgr, 0)
        # tombstones purged past the reader's generation: a full answer
        clock.advance(3601)
        assert mgr.purge_tombstones(3600) == 1
        assert _same(feed, mgr, full.generation).full
        # too new (another database): a full answer
        assert _same(feed, mgr, 10 ** 9).full
    finally:
        feed.close()


@pytest.mark.parametrize('driver', [True, False], ids=['dbapi', 'core'])
def test_full_read_is_a_stream_read_once(make_manager, db_url, driver):
    mgr = make_manager(SMALL)
    for i in range(1, 4):
        mgr.allocate('node-%d' % i)
        mgr.upsert_reservation('52:54:00:00:01:0%d' % i, 'node-%d' % i)
    feed = feed_mod.ReservationFeed(url=db_url, driver=driver)
    try:
        cs = feed.changes_since(0)
        assert isinstance(cs.reservations, feed_mod.Stream)
        assert sorted(r.mac for r in cs.reservations) == [
            '52:54:00:00:01:01', '52:54:00:00:01:02', '52:54:00:00:01:03']
        with pytest.raises(RuntimeError):
            list(cs.reservations)
        # one left unread gives its connection back when closed, and the
        # feed reads again (a small pool would otherwise run dry)
        for _ in range(8):
            feed.changes_since(0).reservations.close()
        assert len(list(feed.changes_since(0).reservations)) == 3
    finally:
        feed.close()


@pytest.mark.parametrize('driver', [True, False], ids=['dbapi', 'core'])
def test_feed_refuses_a_schema_that_is_not_current(db_url, driver):
    feed = feed_mod.ReservationFeed(url=db_url, driver=driver)
    try:
        with pytest.raises(exception.SchemaNotCurrent, match='none'):
            feed.changes_since(0)
        db = db_api.Database(db_url)
        try:
            with db.writer.begin() as c:
                c.execute(sa.text('CREATE TABLE vmetal_alembic_version '
                                  '(version_num VARCHAR(32) NOT NULL)'))
                c.execute(sa.text("INSERT INTO vmetal_alembic_version "
                                  "VALUES ('0001_initial')"))
        finally:
            db.dispose()
        with pytest.raises(exception.SchemaNotCurrent,
                           match='0001_initial'):
            feed.changes_since(0)
    finally:
        feed.close()


@pytest.mark.parametrize('driver', [True, False], ids=['dbapi', 'core'])
def test_unreachable_database_is_a_store_error(tmp_path, driver):
    for url in ('postgresql+psycopg2://nobody:secret@127.0.0.1:1/none',
                'mysql+pymysql://nobody:secret@127.0.0.1:1/none'):
        feed = feed_mod.ReservationFeed(url=url, driver=driver)
        feed._reader._retries = 1
        with pytest.raises(exception.StoreError,
                           match='cannot read') as caught:
            feed.changes_since(0)
        assert 'secret' not in str(caught.value)
    with pytest.raises(exception.StoreError, match='does not exist'):
        feed_mod.ReservationFeed(
            url='sqlite:///%s/missing/x.sqlite' % tmp_path,
            driver=driver).changes_since(0)


def test_agent_feed_imports_no_sqlalchemy_or_oslo_db(make_manager, db_url):
    mgr = make_manager(SMALL)
    mgr.allocate('node-1')
    mgr.upsert_reservation('52:54:00:00:02:01', 'node-1')
    code = ('import sys\n'
            'from vmetal_ironic.agent.sources import ipam\n'
            'from vmetal_ironic.ipam import feed\n'
            'f = feed.ReservationFeed(url=%r)\n'
            'cs = f.changes_since(0)\n'
            'n = len(list(cs.reservations))\n'
            'f.changes_since(cs.generation)\n'
            'print(n, sorted(m for m in sys.modules if m.split(".")[0] in '
            '("oslo_db", "alembic", "sqlalchemy")))\n' % db_url)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.split(None, 1) == ['1', '[]\n']


def test_head_revision_is_alembics():
    from vmetal_ironic.db import migration
    assert checks.head_revision() == migration.head()
