"""A pool's striped cursor in SQL: fresh addresses without a pool lock.

A pool's fresh addresses are handed out by :data:`~vmetal_ironic.ipam.
allocator.STRIPES` cursor rows (``vmetal_pool_cursors``, see
:mod:`vmetal_ironic.ipam.allocator`). An allocation locks the stripe with
the lowest next index that no other transaction holds (``FOR UPDATE SKIP
LOCKED``) and moves it on by one step in the same statement (``UPDATE ...
WHERE stripe = (SELECT ... SKIP LOCKED) RETURNING`` on PostgreSQL and
SQLite; a select and an update on MySQL/MariaDB), claims the stripe's
next free address with one ``INSERT ... ON CONFLICT DO NOTHING`` (a check
and an insert on MySQL/MariaDB) and commits: on PostgreSQL three
statements with the read of the pool and the node's row. Concurrent
allocations in one pool thus lock different rows and commit side by side
(PostgreSQL groups their WAL flushes) instead of queueing behind one
cursor row until each other's commit.

Uniqueness still lives in the database: an address is claimed by its row
under the (pool, address) key, whatever the stripes say.
"""

import typing

import netaddr
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from vmetal_ironic.db import models
from vmetal_ironic.ipam import allocator
from vmetal_ironic.ipam import sql_common

_C = typing.cast(sa.Table, models.PoolCursorRecord.__table__)
_A = typing.cast(sa.Table, models.AllocationRecord.__table__)

# The largest index a BIGINT holds: an IPv6 pool's size may be larger, and
# no cursor ever gets that far.
_MAX_INDEX = 2 ** 63 - 1

_FREE_STRIPE = (sa.select(_C.c.stripe, _C.c.next_index)
                .where(_C.c.pool_id == sa.bindparam('pool'),
                       _C.c.next_index < sa.bindparam('size'))
                .order_by(_C.c.next_index).limit(1))
_FREE_STRIPE_SKIP = _FREE_STRIPE.with_for_update(skip_locked=True)
_FREE_STRIPE_WAIT = _FREE_STRIPE.with_for_update()


def _take_and_move(free_stripe):
    """Move the stripe ``free_stripe`` finds on by one step.

    One statement (``UPDATE ... RETURNING``); returns the stripe and its
    new next index.
    """
    chosen = free_stripe.with_only_columns(_C.c.stripe).scalar_subquery()
    return (sa.update(_C)
            .where(_C.c.pool_id == sa.bindparam('pool'),
                   _C.c.stripe == chosen)
            .values(next_index=_C.c.next_index + allocator.STRIPES)
            .returning(_C.c.stripe, _C.c.next_index))


# Where UPDATE ... RETURNING takes a subquery of its own table
# (PostgreSQL, SQLite; not MySQL/MariaDB).
_TAKE_AND_MOVE_SKIP = _take_and_move(_FREE_STRIPE_SKIP)
_TAKE_AND_MOVE_WAIT = _take_and_move(_FREE_STRIPE_WAIT)
_ONE_STATEMENT = ('postgresql', 'sqlite')
_MOVE = sa.update(_C).where(_C.c.pool_id == sa.bindparam('b_pool'),
                            _C.c.stripe == sa.bindparam('b_stripe'))
_DROP = sa.delete(_C).where(_C.c.pool_id == sa.bindparam('pool'))
_ADD = sa.insert(_C)
_TAKEN = sa.select(_A.c.id).where(_A.c.pool_id == sa.bindparam('pool_id'),
                                  _A.c.address == sa.bindparam('address'))
_INSERT = sa.insert(_A)
# One statement that claims an address unless it has a record. Only the
# (pool, address) key is waived: a conflict on (pool, node) still raises
# (a concurrent allocation for the same node: the transaction is retried).
_INSERT_IF_FREE = {
    'postgresql': postgresql.insert(_A).on_conflict_do_nothing(
        index_elements=['pool_id', 'address']),
    'sqlite': sqlite.insert(_A).on_conflict_do_nothing(
        index_elements=['pool_id', 'address']),
}


def reset(session, pool_id, cursor=0):
    """Restart the pool's stripes at ``cursor`` (a new or changed space).

    Every index below ``cursor`` counts as handed out.
    """
    conn = sql_common.connection(session)
    conn.execute(_DROP, {'pool': pool_id})
    conn.execute(_ADD, [
        {'pool_id': pool_id, 'stripe': stripe,
         'next_index': allocator.stripe_start(cursor, stripe)}
        for stripe in range(allocator.STRIPES)])


def _take_stripe(conn, pool_id, size):
    """Lock the free stripe with the lowest next index.

    :returns: ``(stripe, index to try, moved)``: ``moved`` when the
        stripe's row already points past that index; None when every
        stripe has passed the end. A stripe another transaction holds is
        skipped; when all that have indices left are held, this waits for
        the first of them (it may pass the end meanwhile: the database
        checks the row again when its lock is granted).
    """
    params = {'pool': pool_id, 'size': min(size, _MAX_INDEX)}
    one = conn.dialect.name in _ONE_STATEMENT
    skip, wait = ((_TAKE_AND_MOVE_SKIP, _TAKE_AND_MOVE_WAIT) if one
                  else (_FREE_STRIPE_SKIP, _FREE_STRIPE_WAIT))
    row = conn.execute(skip, params).first()
    if row is None and conn.dialect.name != 'sqlite':
        # (SQLite has no row locks: BEGIN IMMEDIATE made this the writer.)
        row = conn.execute(wait, params).first()
    if row is None:
        return None
    if one:
        return row.stripe, row.next_index - allocator.STRIPES, True
    return row.stripe, row.next_index, False


def _claim(conn, values):
    """Insert the allocation ``values`` unless its address has a record.

    :returns: True when the row was inserted.
    """
    statement = _INSERT_IF_FREE.get(conn.dialect.name)
    if statement is not None:
        return conn.execute(statement, values).rowcount == 1
    if conn.execute(_TAKEN, values).first() is not None:
        return False
    conn.execute(_INSERT, values)
    return True


# (database URL, pool id, pool generation) of the pools whose stripes have
# all passed the end, as this process saw them. Stripes only move forward
# but when the pool's space changes (sql_pools.sync resets them), and that
# gives the pool a new generation in the same transaction: an entry is
# never stale. It saves a pool that is used up (every allocation reuses a
# released address: the steady state of a churned pool) two statements per
# allocation.
_USED_UP: dict = {}


def claim_fresh(session, spec, pool_id, generation, values):
    """Claim the next fresh address of ``spec``'s pool for ``values``.

    :param generation: the pool's generation, read in this transaction.
    :param values: the allocation row's columns but ``address``.
    :returns: the address claimed (text), or None when every stripe has
        passed the end of the space.
    """
    conn = sql_common.connection(session)
    key = (conn.engine.url, pool_id, generation)
    if key in _USED_UP:
        return None
    space = spec.space
    version = spec.version
    while True:
        taken_stripe = _take_stripe(conn, pool_id, space.size)
        if taken_stripe is None:
            if len(_USED_UP) > 64:
                _USED_UP.clear()
            _USED_UP[key] = True
            return None
        stripe, start, moved = taken_stripe
        claimed = []

        def taken(address):
            text = str(netaddr.IPAddress(address, version))
            if _claim(conn, dict(values, address=text)):
                claimed.append(text)
                return False
            return True
        address, cursor = allocator.next_fresh(
            space, start, taken, step=allocator.STRIPES)
        if not moved or cursor != start + allocator.STRIPES:
            conn.execute(_MOVE, {'b_pool': pool_id, 'b_stripe': stripe,
                                 'next_index': min(cursor, _MAX_INDEX)})
        if address is not None:
            return claimed[0]
