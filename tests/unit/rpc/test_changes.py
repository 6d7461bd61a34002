"""The MACs a write transaction's notice names (rpc/changes.py)."""

import datetime

import pytest

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.db import models
from vmetal_ironic.rpc import changes
from vmetal_ironic.rpc import notice as notice_mod

NOW = datetime.datetime(2026, 1, 1)


@pytest.fixture
def database(tmp_path):
    database = db_api.Database('sqlite:///%s' % (tmp_path / 'ipam.sqlite'))
    migration.upgrade(database.writer)
    yield database
    database.dispose()


def _reserve(database, rows):
    """Write (mac, ip_version) rows, one generation each, in order."""
    def write(session):
        before = changes.generation(session)
        counter = session.get(models.Counter, 'generation')
        if counter is None:
            counter = models.Counter(name='generation', value=0)
            session.add(counter)
        for mac, version in rows:
            counter.value += 1
            session.add(models.ReservationRecord(
                mac=mac, ip_version=version, node_uuid='n-' + mac,
                address='192.0.2.1' if version == 4 else '2001:db8::1',
                generation=counter.value, deleted=False, updated_at=NOW))
        session.flush()
        return changes.notice_since(session, before)
    return database.write(write)


def test_a_dual_stack_mac_is_named_once(database):
    notice = _reserve(database, [('52:54:00:00:00:01', 4),
                                 ('52:54:00:00:00:02', 4),
                                 ('52:54:00:00:00:01', 6)])
    assert notice.macs == ('52:54:00:00:00:01', '52:54:00:00:00:02')
    assert notice.generation == 3


def test_the_cap_counts_macs_not_rows(database):
    macs = ['52:54:00:00:%02x:%02x' % divmod(i, 256)
            for i in range(notice_mod.MAX_MACS)]
    notice = _reserve(database, [(m, v) for m in macs for v in (4, 6)])
    assert notice.macs == tuple(macs)
    more = _reserve(database, [('52:54:00:01:00:%02x' % i, v)
                               for i in range(notice_mod.MAX_MACS + 1)
                               for v in (4, 6)])
    assert more.macs == () and more.generation == 4 * notice_mod.MAX_MACS + 2


def test_nothing_after_the_generation_is_no_notice(database):
    _reserve(database, [('52:54:00:00:00:01', 4)])
    assert database.read(lambda s: changes.notice_since(
        s, changes.generation(s))) is None
