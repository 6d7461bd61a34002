"""Leases: one conductor runs the reconcile per interval.

``vmetal_leases`` holds one row per cluster-wide job (today only
``reconcile``); the row is created here so that taking the lease is always
a conditional UPDATE of an existing row.

Revision ID: 0005_leases
Revises: 0004_discovery_leases
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = '0005_leases'
down_revision = '0004_discovery_leases'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'vmetal_leases',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('holder', sa.String(255), nullable=True),
        sa.Column('taken_at', sa.DateTime, nullable=True),
        sa.Column('expires_at', sa.DateTime, nullable=True),
        sa.Column('runs', sa.BigInteger, nullable=False),
        sa.Column('finished_at', sa.DateTime, nullable=True),
        sa.Column('last_released', sa.Integer, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.bulk_insert(table, [{'name': 'reconcile', 'runs': 0,
                            'last_released': 0}])
