"""Read transactions on the IPAM database, opened on first use.

The DHCP agent's feed (:class:`~vmetal_ironic.ipam.feed.ReservationFeed`)
is built at start-up, before the database may be reachable; its
:class:`LazyReader` opens it when first asked and refuses a schema that
is not current (:func:`~vmetal_ironic.db.checks.check_schema`).

:class:`LazyReader` gives read transactions for the feed, which is all an
agent without discovery needs (the full Database of the discovery leases
is :mod:`~vmetal_ironic.db.lazy_database`): on the DB-API driver itself
  (:mod:`~vmetal_ironic.db.dbapi`) for SQLite, psycopg2 and PyMySQL URLs,
  else on a SQLAlchemy Core engine (:mod:`~vmetal_ironic.db.core_reader`).
  It imports neither oslo.db, alembic, the ORM nor (on the driver path)
  SQLAlchemy: at start-up they were half of the agent's import time and
  ~35 MB of its memory. Each read is one consistent transaction, so that
  a full read can be streamed.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from typing import Any

from vmetal_ironic.db import checks
from vmetal_ironic.db import dbapi
from vmetal_ironic import exception

#: Seconds before the first retry of opening a read; doubled up to 1 s.
RETRY_INTERVAL = 0.05


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
                    checks.check_sqlite_directory(
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
                raise exception.SchemaNotCurrent(
                    current='none', expected=checks.expected_head())
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
                    checks.check_schema(conn)
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
                    raise checks.store_error(self._safe_url(), exc)
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(1.0, delay * 2)
        raise AssertionError('unreachable')

    def failures(self, conn: Any) -> tuple[type[BaseException], ...]:
        """The exceptions that are database errors on ``conn``."""
        return (conn.errors.Error,)

    def error(self, conn: Any, exc: BaseException) -> exception.StoreError:
        """The StoreError of a read that failed on ``conn``."""
        return checks.store_error(conn.safe_url, exc)

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
