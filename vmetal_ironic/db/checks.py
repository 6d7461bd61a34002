"""What an opener checks before it serves the IPAM database.

* the schema: one SELECT of the version table against the head revision
  of the migration files (:func:`head_revision`, read from the files
  without alembic: the DHCP agent never imports it). Every opener checks
  through :func:`check_schema` (the agent's readers, :class:`~vmetal_ironic.
  db.lazy_database.LazyDatabase`, :func:`vmetal_ironic.db.migration.check`
  for the conductor's IPAM manager and the CLI);
* a SQLite file's directory (:func:`check_sqlite_directory`).

This module imports neither oslo.db, alembic nor SQLAlchemy.
"""

from __future__ import annotations

import os
import re
from typing import Any

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

VERSION_TABLE = 'vmetal_alembic_version'
_VERSIONS = os.path.join(os.path.dirname(__file__), 'migrations', 'versions')
_REVISION = re.compile(r'^(revision|down_revision)\s*=\s*[\'"]([^\'"]+)[\'"]',
                       re.MULTILINE)

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


def expected_head() -> str:
    """The revision a current schema is at (read once)."""
    global _head
    if _head is None:
        _head = head_revision()
    return _head


def current_revision(connection: Any) -> str | None:
    """The schema's revision(s), comma-joined; None without any.

    :param connection: a :class:`~vmetal_ironic.db.dbapi.Connection` or
        :class:`~vmetal_ironic.db.core_reader.CoreConnection` in a read
        transaction.
    """
    if not connection.has_table(VERSION_TABLE):
        return None
    found = sorted(r[0] for r in connection.rows(
        'SELECT version_num FROM %s' % VERSION_TABLE))
    return ','.join(found) or None


def check_schema(connection: Any) -> None:
    """:raises: SchemaNotCurrent unless the schema is at the head.

    :param connection: as :func:`current_revision`.
    """
    current = current_revision(connection)
    expected = expected_head()
    if current != expected:
        raise exception.SchemaNotCurrent(current=current or 'none',
                                         expected=expected)


def check_engine(engine: Any) -> None:
    """:func:`check_schema` on a SQLAlchemy engine (one read transaction).

    The engine's errors propagate.

    :raises: SchemaNotCurrent.
    """
    from vmetal_ironic.db import core_reader
    conn = core_reader.CoreConnection(engine)
    try:
        conn.begin()
        check_schema(conn)
    finally:
        conn.close()


def check_sqlite_directory(path: str | None) -> None:
    """:raises: StoreError if the directory of SQLite file ``path`` is gone.

    ``path`` None or ``:memory:``: nothing to check. The one check of both
    openers (:class:`~vmetal_ironic.db.lazy.LazyReader` and
    :class:`~vmetal_ironic.db.api.Database`).
    """
    if path and path != ':memory:' and not os.path.isdir(
            os.path.dirname(os.path.abspath(path))):
        raise exception.StoreError(
            reason=_('the directory of the SQLite database %s does not '
                     'exist: create it (vmetal-dbsync upgrade does) or set '
                     '[vmetal_database]connection') % path)


def store_error(safe_url: str, exc: BaseException) -> exception.StoreError:
    """The StoreError of a database that cannot be read."""
    return exception.StoreError(
        reason=_('cannot read %(url)s: %(err)s')
        % {'url': safe_url, 'err': exc})
