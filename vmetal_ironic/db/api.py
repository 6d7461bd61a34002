"""Engines, sessions and retried transactions of the IPAM database.

One :class:`Database` per URL: an oslo.db ``enginefacade`` transaction
context of its own (the drivers run inside Ironic, whose global facade is
Ironic's database), configured from ``[vmetal_database]``. Every write runs
in one short transaction that oslo.db's ``wrap_db_retry`` runs again, as a
whole, on a uniqueness conflict with a concurrent writer, a deadlock, a
lost connection or SQLite's "database is locked": uniqueness is the
database's job and a conflict is a retry, never an error for the caller.

On SQLite, write transactions start with ``BEGIN IMMEDIATE`` (one writer at
a time, no upgrade deadlocks), readers use a second engine with a plain
``BEGIN``, the journal is WAL (readers are never blocked) and
``synchronous`` is FULL: an allocation that was answered is on disk.

A transaction function may run on a plain SQLAlchemy ``Connection``
instead of an ORM ``Session`` (``core=True``: the hooks' hot paths are
Core statements, a Session only costs there), and a write that finds
nothing to change raises :class:`Unchanged`: it is rolled back, never
committed.
"""

from __future__ import annotations

from collections.abc import Callable
import threading
import types
from typing import Any, TypeVar

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log
import sqlalchemy as sa
from sqlalchemy import event

from vmetal_ironic.conf import database as db_conf
from vmetal_ironic.db import checks
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)

T = TypeVar('T')

SQLITE_BUSY_TIMEOUT_MS = 30000

#: Seconds before the first retry; doubled (with jitter) up to the maximum.
RETRY_INTERVAL = 0.01
MAX_RETRY_INTERVAL = 0.5

#: oslo.db engine options taken from ``[vmetal_database]``.
ENGINE_OPTIONS = ('max_pool_size', 'max_overflow', 'pool_timeout',
                  'connection_recycle_time', 'max_retries',
                  'retry_interval', 'sqlite_synchronous', 'mysql_sql_mode',
                  'mysql_wsrep_sync_wait', 'connection_debug',
                  'connection_trace', 'connection_parameters')

# Every setting the facade would otherwise read from the process's global
# ``[database]`` group, which inside Ironic is Ironic's own database.
_FACADE_DEFAULTS: dict[str, Any] = {
    'asyncio_connection': None, 'asyncio_slave_connection': None,
    'sqlite_fk': False, 'mysql_sql_mode': 'TRADITIONAL',
    'mysql_wsrep_sync_wait': None, 'connection_recycle_time': 3600,
    'connection_debug': 0, 'max_pool_size': 5, 'max_overflow': 50,
    'pool_timeout': None, 'sqlite_synchronous': True,
    'connection_trace': False, 'max_retries': 10, 'retry_interval': 10,
    # A time.sleep(0) on every connection check-in (for eventlet); a
    # transaction here is a few statements, it only costs.
    'thread_checkin': False, 'json_serializer': None,
    'json_deserializer': None, 'logging_name': None,
    'connection_parameters': None, 'expire_on_commit': False,
}


class Unchanged(Exception):
    """Raised by a write function that changed nothing: roll back.

    :meth:`Database.write` returns ``result`` without a commit.
    """

    def __init__(self, result: Any = None) -> None:
        super().__init__('nothing to write')
        self.result = result


class RetriesExhausted(Exception):
    """The inner error of :class:`Retry` when no attempt is left."""


class Retry(db_exc.RetryRequest):
    """Raised inside a transaction to run it again from the start."""

    def __init__(self, reason: str = 'retry requested') -> None:
        super().__init__(RetriesExhausted(reason))


def is_sqlite(url: str) -> bool:
    return sa.engine.make_url(url).get_backend_name() == 'sqlite'


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None for other backends or memory)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != 'sqlite':
        return None
    database = parsed.database
    if not database or database == ':memory:':
        return None
    return database


def _is_retryable(exc: BaseException) -> bool:
    """wrap_db_retry's checker: conflicts and SQLite's busy database."""
    if isinstance(exc, db_exc.DBDuplicateEntry):
        return True
    if isinstance(exc, (db_exc.DBError, sa.exc.OperationalError)):
        return 'database is locked' in str(exc)
    return False


def _setup_sqlite(engine: sa.engine.Engine, immediate: bool,
                  synchronous: bool) -> None:
    # oslo.db turns pysqlite's own BEGIN off and emits a plain BEGIN
    # unless conn.info says a transaction is open.
    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        cursor.execute('PRAGMA busy_timeout=%d' % SQLITE_BUSY_TIMEOUT_MS)
        cursor.execute('PRAGMA foreign_keys=ON')
        if synchronous:
            cursor.execute('PRAGMA synchronous=FULL')
        cursor.close()

    # oslo.db's own listener emits a plain BEGIN: ours replaces it (with
    # insert=True alone it would still run first on an engine the facade
    # made).
    for listener in list(engine.dispatch.begin):
        if getattr(listener, '__name__', '') == '_sqlite_emit_begin':
            event.remove(engine, 'begin', listener)

    @event.listens_for(engine, 'begin', insert=True)
    def _on_begin(connection: Any) -> None:
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql(
                'BEGIN IMMEDIATE' if immediate else 'BEGIN')
        connection.info['in_transaction'] = True


def _pool_connections(engine: sa.engine.Engine, size: int | None) -> None:
    """Keep SQLite connections open between transactions.

    oslo.db gives a SQLite file engine a NullPool: every transaction
    would connect, run the PRAGMAs, and close, and closing the last
    connection of a WAL database checkpoints it (a few ms, most of a
    hook's cost). A QueuePool keeps them; an unbounded overflow never
    makes a thread wait for a connection (SQLite's own lock orders the
    writers). What SQLAlchemy's Engine.dispose does: replace the pool,
    keeping its event listeners. No ping at checkout: a file does not
    hang up.
    """
    old = engine.pool
    engine.pool = sa.pool.QueuePool(
        old._creator, pool_size=size or 5, max_overflow=-1,
        recycle=old._recycle, reset_on_return=old._reset_on_return,
        echo=old.echo, logging_name=old._orig_logging_name,
        pre_ping=False, _dispatch=old.dispatch,
        dialect=old._dialect)
    old.dispose()


class Database:
    """The engines and retried transactions of one database URL.

    :param url: SQLAlchemy URL.
    :param max_retries: how often one transaction is run again.
    :param engine_options: oslo.db engine options (:data:`ENGINE_OPTIONS`).
    :raises: StoreError for a bad URL or an unreachable database.
    """

    def __init__(self, url: str, max_retries: int = 20,
                 engine_options: dict[str, Any] | None = None) -> None:
        options = dict(_FACADE_DEFAULTS)
        options.update({k: v for k, v in (engine_options or {}).items()
                        if v is not None or k == 'pool_timeout'})
        options['connection_parameters'] = (
            options['connection_parameters'] or None)
        self.url = url
        self.max_retries = max_retries
        #: Transaction runs that were run again since this Database was
        #: made, whatever the reason: a uniqueness conflict, a busy
        #: SQLite, a deadlock, a lost connection, a :class:`Retry`.
        self.retries = 0
        self._retries_lock = threading.Lock()
        self._check_sqlite_directory(url)
        sqlite = is_sqlite(url)
        self._ctx = enginefacade.transaction_context()
        self._ctx.configure(connection=url,
                            slave_connection=url if sqlite else None,
                            synchronous_reader=not sqlite, **options)
        try:
            self.writer = self._ctx.writer.get_engine()
            self.reader = self._ctx.reader.get_engine()
        except db_exc.DBError as exc:
            raise exception.StoreError(
                reason=_('cannot connect to %(url)s: %(err)s')
                % {'url': self.safe_url, 'err': exc})
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
            raise exception.StoreError(
                reason=_('bad [vmetal_database]connection: %s') % exc)
        if sqlite:
            for engine in (self.writer, self.reader):
                _pool_connections(engine, options['max_pool_size'])
            synchronous = options.get('sqlite_synchronous', True)
            _setup_sqlite(self.writer, True, synchronous)
            _setup_sqlite(self.reader, False, synchronous)
            # oslo.db connected once to test the URL, before our hooks.
            self._ctx.dispose_pool()
        else:
            for engine in {id(e): e for e in (self.writer,
                                              self.reader)}.values():
                # oslo.db pings every connection at checkout: a round
                # trip per transaction. Each transaction here is run
                # again as a whole on a lost connection (wrap_db_retry's
                # retry_on_disconnect), and a disconnect invalidates the
                # pool, so the ping only costs.
                engine.pool._pre_ping = False
                if engine.dialect.name == 'mysql':
                    engine.update_execution_options(
                        isolation_level='READ COMMITTED')
        self._transactions: dict[tuple[str, bool], Any] = {}

    @classmethod
    def from_conf(cls, conf: Any, max_retries: int | None = None
                  ) -> Database:
        """The database of ``[vmetal_database]``."""
        group = conf[db_conf.GROUP]
        options = {name: group[name] for name in ENGINE_OPTIONS}
        if max_retries is None:
            max_retries = conf.vmetal_ipam.max_retries
        return cls(group.connection, max_retries=max_retries,
                   engine_options=options)

    @staticmethod
    def _check_sqlite_directory(url: str) -> None:
        checks.check_sqlite_directory(sqlite_path(url))

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(
            hide_password=True)

    @property
    def backend(self) -> str:
        return self.writer.dialect.name

    def dispose(self) -> None:
        self._ctx.dispose_pool()

    def read(self, fn: Callable[[Any], T], core: bool = False) -> T:
        """Run ``fn(session)`` in a read transaction; return its result.

        :param core: give ``fn`` a plain Connection, not a Session (for
            functions of Core statements only).
        """
        return self._run(fn, 'read', core)

    def write(self, fn: Callable[[Any], T], core: bool = False) -> T:
        """Run ``fn(session)`` in a write transaction, retried on conflict.

        ``fn`` must do nothing outside the database: it may run several
        times. It raises :class:`Retry` to ask for another run, and
        :class:`Unchanged` when it found nothing to write (the
        transaction is rolled back; its result is returned).

        :param core: as for :meth:`read`.
        """
        return self._run(fn, 'write', core)

    def _retryable(self, exc: BaseException) -> bool:
        """_is_retryable, counted (oslo.db asks only for these errors)."""
        retry = _is_retryable(exc)
        if retry:
            LOG.debug('IPAM transaction to be retried: %s', exc)
        return retry

    def _transaction(self, kind: str, core: bool) -> Any:
        """The retried transaction runner of ``kind``, made once."""
        runner = self._transactions.get((kind, core))
        if runner is not None:
            return runner
        mode = self._ctx.writer if kind == 'write' else self._ctx.reader
        if core:
            mode = mode.connection

        @oslo_db_api.wrap_db_retry(
            max_retries=self.max_retries, retry_interval=RETRY_INTERVAL,
            inc_retry_interval=True, max_retry_interval=MAX_RETRY_INTERVAL,
            jitter=True, retry_on_deadlock=True, retry_on_disconnect=True,
            exception_checker=self._retryable)
        def _transaction(fn: Callable[[Any], T]) -> T:
            try:
                with mode.using(types.SimpleNamespace()) as session:
                    return fn(session)
            except Unchanged as unchanged:      # rolled back on the way
                return unchanged.result

        self._transactions[kind, core] = _transaction
        return _transaction

    def _run(self, fn: Callable[[Any], T], kind: str, core: bool) -> T:
        runs = 0

        def _counted(session: Any) -> T:
            nonlocal runs
            runs += 1
            return fn(session)
        try:
            return self._transaction(kind, core)(_counted)
        except exception.VmetalError:
            raise
        except (db_exc.DBDuplicateEntry, db_exc.DBDeadlock,
                db_exc.DBConnectionError, RetriesExhausted) as exc:
            raise exception.StoreError(
                reason=_('a %(kind)s transaction still failed after '
                         '%(n)d attempts: %(exc)s')
                % {'kind': kind, 'n': self.max_retries, 'exc': exc})
        except (db_exc.DBError, sa.exc.SQLAlchemyError) as exc:
            raise exception.StoreError(reason=str(exc))
        finally:
            if runs > 1:
                with self._retries_lock:
                    self.retries += runs - 1
                    total = self.retries
                LOG.debug('IPAM %(kind)s transaction run %(n)d times '
                          '(%(total)d reruns so far)',
                          {'kind': kind, 'n': runs, 'total': total})
