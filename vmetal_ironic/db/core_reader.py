"""Reading the IPAM database through a SQLAlchemy Core engine.

The fallback of :class:`~vmetal_ironic.db.lazy.LazyReader` for URLs the
DB-API path (:mod:`~vmetal_ironic.db.dbapi`) does not take, and the
schema check of a full :class:`~vmetal_ironic.db.api.Database`. Imported
only then: the agent's usual path never imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
import types
from typing import Any
from urllib import parse as urlparse

import sqlalchemy as sa
from sqlalchemy import event

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

SQLITE_BUSY_TIMEOUT_MS = 30000
#: The DB-API error names, in SQLAlchemy's exceptions.
ERRORS = types.SimpleNamespace(Error=sa.exc.SQLAlchemyError,
                               OperationalError=sa.exc.OperationalError,
                               InterfaceError=sa.exc.InterfaceError)


class CoreConnection:
    """A :class:`~vmetal_ironic.db.dbapi.Connection` on a Core engine.

    For URLs the driver path does not take, and for an engine handed in
    (tests).
    """

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.backend = engine.dialect.name
        self.safe_url = engine.url.render_as_string(hide_password=True)
        self.errors = ERRORS
        self._conn = engine.connect()

    def begin(self) -> None:
        if self.backend in ('postgresql', 'mysql'):
            self._conn.execution_options(isolation_level='REPEATABLE READ')
        self._conn.begin()
        self._conn.execute(sa.text('SELECT 1')).all()

    def end(self) -> None:
        self._conn.rollback()

    def rows(self, statement: str,
             params: dict[str, Any] | None = None) -> list[tuple]:
        return [tuple(r) for r in self._conn.execute(sa.text(statement),
                                                     params or {})]

    def has_table(self, name: str) -> bool:
        return sa.inspect(self._conn).has_table(name)

    def stream(self, statement: str, params: dict[str, Any] | None,
               batch: int) -> Iterator[list[tuple]]:
        result = self._conn.execution_options(
            stream_results=True, max_row_buffer=batch).execute(
                sa.text(statement), params or {})
        try:
            for rows in result.partitions(batch):
                yield [tuple(r) for r in rows]
        finally:
            result.close()

    def close(self) -> None:
        try:
            self._conn.close()
        except sa.exc.SQLAlchemyError:
            pass


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
    :raises: StoreError for a bad URL.
    """
    try:
        parsed = sa.engine.make_url(url)
        if parameters:
            parsed = parsed.update_query_pairs(
                urlparse.parse_qsl(parameters))
        if parsed.get_backend_name() == 'sqlite':
            engine = sa.create_engine(parsed, poolclass=sa.pool.QueuePool,
                                      pool_size=2, max_overflow=-1)
            _sqlite_reader(engine)
            return engine
        return sa.create_engine(parsed, pool_size=2, max_overflow=4,
                                pool_recycle=recycle, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise exception.StoreError(
            reason=_('bad [vmetal_database]connection: %s') % exc)
