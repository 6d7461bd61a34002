"""Read transactions straight on the DB-API driver: the agent's feed.

The agent reads a few tables with a handful of fixed statements. Through
SQLAlchemy that costs its import (~13 MB of the agent's memory and
0.12-0.5 CPU s of its start-up, measured in doc/performance-agent.md)
for nothing it uses. For the three drivers the project supports and
tests, this module opens the driver itself from the SQLAlchemy URL:

* ``sqlite`` (``pysqlite``): :mod:`sqlite3`, opened read-write but never
  created (``mode=rw``), ``query_only``; one ``BEGIN`` per read (a WAL
  snapshot);
* ``postgresql`` / ``postgresql+psycopg2``: psycopg2, ``REPEATABLE READ``
  read-only transactions, a server-side cursor for a streamed read;
* ``mysql+pymysql``: PyMySQL, ``START TRANSACTION WITH CONSISTENT
  SNAPSHOT, READ ONLY``, an unbuffered cursor for a streamed read.

Any other URL (another driver, query parameters this module does not
translate) is read through a SQLAlchemy Core engine instead
(:mod:`vmetal_ironic.db.lazy`): :func:`parse` returns None for it.

Statements use ``:name`` parameters; :class:`Connection` turns them into
the driver's style.
"""

from __future__ import annotations

from collections.abc import Iterator
import re
from typing import Any
from urllib import parse as urlparse

SQLITE_BUSY_TIMEOUT_S = 30
_NAMED = re.compile(r':(\w+)')
# PyMySQL connect() arguments a URL query may carry, and their types
_MYSQL_QUERY = {'charset': str, 'unix_socket': str, 'connect_timeout': int,
                'read_timeout': int, 'write_timeout': int}


class Target:
    """What to open: a driver module name and its connect() arguments."""

    def __init__(self, backend: str, kwargs: dict[str, Any],
                 safe_url: str) -> None:
        self.backend = backend
        self.kwargs = kwargs
        self.safe_url = safe_url


def parse(url: str, parameters: str | None = None) -> Target | None:
    """The :class:`Target` of a SQLAlchemy URL; None: use SQLAlchemy.

    :param parameters: ``[vmetal_database]connection_parameters`` (a query
        string added to the URL's, as oslo.db does).
    """
    parts = urlparse.urlsplit(url)
    dialect, _, driver = parts.scheme.partition('+')
    query = urlparse.parse_qsl(parts.query) + urlparse.parse_qsl(
        parameters or '')
    if len(dict(query)) != len(query):
        return None                     # a repeated key: SQLAlchemy's job
    options = dict(query)
    if parts.password:
        safe = url.replace(':%s@' % parts.password, ':***@', 1)
    else:
        safe = url
    if dialect == 'sqlite' and driver in ('', 'pysqlite'):
        path = url.split('://', 1)[1]
        path = path[1:] if path.startswith('/') else path
        if not path or path == ':memory:' or '?' in path or options:
            return None
        return Target('sqlite', {'path': path}, safe)
    user = urlparse.unquote(parts.username or '') or None
    password = urlparse.unquote(parts.password or '') or None
    database = urlparse.unquote(parts.path.lstrip('/')) or None
    try:
        port = parts.port
    except ValueError:
        return None
    if dialect in ('postgresql', 'postgres') and driver in ('', 'psycopg2'):
        kwargs: dict[str, Any] = {
            k: v for k, v in (('host', parts.hostname), ('port', port),
                              ('user', user), ('password', password),
                              ('dbname', database)) if v is not None}
        kwargs.update(options)          # libpq parameters, as SQLAlchemy
        return Target('postgresql', kwargs, safe)
    if dialect == 'mysql' and driver == 'pymysql':
        if set(options) - set(_MYSQL_QUERY):
            return None
        kwargs = {k: v for k, v in (('host', parts.hostname),
                                    ('port', port), ('user', user),
                                    ('password', password),
                                    ('database', database)) if v is not None}
        kwargs.setdefault('charset', 'utf8mb4')
        try:
            kwargs.update({k: _MYSQL_QUERY[k](v) for k, v in options.items()})
        except ValueError:
            return None
        return Target('mysql', kwargs, safe)
    return None


def _sqlite(target: Target) -> tuple[Any, Any]:
    import sqlite3
    uri = 'file:%s?mode=rw' % urlparse.quote(target.kwargs['path'])
    conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                           check_same_thread=False,
                           timeout=SQLITE_BUSY_TIMEOUT_S)
    conn.execute('PRAGMA query_only=ON')
    return sqlite3, conn


def _postgresql(target: Target) -> tuple[Any, Any]:
    import psycopg2
    conn = psycopg2.connect(**target.kwargs)
    conn.set_session(isolation_level='REPEATABLE READ', readonly=True)
    return psycopg2, conn


def _mysql(target: Target) -> tuple[Any, Any]:
    import pymysql
    conn = pymysql.connect(autocommit=True, **target.kwargs)
    return pymysql, conn


_OPEN = {'sqlite': _sqlite, 'postgresql': _postgresql, 'mysql': _mysql}
_BEGIN = {'sqlite': 'BEGIN', 'postgresql': None,
          'mysql': 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY'}
_HAS_TABLE = {
    'sqlite': "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
              "name = :name",
    'postgresql': 'SELECT 1 FROM information_schema.tables WHERE '
                  'table_schema = current_schema() AND table_name = :name',
    'mysql': 'SELECT 1 FROM information_schema.tables WHERE '
             'table_schema = DATABASE() AND table_name = :name'}


class Connection:
    """One driver connection; :meth:`begin` starts a read transaction.

    The adapter :mod:`vmetal_ironic.ipam.feed` reads through (the Core
    fallback, :class:`vmetal_ironic.db.lazy.CoreConnection`, has the same
    methods). Driver errors are the driver's (``errors`` is its module:
    ``errors.Error``, ``errors.OperationalError``).

    :raises: the driver's errors (connect).
    """

    def __init__(self, target: Target) -> None:
        self.backend = target.backend
        self.safe_url = target.safe_url
        self.errors, self._conn = _OPEN[target.backend](target)
        self._streams = 0

    def _sql(self, statement: str) -> str:
        if self.backend == 'sqlite':
            return statement                    # sqlite3 takes :name
        return _NAMED.sub(r'%(\1)s', statement)

    def begin(self) -> None:
        """A read transaction (one snapshot), checked alive by a SELECT."""
        begin = _BEGIN[self.backend]
        cur = self._conn.cursor()
        try:
            if begin:
                cur.execute(begin)
            cur.execute('SELECT 1')
            cur.fetchall()
        finally:
            cur.close()

    def end(self) -> None:
        """End the read transaction (a rollback: nothing was written)."""
        if self.backend == 'sqlite':
            if self._conn.in_transaction:
                self._conn.execute('ROLLBACK')
        else:
            self._conn.rollback()

    def rows(self, statement: str,
             params: dict[str, Any] | None = None) -> list[tuple]:
        """Every row of ``statement``, as tuples."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._sql(statement), params or {})
            return list(cur.fetchall())
        finally:
            cur.close()

    def has_table(self, name: str) -> bool:
        return bool(self.rows(_HAS_TABLE[self.backend], {'name': name}))

    def stream(self, statement: str, params: dict[str, Any] | None,
               batch: int) -> Iterator[list[tuple]]:
        """The rows of ``statement`` in lists of up to ``batch``.

        A server-side cursor on PostgreSQL, an unbuffered one on MySQL:
        the rows are never all in memory at once.
        """
        if self.backend == 'postgresql':
            self._streams += 1
            cur = self._conn.cursor(name='vmetal_feed_%d' % self._streams)
            cur.itersize = batch
        elif self.backend == 'mysql':
            import pymysql.cursors
            cur = self._conn.cursor(pymysql.cursors.SSCursor)
        else:
            cur = self._conn.cursor()
            cur.arraysize = batch
        try:
            cur.execute(self._sql(statement), params or {})
            while True:
                rows = cur.fetchmany(batch)
                if not rows:
                    return
                yield rows
        finally:
            try:
                cur.close()
            except Exception:           # its connection is gone already
                pass

    def close(self) -> None:
        """Close the driver connection; never raises."""
        try:
            self._conn.close()
        except Exception:
            pass
