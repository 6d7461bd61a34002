"""The initial IPAM schema: pools, allocations, reservations, counters.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'vmetal_pools',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('version', sa.SmallInteger, nullable=False),
        sa.Column('cidr', sa.String(64), nullable=False),
        sa.Column('prefixlen', sa.SmallInteger, nullable=False),
        sa.Column('netmask', sa.String(64), nullable=False),
        sa.Column('gateway', sa.String(64), nullable=True),
        sa.Column('dns_servers', sa.Text, nullable=False),
        sa.Column('mtu', sa.Integer, nullable=True),
        sa.Column('routes', sa.Text, nullable=False),
        sa.Column('vlan_id', sa.Integer, nullable=True),
        sa.Column('domain', sa.String(255), nullable=True),
        sa.Column('resource_classes', sa.Text, nullable=False),
        sa.Column('size', sa.String(40), nullable=False),
        sa.Column('space_fingerprint', sa.String(64), nullable=False),
        sa.Column('next_index', sa.BigInteger, nullable=False),
        sa.Column('retired', sa.Boolean, nullable=False),
        sa.Column('generation', sa.BigInteger, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('name', name='uniq_vmetal_pools0name'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_table(
        'vmetal_allocations',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('pool_id', sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                  nullable=False),
        sa.Column('node_uuid', sa.String(36), nullable=True),
        sa.Column('address', sa.String(64), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('scope', sa.String(32), nullable=False),
        sa.Column('pinned', sa.Boolean, nullable=False),
        sa.Column('allocated_at', sa.DateTime, nullable=True),
        sa.Column('released_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('pool_id', 'address',
                            name='uniq_vmetal_allocations0pool_address'),
        sa.UniqueConstraint('pool_id', 'node_uuid',
                            name='uniq_vmetal_allocations0pool_node'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('vmetal_allocations_recycle_idx', 'vmetal_allocations',
                    ['pool_id', 'state', 'pinned', 'released_at'])
    op.create_index('vmetal_allocations_node_idx', 'vmetal_allocations',
                    ['node_uuid'])
    op.create_table(
        'vmetal_reservations',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('mac', sa.String(17), nullable=False),
        sa.Column('node_uuid', sa.String(36), nullable=True),
        sa.Column('pool_id', sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                  nullable=True),
        sa.Column('address', sa.String(64), nullable=True),
        sa.Column('hostname', sa.String(255), nullable=True),
        sa.Column('client_id', sa.String(255), nullable=True),
        sa.Column('boot_profile', sa.Text, nullable=False),
        sa.Column('generation', sa.BigInteger, nullable=False),
        sa.Column('deleted', sa.Boolean, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('mac', name='uniq_vmetal_reservations0mac'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('vmetal_reservations_generation_idx',
                    'vmetal_reservations', ['generation'])
    op.create_index('vmetal_reservations_node_idx', 'vmetal_reservations',
                    ['node_uuid'])
    counters = op.create_table(
        'vmetal_counters',
        sa.Column('name', sa.String(32), primary_key=True),
        sa.Column('value', sa.BigInteger, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.bulk_insert(counters, [{'name': 'generation', 'value': 0},
                              {'name': 'purged_generation', 'value': 0}])
