"""Databases opened, and their schema checked, on first use.

The DHCP agent's readers (:class:`~vmetal_ironic.ipam.feed.ReservationFeed`,
:class:`~vmetal_ironic.ipam.discovery.DiscoveryLeases`) are built at
start-up, before the database may be reachable; they open it when first
asked and refuse a schema that is not current.

Two openers:

* :class:`LazyDatabase`: the store's full :class:`~vmetal_ironic.db.api.
  Database` (oslo.db transactions, retried writes), for the agent's one
  write path (discovery leases) and its rare reads (pool gauges);
* :class:`LazyReader`: a plain SQLAlchemy Core engine for the feed's
  reads, which is all an agent without discovery needs. It imports neither
  oslo.db, alembic nor the ORM (at start-up they were half of the agent's
  import time and ~30 MB of its memory), and reads in one consistent
  transaction so that a full read can be streamed.

The schema check is one SELECT of the version table against the head
revision of the migration files (:func:`head_revision`, read from the
files without alembic).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
import random
import re
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

VERSION_TABLE = 'vmetal_alembic_version'
_VERSIONS = os.path.join(os.path.dirname(__file__), 'migrations', 'versions')
_REVISION = re.compile(r'^(revision|down_revision)\s*=\s*[\'"]([^\'"]+)[\'"]',
                       re.MULTILINE)
SQLITE_BUSY_TIMEOUT_MS = 30000
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
    """:raises: SchemaNotCurrent unless the schema is at the head."""
    current = None
    if sa.inspect(connection).has_table(VERSION_TABLE):
        rows = connection.execute(sa.text(
            'SELECT version_num FROM %s' % VERSION_TABLE)).scalars().all()
        current = rows[0] if len(rows) == 1 else (
            ','.join(sorted(rows)) or None)
    expected = _expected()
    if current != expected:
        raise exception.SchemaNotCurrent(current=current or 'none',
                                         expected=expected)


def _store_error(url: Any, exc: BaseException) -> exception.StoreError:
    return exception.StoreError(
        reason=_('cannot read %(url)s: %(err)s')
        % {'url': url.render_as_string(hide_password=True)
           if url is not None else '-', 'err': exc})


def _sqlite_reader(engine: sa.engine.Engine) -> None:
    # pysqlite's own transaction handling off; a plain BEGIN per read
    # transaction, so that all its statements see one snapshot (WAL).
    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA busy_timeout=%d' % SQLITE_BUSY_TIMEOUT_MS)
        cursor.execute('PRAGMA query_only=ON')
        cursor.close()

    @event.listens_for(engine, 'begin')
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql('BEGIN')


def read_engine(url: str, parameters: str | None = None,
                recycle: int = 3600) -> sa.engine.Engine:
    """A Core engine for reading ``url`` (nothing connects yet).

    :param parameters: ``[vmetal_database]connection_parameters``, a
        query string added to the URL as oslo.db does.
    :raises: StoreError for a bad URL or a missing SQLite directory.
    """
    try:
        parsed = sa.engine.make_url(url)
        if parameters:
            from urllib import parse
            parsed = parsed.update_query_pairs(parse.parse_qsl(parameters))
        if parsed.get_backend_name() == 'sqlite':
            path = parsed.database
            if path and path != ':memory:' and not os.path.isdir(
                    os.path.dirname(os.path.abspath(path))):
                raise exception.StoreError(
                    reason=_('the directory of the SQLite database %s does '
                             'not exist: create it (vmetal-dbsync upgrade '
                             'does) or set [vmetal_database]connection')
                    % path)
            engine = sa.create_engine(parsed, poolclass=sa.pool.QueuePool,
                                      pool_size=2, max_overflow=-1)
            _sqlite_reader(engine)
            return engine
        return sa.create_engine(parsed, pool_size=2, max_overflow=4,
                                pool_recycle=recycle, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise exception.StoreError(
            reason=_('bad [vmetal_database]connection: %s') % exc)


def close_quietly(connection: Any) -> None:
    """Close a connection (rolling back its read); never raises."""
    if connection is None:
        return
    try:
        connection.close()
    except sa.exc.SQLAlchemyError:
        pass


def store_error(connection: Any, exc: BaseException) -> exception.StoreError:
    """The StoreError of a failed read on ``connection``."""
    return _store_error(connection.engine.url, exc)


class LazyReader:
    """A read-only Core engine of ``url`` (or ``conf``), opened on first use.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``);
    :param engine: an engine to read through (tests; not disposed);
    :param retries: how often opening a read transaction is tried again
        after a lost or refused connection.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 engine: sa.engine.Engine | None = None,
                 retries: int = 5) -> None:
        self._conf = conf
        self._url = url
        self._engine = engine
        self._own = engine is None
        self._retries = retries
        self._checked = False
        self._lock = threading.Lock()

    def _open(self) -> sa.engine.Engine:
        with self._lock:
            if self._engine is None:
                if self._url is not None:
                    self._engine = read_engine(self._url)
                else:
                    group = self._conf['vmetal_database']
                    self._engine = read_engine(
                        group.connection, group.connection_parameters,
                        group.connection_recycle_time)
            return self._engine

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.engine.Connection]:
        """A connection in one read transaction (see :meth:`begin`).

        :raises: StoreError, SchemaNotCurrent.
        """
        connection = self.begin()
        try:
            yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _store_error(connection.engine.url, exc)
        finally:
            close_quietly(connection)

    def begin(self) -> sa.engine.Connection:
        """A connection in one read transaction (one snapshot); close it.

        Opening it is retried on a connection error (not what follows:
        a stream cannot be read twice); the schema is checked once.

        :raises: StoreError, SchemaNotCurrent.
        """
        engine = self._open()
        delay = RETRY_INTERVAL
        for attempt in range(self._retries + 1):
            connection = None
            try:
                connection = engine.connect()
                if engine.dialect.name in ('postgresql', 'mysql'):
                    connection = connection.execution_options(
                        isolation_level='REPEATABLE READ')
                connection.begin()
                if not self._checked:
                    check_schema(connection)
                    self._checked = True
                return connection
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                close_quietly(connection)
                if attempt == self._retries:
                    raise _store_error(engine.url, exc)
            except exception.VmetalError:
                close_quietly(connection)
                raise
            except sa.exc.SQLAlchemyError as exc:
                close_quietly(connection)
                raise _store_error(engine.url, exc)
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(1.0, delay * 2)
        raise AssertionError('unreachable')

    def dispose(self) -> None:
        """Close the connections (the reader may be used again)."""
        with self._lock:
            if self._engine is not None and self._own:
                self._engine.dispose()


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
                try:
                    with self._database.reader.connect() as connection:
                        check_schema(connection)
                except (sa.exc.SQLAlchemyError, db_exc.DBError) as exc:
                    raise _store_error(self._database.reader.url, exc)
                self._checked = True
            return self._database

    def dispose(self) -> None:
        """Close the connections (the database may be used again)."""
        with self._lock:
            if self._database is not None:
                self._database.dispose()
