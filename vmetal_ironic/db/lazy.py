"""Databases opened, and their schema checked, on first use.

The DHCP agent's readers (:class:`~vmetal_ironic.ipam.feed.ReservationFeed`,
:class:`~vmetal_ironic.ipam.discovery.DiscoveryLeases`) are built at
start-up, before the database may be reachable; they open it when first
asked and refuse a schema that is not current.

Two openers:

* :class:`LazyDatabase`: the store's full :class:`~vmetal_ironic.db.api.
  Database` (oslo.db transactions, retried writes), for the agent's one
  write path (discovery leases) and its rare reads (pool gauges);
* :class:`LazyReader`: read transactions for the feed, which is all an
  agent without discovery needs: on the DB-API driver itself
  (:mod:`~vmetal_ironic.db.dbapi`) for SQLite, psycopg2 and PyMySQL URLs,
  else on a SQLAlchemy Core engine (:mod:`~vmetal_ironic.db.core_reader`).
  It imports neither oslo.db, alembic, the ORM nor (on the driver path)
  SQLAlchemy: at start-up they were half of the agent's import time and
  ~35 MB of its memory. Each read is one consistent transaction, so that
  a full read can be streamed.

The schema check is one SELECT of the version table against the head
revision of the migration files (:func:`head_revision`, read from the
files without alembic).
"""

from __future__ import annotations

import os
import random
import re
import sys
import threading
import time
from typing import Any

from vmetal_ironic.db import dbapi
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

VERSION_TABLE = 'vmetal_alembic_version'
_VERSIONS = os.path.join(os.path.dirname(__file__), 'migrations', 'versions')
_REVISION = re.compile(r'^(revision|down_revision)\s*=\s*[\'"]([^\'"]+)[\'"]',
                       re.MULTILINE)
#: Seconds before the first retry of opening a read; doubled up to 1 s.
RETRY_INTERVAL = 0.05

_head: str | None = None


def head_revision(directory: str = _VERSIONS) -> str:
    """The newest migration: the one no other revises.

    Read from the migration files themselves (``revision = '...'``,
    ``down_revision = '...'``), as alembic would find it, without
    importing alembic. A unit test checks both agree.
    """
    revisions, revised = set(), set()
    for name in sorted(os.listdir(directory)):
        if not name.endswith('.py') or name.startswith('__'):
            continue
        with open(os.path.join(directory, name), encoding='utf-8') as f:
            found: dict[str, str] = {
                m.group(1): m.group(2) for m in _REVISION.finditer(f.read())}
        if 'revision' in found:
            revisions.add(found['revision'])
            if 'down_revision' in found:
                revised.add(found['down_revision'])
    heads = sorted(revisions - revised)
    if len(heads) != 1:
        raise RuntimeError('migrations in %s have heads %s, not one'
                           % (directory, heads))
    return heads[0]


def _expected() -> str:
    global _head
    if _head is None:
        _head = head_revision()
    return _head


def check_schema(connection: Any) -> None:
    """:raises: SchemaNotCurrent unless the schema is at the head.

    :param connection: a :class:`~vmetal_ironic.db.dbapi.Connection` or
        :class:`CoreConnection` in a read transaction.
    """
    current = None
    if connection.has_table(VERSION_TABLE):
        found = sorted(r[0] for r in connection.rows(
            'SELECT version_num FROM %s' % VERSION_TABLE))
        current = ','.join(found) or None
    expected = _expected()
    if current != expected:
        raise exception.SchemaNotCurrent(current=current or 'none',
                                         expected=expected)


def _store_error(safe_url: str, exc: BaseException) -> exception.StoreError:
    return exception.StoreError(
        reason=_('cannot read %(url)s: %(err)s')
        % {'url': safe_url, 'err': exc})


def check_sqlite_directory(path: str | None) -> None:
    """:raises: StoreError if the directory of SQLite file ``path`` is gone.

    ``path`` None or ``:memory:``: nothing to check. The one check of both
    openers (this module's and :class:`~vmetal_ironic.db.api.Database`).
    """
    if path and path != ':memory:' and not os.path.isdir(
            os.path.dirname(os.path.abspath(path))):
        raise exception.StoreError(
            reason=_('the directory of the SQLite database %s does not '
                     'exist: create it (vmetal-dbsync upgrade does) or set '
                     '[vmetal_database]connection') % path)


class LazyReader:
    """Read transactions on ``url`` (or ``conf``), opened on first use.

    Through the DB-API driver itself (:mod:`~vmetal_ironic.db.dbapi`) when
    it takes the URL, else through a SQLAlchemy Core engine. Connections
    are kept between reads (a few: one per concurrent read).

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``);
    :param engine: a Core engine to read through (tests; not disposed);
    :param retries: how often opening a read transaction is tried again
        after a lost or refused connection;
    :param driver: False: always SQLAlchemy Core (tests of the fallback).
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 engine: Any = None,
                 retries: int = 5, driver: bool = True) -> None:
        self._conf = conf
        self._url = url
        self._engine = engine
        self._own = engine is None
        self._retries = retries
        self._driver = driver
        self._target: Any = None
        self._opened = engine is not None
        self._idle: list[Any] = []
        self._checked = False
        self._lock = threading.Lock()

    def _new(self) -> Any:
        """A new adapter connection (the driver's errors propagate)."""
        with self._lock:
            if not self._opened:
                if self._url is not None:
                    url, params, recycle = self._url, None, 3600
                else:
                    group = self._conf['vmetal_database']
                    url = group.connection
                    params = group.connection_parameters
                    recycle = group.connection_recycle_time
                if url.startswith('sqlite'):
                    check_sqlite_directory(
                        url.split('://', 1)[-1][1:].split('?', 1)[0])
                self._target = dbapi.parse(url, params) if self._driver \
                    else None
                if self._target is None:
                    from vmetal_ironic.db import core_reader
                    self._engine = core_reader.read_engine(url, params,
                                                           recycle)
                self._opened = True
        target = self._target
        if target is not None:
            if target.backend == 'sqlite' and not os.path.exists(
                    target.kwargs['path']):
                # never created by a reader: the schema is not there
                raise exception.SchemaNotCurrent(current='none',
                                                 expected=_expected())
            return dbapi.Connection(target)
        from vmetal_ironic.db import core_reader
        return core_reader.CoreConnection(self._engine)

    def _safe_url(self) -> str:
        if self._target is not None:
            return self._target.safe_url
        if self._engine is not None:
            return self._engine.url.render_as_string(hide_password=True)
        return '-'

    def begin(self) -> Any:
        """A connection in a read transaction (one snapshot).

        Give it back with :meth:`release`. Opening is retried on a
        connection error (not what follows: a stream cannot be read
        twice); the schema is checked once.

        :raises: StoreError, SchemaNotCurrent.
        """
        delay = RETRY_INTERVAL
        for attempt in range(self._retries + 1):
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            try:
                if conn is None:
                    conn = self._new()
                conn.begin()
                if not self._checked:
                    check_schema(conn)
                    self._checked = True
                return conn
            except exception.VmetalError:
                self.release(conn, broken=True)
                raise
            except Exception as exc:
                errors = getattr(conn, 'errors', None) or _errors_of(exc)
                self.release(conn, broken=True)
                if errors is None or not isinstance(exc, errors.Error):
                    raise
                if attempt == self._retries or not isinstance(
                        exc, (errors.OperationalError,
                              errors.InterfaceError)):
                    raise _store_error(self._safe_url(), exc)
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(1.0, delay * 2)
        raise AssertionError('unreachable')

    def failures(self, conn: Any) -> tuple[type[BaseException], ...]:
        """The exceptions that are database errors on ``conn``."""
        return (conn.errors.Error,)

    def error(self, conn: Any, exc: BaseException) -> exception.StoreError:
        """The StoreError of a read that failed on ``conn``."""
        return _store_error(conn.safe_url, exc)

    def release(self, conn: Any, broken: bool = False) -> None:
        """End ``conn``'s read transaction and keep it (or close it)."""
        if conn is None:
            return
        if not broken:
            try:
                conn.end()
            except Exception:
                broken = True
        if broken:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < 2:
                self._idle.append(conn)
                return
        conn.close()

    def dispose(self) -> None:
        """Close the connections (the reader may be used again)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._engine is not None and self._own:
            self._engine.dispose()


def _errors_of(exc: BaseException) -> Any:
    """The DB-API module of a connect() error, or SQLAlchemy's."""
    sa = sys.modules.get('sqlalchemy')
    if sa is not None and isinstance(exc, sa.exc.SQLAlchemyError):
        from vmetal_ironic.db import core_reader
        return core_reader.ERRORS
    module = type(exc).__module__.split('.')[0]
    if module in ('sqlite3', 'psycopg2', 'pymysql'):
        import importlib
        return importlib.import_module(module)
    return None


class LazyDatabase:
    """Open ``url`` (or ``conf``'s ``[vmetal_database]``) on first use.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``);
    :param database: an open Database (tests);
    :param url_retries: ``max_retries`` of a database opened from ``url``
        (None: the Database default);
    :param conf_retries: ``max_retries`` of one opened from ``conf``.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 database: Any = None,
                 url_retries: int | None = None,
                 conf_retries: int | None = None) -> None:
        self._conf = conf
        self._url = url
        self._database = database
        self._url_retries = url_retries
        self._conf_retries = conf_retries
        self._checked = False
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The :class:`~vmetal_ironic.db.api.Database`, checked once.

        oslo.db is imported here, on first use.

        :raises: StoreError, SchemaNotCurrent.
        """
        with self._lock:
            if self._database is None:
                from vmetal_ironic.db import api as db_api
                if self._url is not None:
                    if self._url_retries is None:
                        self._database = db_api.Database(self._url)
                    else:
                        self._database = db_api.Database(
                            self._url, max_retries=self._url_retries)
                else:
                    self._database = db_api.Database.from_conf(
                        self._conf, max_retries=self._conf_retries)
            if not self._checked:
                from oslo_db import exception as db_exc
                import sqlalchemy as sa

                from vmetal_ironic.db import core_reader
                conn = None
                try:
                    conn = core_reader.CoreConnection(self._database.reader)
                    conn.begin()
                    check_schema(conn)
                except (sa.exc.SQLAlchemyError, db_exc.DBError) as exc:
                    raise _store_error(self._database.safe_url, exc)
                finally:
                    if conn is not None:
                        conn.close()
                self._checked = True
            return self._database

    def dispose(self) -> None:
        """Close the connections (the database may be used again)."""
        with self._lock:
            if self._database is not None:
                self._database.dispose()
