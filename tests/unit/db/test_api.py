"""The database API on SQLite: transactions, pragmas, retries."""

from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from vmetal_ironic.db import api as db_api
from vmetal_ironic import exception


@pytest.fixture
def database(tmp_path):
    db = db_api.Database('sqlite:///%s' % (tmp_path / 'x.sqlite'),
                         max_retries=3)
    yield db
    db.dispose()


def _statements(engine):
    seen = []

    @event.listens_for(engine, 'before_cursor_execute')
    def _record(conn, cursor, statement, *args):
        seen.append(statement)
    return seen


def test_writers_begin_immediate_readers_do_not(database):
    writes = _statements(database.writer)
    reads = _statements(database.reader)
    database.write(lambda s: s.execute(sa.text('SELECT 1')).all())
    database.read(lambda s: s.execute(sa.text('SELECT 1')).all())
    assert writes[0] == 'BEGIN IMMEDIATE'
    assert reads[0] == 'BEGIN'


def test_durable_pragmas(database):
    def pragmas(session):
        return [session.execute(sa.text('PRAGMA %s' % name)).scalar()
                for name in ('journal_mode', 'synchronous', 'busy_timeout')]
    assert database.write(pragmas) == ['wal', 2, 30000]   # 2: FULL


def test_conflicts_are_retried(database):
    attempts = []

    def conflicting(session):
        attempts.append(1)
        if len(attempts) < 3:
            raise db_exc.DBDuplicateEntry(columns=['address'])
        return 'done'
    assert database.write(conflicting) == 'done'
    assert len(attempts) == 3


def test_retry_request_and_exhaustion(database):
    attempts = []

    def again(session):
        attempts.append(1)
        raise db_api.Retry('busy')
    with pytest.raises(exception.StoreError, match='still failed after'):
        database.write(again)
    assert len(attempts) == 4              # the first run and 3 retries


def test_other_errors_are_not_retried(database):
    attempts = []

    def broken(session):
        attempts.append(1)
        session.execute(sa.text('SELECT * FROM nosuchtable'))
    with pytest.raises(exception.StoreError, match='nosuchtable'):
        database.write(broken)
    assert len(attempts) == 1


def test_checker():
    assert db_api._is_retryable(db_exc.DBDuplicateEntry())
    assert db_api._is_retryable(db_exc.DBError('database is locked'))
    assert not db_api._is_retryable(db_exc.DBError('syntax error'))
    assert not db_api._is_retryable(ValueError('database is locked'))


def test_conflict_retries_are_counted(database):
    attempts = []

    def conflicting(session):
        attempts.append(1)
        if len(attempts) < 3:
            raise db_exc.DBDuplicateEntry(columns=['address'])
        return 'done'
    assert database.retries == 0
    assert database.write(conflicting) == 'done'
    assert database.retries == 2


def test_sqlite_connections_are_kept_with_their_pragmas(database):
    """One connection serves many transactions: no connect, no PRAGMAs."""
    connects = []
    event.listen(database.writer, 'connect',
                 lambda *args: connects.append(1))

    def pragmas(session):
        return [session.execute(sa.text('PRAGMA %s' % name)).scalar()
                for name in ('journal_mode', 'synchronous', 'busy_timeout')]
    for _ in range(5):
        assert database.write(pragmas) == ['wal', 2, 30000]
    assert len(connects) <= 1
    assert isinstance(database.writer.pool, sa.pool.QueuePool)
    # After a dispose the pool is rebuilt with the same listeners.
    database.dispose()
    assert database.write(pragmas) == ['wal', 2, 30000]
    assert database.write(lambda s: s.execute(sa.text('SELECT 1')).all())
