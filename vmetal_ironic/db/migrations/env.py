"""Alembic environment: runs on the connection vmetal_ironic.db.migration
passes in (``config.attributes['connection']``)."""

from alembic import context

from vmetal_ironic.db import models

config = context.config
connection = config.attributes['connection']
context.configure(connection=connection,
                  target_metadata=models.Base.metadata,
                  version_table=config.get_main_option('version_table'),
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
