"""Schema migrations of the IPAM store (alembic, run programmatically).

The version table is ``vmetal_alembic_version``, so the IPAM tables may
live in a database shared with other services without clashing with their
own ``alembic_version``. Whether a schema is current is
:func:`vmetal_ironic.db.checks.check_schema` for every opener (:func:`check`
here); :func:`head` is alembic's view of the same files (a test checks
both agree).
"""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from vmetal_ironic.db import checks

VERSION_TABLE = checks.VERSION_TABLE
_SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection=None):
    config = alembic_config.Config()
    config.set_main_option('script_location', _SCRIPT_LOCATION)
    config.set_main_option('version_table', VERSION_TABLE)
    config.attributes['connection'] = connection
    return config


def head():
    """The newest revision the code knows."""
    scripts = alembic_script.ScriptDirectory.from_config(_config())
    return scripts.get_current_head()


def current(engine):
    """The revision of the database, None for an empty one."""
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(
            connection, opts={'version_table': VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine, revision='head'):
    """Create or upgrade the schema to ``revision``."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def check(engine):
    """:raises: SchemaNotCurrent unless the schema is at the head."""
    checks.check_engine(engine)
