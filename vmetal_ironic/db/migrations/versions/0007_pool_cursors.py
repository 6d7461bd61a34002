"""Striped allocation cursors: concurrent allocators stop waiting.

A pool's single cursor (``vmetal_pools.next_index``, locked by every fresh
allocation until its commit) becomes ``STRIPES`` rows of
``vmetal_pool_cursors``: stripe ``s`` hands out the indices ``s, s +
STRIPES, ...``. Each stripe starts at the first index of its own at or
after the pool's cursor, so no address below the cursor is handed out
again.

Revision ID: 0007_pool_cursors
Revises: 0006_reservation_families
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0007_pool_cursors'
down_revision = '0006_reservation_families'
branch_labels = None
depends_on = None

# allocator.STRIPES when this migration was written (a migration must not
# change when the code's constant does).
STRIPES = 8


def upgrade():
    cursors = op.create_table(
        'vmetal_pool_cursors',
        sa.Column('pool_id', sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                  primary_key=True, autoincrement=False),
        sa.Column('stripe', sa.SmallInteger, primary_key=True,
                  autoincrement=False),
        sa.Column('next_index', sa.BigInteger, nullable=False))
    op.create_index('vmetal_pool_cursors_next_idx', 'vmetal_pool_cursors',
                    ['pool_id', 'next_index'])
    pools = sa.table('vmetal_pools', sa.column('id', sa.Integer),
                     sa.column('next_index', sa.BigInteger))
    rows = op.get_bind().execute(sa.select(pools.c.id,
                                           pools.c.next_index)).all()
    values = [{'pool_id': pool_id, 'stripe': stripe,
               'next_index': cursor + (stripe - cursor) % STRIPES}
              for pool_id, cursor in rows for stripe in range(STRIPES)]
    if values:
        op.bulk_insert(cursors, values)
