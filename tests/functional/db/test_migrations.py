"""Models and migrations stay in step; 0002 moves profiles per node."""

import json

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.db import models


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])
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
