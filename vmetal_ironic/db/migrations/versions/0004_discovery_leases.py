"""Discovery leases: short leases of a pool's discovery range.

``vmetal_pools`` records the pool's ``discovery_range`` (None: off) and
``vmetal_discovery_leases`` holds what the DHCP agents leased from it to
MACs that have no reservation (doc/discovery.md).

Revision ID: 0004_discovery_leases
Revises: 0003_pool_ntp_servers
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = '0004_discovery_leases'
down_revision = '0003_pool_ntp_servers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('vmetal_pools') as batch:
        batch.add_column(sa.Column('discovery_range', sa.String(129),
                                   nullable=True))
    op.create_table(
        'vmetal_discovery_leases',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('pool_id', sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                  nullable=False),
        sa.Column('slot', sa.Integer, nullable=False),
        sa.Column('address', sa.String(64), nullable=False),
        sa.Column('span', sa.String(129), nullable=False),
        sa.Column('mac', sa.String(17), nullable=True),
        sa.Column('expires_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('pool_id', 'address',
                            name='uniq_vmetal_discovery_leases0pool_address'),
        sa.UniqueConstraint('pool_id', 'slot',
                            name='uniq_vmetal_discovery_leases0pool_slot'),
        sa.UniqueConstraint('mac', name='uniq_vmetal_discovery_leases0mac'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('vmetal_discovery_leases_expiry_idx',
                    'vmetal_discovery_leases', ['pool_id', 'expires_at'])
