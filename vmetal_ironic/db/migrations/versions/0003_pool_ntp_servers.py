"""Pools record their NTP servers.

``vmetal_pools.ntp_servers`` holds the pool's ``ntp_servers`` (a JSON
list). Pools recorded before this revision read as having none until the
next pool sync (``vmetal-dbsync upgrade``) records them.

Revision ID: 0003_pool_ntp_servers
Revises: 0002_node_boot_profiles
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = '0003_pool_ntp_servers'
down_revision = '0002_node_boot_profiles'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('vmetal_pools') as batch:
        batch.add_column(sa.Column('ntp_servers', sa.Text, nullable=True))
