"""The database API on SQLite: transactions, pragmas, retries."""

from unittest import mock

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


def _counting(engine, name):
    seen = []
    event.listen(engine, name, lambda *args: seen.append(1))
    return seen


def test_unchanged_rolls_back_and_returns(database):
    """A write that found nothing to change: no commit, its result."""
    database.write(lambda s: s.execute(sa.text(
        'CREATE TABLE t (v INTEGER)')))
    commits = _counting(database.writer, 'commit')
    rollbacks = _counting(database.writer, 'rollback')

    def nothing(session):
        session.execute(sa.text('INSERT INTO t VALUES (1)'))
        raise db_api.Unchanged('same')
    assert database.write(nothing) == 'same'
    assert database.write(nothing, core=True) == 'same'
    assert commits == [] and len(rollbacks) == 2
    assert database.read(lambda s: s.execute(sa.text(
        'SELECT count(*) FROM t')).scalar()) == 0
    assert database.write(lambda s: s.execute(sa.text(
        'INSERT INTO t VALUES (1)')), core=True).rowcount == 1
    assert commits == [1]


def test_core_transactions_run_on_a_connection(database):
    writes = _statements(database.writer)
    assert database.read(lambda c: type(c), core=True) is \
        sa.engine.Connection
    assert database.write(lambda c: c.execute(sa.text('SELECT 1')).scalar(),
                          core=True) == 1
    assert writes == ['BEGIN IMMEDIATE', 'SELECT 1']
    assert database.read(lambda s: type(s)) is not sa.engine.Connection


def test_no_ping_at_checkout(database):
    """Each transaction is retried on a lost connection: no ping first."""
    dialect = database.writer.dialect
    with mock.patch.object(dialect, 'do_ping', autospec=True,
                           side_effect=dialect.do_ping) as ping:
        for _ in range(3):
            database.write(lambda c: c.execute(sa.text('SELECT 2')),
                           core=True)
            database.read(lambda s: s.execute(sa.text('SELECT 2')))
    assert ping.call_count == 0
