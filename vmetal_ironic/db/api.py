"""Engine, sessions and retried transactions of the IPAM store.

Every write runs in one short transaction that is retried, as a whole, when
the database reports a uniqueness conflict with a concurrent writer or a
deadlock: uniqueness is the database's job and a conflict is a retry, never
an error for the caller. On SQLite, write transactions start with
``BEGIN IMMEDIATE`` (one writer at a time, no upgrade deadlocks) and the
journal is WAL, so readers are never blocked.
"""

import random
import time

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
from oslo_log import log
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import orm

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30000


class Retry(Exception):
    """Raised inside a transaction to run it again from the start."""


def _is_sqlite(url):
    return sa.engine.make_url(url).get_backend_name() == 'sqlite'


def _setup_sqlite(engine, immediate):
    # oslo.db already turns pysqlite's own BEGIN off and emits a plain
    # BEGIN unless conn.info says a transaction is open: ours goes first.
    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        cursor.execute('PRAGMA busy_timeout=%d' % SQLITE_BUSY_TIMEOUT_MS)
        cursor.execute('PRAGMA foreign_keys=ON')
        cursor.close()

    @event.listens_for(engine, 'begin', insert=True)
    def _on_begin(connection):
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql(
                'BEGIN IMMEDIATE' if immediate else 'BEGIN')
        connection.info['in_transaction'] = True


def create_engine(url, immediate=True, **kwargs):
    """An engine for ``url`` with oslo.db's error translation.

    :param immediate: SQLite only: writer (BEGIN IMMEDIATE) or reader.
    :param kwargs: oslo.db engine options (pool size, timeouts ...).
    """
    engine = engines.create_engine(url, **kwargs)
    backend = engine.dialect.name
    if backend == 'sqlite':
        _setup_sqlite(engine, immediate)
        # oslo.db connected once to test the URL, before our hooks.
        engine.dispose()
    elif backend == 'mysql':
        engine = engine.execution_options(isolation_level='READ COMMITTED')
    return engine


class Database:
    """Engines and retried transactions for one database URL."""

    def __init__(self, url, max_retries=20, engine_options=None):
        options = {'mysql_sql_mode': 'TRADITIONAL'}
        options.update(engine_options or {})
        try:
            self.writer = create_engine(url, immediate=True, **options)
            if _is_sqlite(url):
                self.reader = create_engine(url, immediate=False, **options)
            else:
                self.reader = self.writer
        except db_exc.DBError as exc:
            raise exception.StoreError(
                reason=_('cannot connect to %(url)s: %(err)s')
                % {'url': sa.engine.make_url(url).render_as_string(
                    hide_password=True), 'err': exc})
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
            raise exception.StoreError(
                reason=_('bad [vmetal_database]connection: %s') % exc)
        self.url = url
        self.max_retries = max_retries
        self._writer_sessions = orm.sessionmaker(bind=self.writer,
                                                 expire_on_commit=False)
        self._reader_sessions = orm.sessionmaker(bind=self.reader,
                                                 expire_on_commit=False)

    @property
    def backend(self):
        return self.writer.dialect.name

    def dispose(self):
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()

    def read(self, fn):
        """Run ``fn(session)`` in a read transaction; return its result."""
        return self._run(fn, self._reader_sessions, 'read')

    def write(self, fn):
        """Run ``fn(session)`` in a write transaction, retried on conflict.

        ``fn`` must do nothing outside the database: it may run several
        times. It raises :class:`Retry` to ask for another run.
        """
        return self._run(fn, self._writer_sessions, 'write')

    def _run(self, fn, sessions, kind):
        last = None
        for attempt in range(self.max_retries):
            try:
                with sessions() as session, session.begin():
                    return fn(session)
            except (db_exc.DBDuplicateEntry, db_exc.DBDeadlock, Retry) as exc:
                last = exc
            except (db_exc.DBError, sa.exc.OperationalError) as exc:
                # SQLite: "database is locked" after busy_timeout.
                if 'locked' not in str(exc):
                    raise exception.StoreError(reason=str(exc))
                last = exc
            LOG.debug('IPAM %(kind)s transaction retried (attempt %(n)d): '
                      '%(exc)s', {'kind': kind, 'n': attempt + 1,
                                  'exc': last})
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise exception.StoreError(
            reason=_('a %(kind)s transaction still conflicted after '
                     '%(n)d attempts: %(exc)s')
            % {'kind': kind, 'n': self.max_retries, 'exc': last})
