"""The oldest released address is found in the index, ties and all.

A recycling allocation takes the released address with the oldest
``released_at``, ties broken by ``id``. The index had ``released_at`` but
not ``id``: every released row of one release time (a reconcile, a batch
of tear-downs, a pool filled in one transaction) was read and sorted for
each allocation (2.7 ms for 6,553 rows on PostgreSQL). With ``id`` last
the index hands out the first row in order.

Revision ID: 0008_recycle_order_index
Revises: 0007_pool_cursors
Create Date: 2026-12-03
"""

from alembic import op

revision = '0008_recycle_order_index'
down_revision = '0007_pool_cursors'
branch_labels = None
depends_on = None


def upgrade():
    # The new index before the old one goes: MySQL's foreign key on
    # pool_id always has an index to use.
    op.create_index('vmetal_allocations_recycle_order_idx',
                    'vmetal_allocations',
                    ['pool_id', 'state', 'pinned', 'released_at', 'id'])
    op.drop_index('vmetal_allocations_recycle_idx',
                  table_name='vmetal_allocations')
