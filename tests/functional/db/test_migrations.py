"""Models and migrations stay in step; 0002 moves profiles per node."""

import json

from alembic import autogenerate
from alembic import migration as alembic_migration
from oslo_db import exception as db_exc
import pytest
import sqlalchemy as sa

from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.db import models


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql', 'mysql'])
def test_models_match_migrations(backend, tmp_path):
    with databases.temporary_database(backend, tmp_path) as url:
        database = db_api.Database(url)
        try:
            migration.upgrade(database.writer)
            with database.writer.connect() as connection:
                context = alembic_migration.MigrationContext.configure(
                    connection, opts={
                        'compare_type': True,
                        'version_table': migration.VERSION_TABLE})
                diff = autogenerate.compare_metadata(
                    context, models.Base.metadata)
        finally:
            database.dispose()
    assert diff == []


def test_profiles_move_to_the_node(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'old.sqlite')
    database = db_api.Database(url)
    try:
        migration.upgrade(database.writer, '0001_initial')
        now = '2026-01-01 00:00:00'
        with database.writer.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO vmetal_reservations (mac, node_uuid, "
                "boot_profile, generation, deleted, updated_at) VALUES "
                "('52:54:00:00:00:01', 'n1', ?, 1, 0, ?), "
                "('52:54:00:00:00:02', 'n1', ?, 2, 0, ?), "
                "('52:54:00:00:00:03', 'n2', '{}', 3, 0, ?)",
                (json.dumps({'bootfile': 'old.efi'}), now,
                 json.dumps({'bootfile': 'snponly.efi',
                             'ipv6_bootfile_url': 'tftp://[::1]/x',
                             'options': [{'opt_name': '67'}]}), now, now))
        migration.upgrade(database.writer)
        with database.reader.connect() as connection:
            rows = connection.execute(sa.text(
                'SELECT node_uuid, profile FROM vmetal_boot_profiles'
            )).all()
            columns = {c['name'] for c in sa.inspect(connection).get_columns(
                'vmetal_reservations')}
    finally:
        database.dispose()
    # The newest profile of the node, only the BootProfile fields.
    assert [(n, json.loads(p)) for n, p in rows] == \
        [('n1', {'bootfile': 'snponly.efi'})]
    assert 'boot_profile' not in columns


@pytest.mark.parametrize('backend', databases.BACKENDS)
def test_reservations_get_their_ip_version(backend, tmp_path):
    """0006: existing rows keep their data and get their address's family.

    A MAC may then hold one row of each version, not two of one.
    """
    with databases.temporary_database(backend, tmp_path) as url:
        database = db_api.Database(url)
        try:
            migration.upgrade(database.writer, '0005_leases')
            now = '2026-01-01 00:00:00'
            with database.writer.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO vmetal_reservations (mac, node_uuid, "
                    "address, generation, deleted, updated_at) VALUES "
                    "('52:54:00:00:00:01', 'n1', '172.22.0.50', 1, :f, :t),"
                    "('52:54:00:00:00:02', 'n2', 'fd00::50', 2, :f, :t),"
                    "('52:54:00:00:00:03', 'n3', NULL, 3, :d, :t)"),
                    {'f': False, 'd': True, 't': now})
            migration.upgrade(database.writer)
            with database.reader.connect() as connection:
                rows = connection.execute(sa.text(
                    'SELECT mac, node_uuid, address, generation, deleted, '
                    'ip_version FROM vmetal_reservations ORDER BY mac'
                )).all()
            assert [tuple(r) for r in rows] == [
                ('52:54:00:00:00:01', 'n1', '172.22.0.50', 1, False, 4),
                ('52:54:00:00:00:02', 'n2', 'fd00::50', 2, False, 6),
                ('52:54:00:00:00:03', 'n3', None, 3, True, 4)]
            insert = sa.text(
                "INSERT INTO vmetal_reservations (mac, node_uuid, address, "
                "generation, deleted, updated_at, ip_version) VALUES "
                "('52:54:00:00:00:01', 'n1', :a, :g, :f, :t, :v)")
            with database.writer.begin() as connection:
                connection.execute(insert, {'a': 'fd00::51', 'g': 4,
                                            'f': False, 't': now, 'v': 6})
            with pytest.raises(db_exc.DBDuplicateEntry):
                with database.writer.begin() as connection:
                    connection.execute(insert, {'a': '172.22.0.51', 'g': 5,
                                                'f': False, 't': now,
                                                'v': 4})
        finally:
            database.dispose()


@pytest.mark.parametrize('backend', databases.BACKENDS)
def test_pool_cursor_becomes_stripes(backend, tmp_path):
    """0007: each stripe starts at its first index at or after the cursor.

    No index below the old cursor is handed out again.
    """
    with databases.temporary_database(backend, tmp_path) as url:
        database = db_api.Database(url)
        try:
            migration.upgrade(database.writer, '0006_reservation_families')
            with database.writer.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO vmetal_pools (name, version, cidr, "
                    "prefixlen, netmask, dns_servers, routes, "
                    "resource_classes, size, space_fingerprint, next_index, "
                    "retired, generation, created_at, updated_at) VALUES "
                    "('p', 4, '10.0.0.0/24', 24, '255.255.255.0', '[]', "
                    "'[]', '[]', '253', 'x', 13, :f, 1, :t, :t)"),
                    {'f': False, 't': '2026-01-01 00:00:00'})
            migration.upgrade(database.writer)
            with database.reader.connect() as connection:
                rows = connection.execute(sa.text(
                    'SELECT stripe, next_index FROM vmetal_pool_cursors '
                    'ORDER BY stripe')).all()
        finally:
            database.dispose()
    assert [tuple(r) for r in rows] == [
        (0, 16), (1, 17), (2, 18), (3, 19), (4, 20), (5, 13), (6, 14),
        (7, 15)]
