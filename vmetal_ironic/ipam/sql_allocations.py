"""Allocations in SQL: allocate, pin, release, reconcile, usage.

Every function runs inside one transaction given by the caller
(:meth:`vmetal_ironic.db.api.Database.write`), which retries it as a whole
on a uniqueness conflict or a deadlock.

Cost of one allocation: a few indexed statements, whatever the fill of the
pool (a fresh one on PostgreSQL: the pool with the node's row, the stripe,
the claim, the stripe moved on). Fresh addresses come from a stripe of the
pool's cursor (:mod:`vmetal_ironic.ipam.sql_cursors`) that no concurrent
allocation holds; after every stripe has passed the end, the oldest
released address out of quarantine is reused.
"""

import dataclasses
import datetime
import types
import typing

import netaddr
from oslo_log import log
import sqlalchemy as sa

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import scope as scope_mod
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_cursors
from vmetal_ironic.ipam import sql_profiles
from vmetal_ironic.ipam import sql_reservations

LOG = log.getLogger(__name__)

Alloc = models.AllocationRecord
PoolRow = models.PoolRecord


def _rank(scope):
    """A longer-lived scope replaces a shorter one on an allocation.

    (A cleaning-time allocation that a deployment then asks for becomes
    the deployment's.) Phase scopes rank lowest.
    """
    try:
        return scope_mod.parse(scope).rank
    except ValueError:          # a scope stored before they were checked
        return 1


def _pool_row(session, name, lock=False):
    query = sa.select(PoolRow).where(PoolRow.name == name)
    if lock:
        query = query.with_for_update().execution_options(
            populate_existing=True)
    row = session.execute(query).scalar_one_or_none()
    if row is None or row.retired:
        raise exception.UnknownPool(pool=name)
    return row


def _pools_by_id(session, generation=None):
    return sql_common.pools_by_id(session, generation)


_A = typing.cast(sa.Table, Alloc.__table__)


def to_record(row, pool):
    return records.Allocation(
        pool=pool, node_uuid=row.node_uuid, address=row.address,
        state=row.state, scope=row.scope, pinned=row.pinned,
        allocated_at=row.allocated_at, released_at=row.released_at)


def _activate(row, node_uuid, scope, now):
    row.node_uuid = node_uuid
    row.state = records.ACTIVE
    row.scope = str(scope)
    row.allocated_at = now
    row.released_at = None


_P = typing.cast(sa.Table, PoolRow.__table__)
# The pool's row and the node's allocation in it: one statement.
_POOL_AND_NODE = (
    sa.select(_P, *[c.label('a_' + c.name) for c in _A.c])
    .select_from(_P.outerjoin(_A, sa.and_(
        _A.c.pool_id == _P.c.id, _A.c.node_uuid == sa.bindparam('node'))))
    .where(_P.c.name == sa.bindparam('name')))
# The statements of the hot paths are built once: building one costs
# several times what executing it does.
_FOR_NODE = (sa.select(_A).where(_A.c.node_uuid == sa.bindparam('node'))
             .order_by(_A.c.id))
_ACTIVE_FOR_NODE = _FOR_NODE.where(_A.c.state == records.ACTIVE)
_FOR_NODE_LOCKED = _FOR_NODE.with_for_update()
# SET columns: the parameters named like columns; the row by b_id.
_UPDATE = sa.update(_A).where(_A.c.id == sa.bindparam('b_id'))
_DELETE = sa.delete(_A).where(_A.c.id == sa.bindparam('b_id'))
# A released row made active, only if it is still released and held by
# the node read (IS NOT DISTINCT FROM: a forgotten row's node is NULL).
_REUSE = sa.update(_A).where(
    _A.c.id == sa.bindparam('b_id'), _A.c.state == records.RELEASED,
    _A.c.node_uuid.is_not_distinct_from(sa.bindparam('b_node')))
# The pools' generation (sql_common.pools_generation) beside the node's
# active allocations: one statement, one row even for a node with none.
_POOLS_GENERATION = sa.select(sa.func.coalesce(
    sa.func.max(_P.c.generation), 0).label('pools_generation')).subquery()
_ACTIVE_WITH_GENERATION = (
    sa.select(_POOLS_GENERATION.c.pools_generation, _A)
    .select_from(_POOLS_GENERATION.outerjoin(_A, sa.and_(
        _A.c.node_uuid == sa.bindparam('node'),
        _A.c.state == records.ACTIVE)))
    .order_by(_A.c.id))
_RECYCLABLE = (sa.select(_A).where(
    _A.c.pool_id == sa.bindparam('pool'), _A.c.state == records.RELEASED,
    _A.c.pinned.is_(False), _A.c.released_at <= sa.bindparam('threshold'))
    .order_by(_A.c.released_at, _A.c.id).limit(1))
_RECYCLABLE_SKIP = _RECYCLABLE.with_for_update(skip_locked=True)
_RECYCLABLE_WAIT = _RECYCLABLE.with_for_update()


def _pool_and_node(conn, spec, node_uuid):
    """The pool's record, id and generation, the node's row in it or None.

    :raises: UnknownPool.
    """
    row = conn.execute(_POOL_AND_NODE, {'name': spec.name,
                                        'node': node_uuid}).first()
    if row is None or row.retired:
        raise exception.UnknownPool(pool=spec.name)
    held = None
    if row.a_id is not None:
        mapping = row._mapping
        held = types.SimpleNamespace(**{
            name: mapping['a_' + name] for name in _A.c.keys()})
    return sql_common.pool_record(row), row.id, row.generation, held


def allocate(session, spec, node_uuid, scope, quarantine, now):
    """The node's address in ``spec``'s pool (:func:`placed`)."""
    return placed(session, spec, node_uuid, scope, quarantine, now)[0]


def placed(session, spec, node_uuid, scope, quarantine, now):
    """(the node's address in ``spec``'s pool, the pool's id).

    The id is what the node's reservations of the address point at: the
    caller who reserves them next need not read it again.

    Idempotent: a node with an active allocation gets it back. Sticky: a
    node whose released address is still free gets it back, quarantine or
    not. Otherwise a fresh address (:func:`sql_cursors.claim_fresh`: a
    stripe of the pool's cursor that no concurrent allocation holds), or
    the oldest released one whose quarantine is over.

    No pool-wide lock: concurrent allocations lock different rows (a
    cursor stripe, a released row: ``SKIP LOCKED``), the database's
    unique keys decide every race, and a row another allocation changed
    first is updated only if it is still as read (else the transaction
    runs again: :class:`~vmetal_ironic.db.api.Retry`).

    :raises: PoolExhausted, UnknownPool.
    """
    conn = sql_common.connection(session)
    pool, pool_id, generation, row = _pool_and_node(conn, spec, node_uuid)
    try:
        if row is not None:
            if row.state == records.ACTIVE:
                if _rank(scope) > _rank(row.scope):
                    conn.execute(_UPDATE, {'b_id': row.id,
                                           'scope': str(scope)})
                    return dataclasses.replace(to_record(row, pool),
                                               scope=str(scope)), pool_id
                return to_record(row, pool), pool_id
            if row.pinned or int(netaddr.IPAddress(row.address)) in (
                    spec.space):
                LOG.info('Node %(node)s got its address %(addr)s back in '
                         'pool %(pool)s', {'node': node_uuid,
                                           'addr': row.address,
                                           'pool': spec.name})
                return _reused(conn, row, pool, node_uuid, scope,
                               now), pool_id
            conn.execute(_DELETE, {'b_id': row.id})

        text = sql_cursors.claim_fresh(conn, spec, pool_id, generation, {
            'pool_id': pool_id, 'pinned': False, 'node_uuid': node_uuid,
            'state': records.ACTIVE, 'scope': str(scope),
            'allocated_at': now, 'released_at': None})
        if text is not None:
            return records.Allocation(
                pool=pool, node_uuid=node_uuid, address=text,
                state=records.ACTIVE, scope=str(scope), pinned=False,
                allocated_at=now, released_at=None), pool_id

        params = {'pool': pool_id,
                  'threshold': now - datetime.timedelta(seconds=quarantine)}
        while True:
            row = _recyclable(conn, params)
            if row is None:
                raise exception.PoolExhausted(pool=spec.name,
                                              size=spec.space.size)
            if int(netaddr.IPAddress(row.address)) in spec.space:
                return _reused(conn, row, pool, node_uuid, scope,
                               now), pool_id
            conn.execute(_DELETE, {'b_id': row.id})
    finally:
        sql_common.core_changed(session)


def _recyclable(conn, params):
    """Lock the oldest released address out of quarantine, or None.

    Rows another allocation holds are skipped; when it holds all that
    are left, this waits for the first (rechecked when granted).
    """
    row = conn.execute(_RECYCLABLE_SKIP, params).first()
    if row is None and conn.dialect.name != 'sqlite':
        row = conn.execute(_RECYCLABLE_WAIT, params).first()
    return row


def _reused(conn, row, pool, node_uuid, scope, now):
    """Give the released ``row`` to the node, if it is still as read.

    A concurrent allocation may have taken it first (the sticky row of
    one node, recycled for another): then the transaction runs again.
    """
    result = conn.execute(_REUSE, {
        'b_id': row.id, 'b_node': row.node_uuid, 'node_uuid': node_uuid,
        'state': records.ACTIVE, 'scope': str(scope), 'allocated_at': now,
        'released_at': None})
    if result.rowcount != 1:
        raise db_api.Retry('released address %s was taken meanwhile'
                           % row.address)
    return records.Allocation(
        pool=pool, node_uuid=node_uuid, address=row.address,
        state=records.ACTIVE, scope=str(scope), pinned=row.pinned,
        allocated_at=now, released_at=None)


def pin(session, spec, node_uuid, address, scope, now):
    """Give ``address`` of ``spec``'s pool to the node, for good.

    The node's previous address in the pool, if any, is released. A
    released address in quarantine may be pinned (the operator decides);
    an address another node holds may not.

    :raises: InvalidAddress, AddressInUse.
    """
    ip = netaddr.IPAddress(address)
    spec.check_pinnable(ip)
    address = str(ip)
    pool_row = _pool_row(session, spec.name, lock=True)
    pool = sql_common.pool_record(pool_row)
    by_address = session.execute(sa.select(Alloc).where(
        Alloc.pool_id == pool_row.id,
        Alloc.address == address)).scalar_one_or_none()
    by_node = session.execute(sa.select(Alloc).where(
        Alloc.pool_id == pool_row.id,
        Alloc.node_uuid == node_uuid)).scalar_one_or_none()
    if by_address is not None and by_address.node_uuid != node_uuid and (
            by_address.state == records.ACTIVE or by_address.pinned):
        raise exception.AddressInUse(address=address, pool=spec.name,
                                     holder=by_address.node_uuid)
    if by_node is not None and by_node is not by_address:
        _detach(by_node, now)
        session.flush()
    row = by_address
    if row is None:
        row = Alloc(pool_id=pool_row.id, address=address)
        session.add(row)
    if row.state != records.ACTIVE or row.node_uuid != node_uuid:
        _activate(row, node_uuid, scope, now)
    elif _rank(scope) > _rank(row.scope):
        row.scope = str(scope)
    row.pinned = True
    session.flush()
    sql_reservations.readdress(session, node_uuid, pool_row.id, address, now)
    LOG.info('Node %(node)s pinned to %(addr)s in pool %(pool)s',
             {'node': node_uuid, 'addr': address, 'pool': spec.name})
    return to_record(row, pool)


def _detach(row, now):
    """Release ``row`` and forget its node (quarantine still applies)."""
    if row.state == records.ACTIVE:
        row.state = records.RELEASED
        row.released_at = now
    row.node_uuid = None
    row.pinned = False


def for_node(session, node_uuid, active_only=True, generation=None):
    """The node's allocations (``generation``: see pools_by_id)."""
    query = _ACTIVE_FOR_NODE if active_only else _FOR_NODE
    rows = sql_common.connection(session).execute(
        query, {'node': node_uuid}).all()
    if not rows:
        return []
    pools = _pools_by_id(session, generation)
    return [to_record(r, pools[r.pool_id]) for r in rows]


def active_with_generation(session, node_uuid):
    """(the node's active allocations, the pools' generation), one read."""
    rows = sql_common.connection(session).execute(
        _ACTIVE_WITH_GENERATION, {'node': node_uuid}).all()
    generation = rows[0].pools_generation
    rows = [r for r in rows if r.id is not None]
    if not rows:
        return [], generation
    pools = _pools_by_id(session, generation)
    return [to_record(r, pools[r.pool_id]) for r in rows], generation


def listing(session, pool=None, states=None, pinned=None):
    query = sa.select(Alloc).where(Alloc.node_uuid.is_not(None))
    if pinned is not None:
        query = query.where(Alloc.pinned.is_(bool(pinned)))
    if pool:
        query = query.where(Alloc.pool_id == _pool_row(session, pool).id)
    if states:
        query = query.where(Alloc.state.in_(list(states)))
    pools = _pools_by_id(session)
    return [to_record(r, pools[r.pool_id]) for r in
            session.execute(query.order_by(Alloc.pool_id, Alloc.id))
            .scalars()]


def release(session, node_uuid, scope, forget, now):
    """Release the node's active allocations (of ``scope`` if given).

    The node keeps a claim on each released address (sticky) and a pinned
    one stays its own. ``forget`` (the node is gone) drops every claim and
    pin of the node; the addresses still wait out the quarantine. The
    node's reservations in the released pools are deleted.

    :returns: the allocations released (as they are now).
    """
    # Locked: a concurrent release of the same node (the notification
    # driver and the reconcile) waits, then finds nothing left to release.
    conn = sql_common.connection(session)
    rows = conn.execute(_FOR_NODE_LOCKED, {'node': node_uuid}).all()
    released = []
    pool_ids = set()
    for row in rows:
        values = {}
        if row.state == records.ACTIVE and (scope is None
                                            or row.scope == str(scope)):
            values.update(state=records.RELEASED, released_at=now)
            released.append(row)
            pool_ids.add(row.pool_id)
        if forget:
            # What _detach does to an ORM row.
            values.update(node_uuid=None, pinned=False)
            if row.state == records.ACTIVE:
                values.update(state=records.RELEASED, released_at=now)
            pool_ids.add(row.pool_id)
        if values:
            values['b_id'] = row.id
            conn.execute(_UPDATE, values)
    sql_common.core_changed(session)
    if pool_ids or forget:
        # A forgotten node loses every reservation, also those of pools
        # where it holds nothing (or of no pool at all).
        sql_reservations.delete(session, now, node_uuid=node_uuid,
                                pool_ids=None if forget else pool_ids)
    if forget:
        sql_profiles.delete(session, node_uuid)
    if not released:
        return []
    pools = _pools_by_id(session)
    result = []
    for row in released:
        LOG.info('Node %(node)s released %(addr)s in pool %(pool)s',
                 {'node': node_uuid, 'addr': row.address,
                  'pool': pools[row.pool_id].name})
        # Reported with the node that held them, even when forgotten now.
        result.append(dataclasses.replace(
            to_record(row, pools[row.pool_id]), node_uuid=node_uuid,
            state=records.RELEASED, released_at=now,
            pinned=False if forget else row.pinned))
    return result


def reconcile(session, live, now, tombstone_ttl):
    """Forget every node that is not in ``live``; purge old tombstones.

    :returns: the allocations that were active and got released.
    """
    held = set(session.execute(sa.select(Alloc.node_uuid).where(
        Alloc.node_uuid.is_not(None)).distinct()).scalars())
    reserved = set(session.execute(sa.select(
        models.ReservationRecord.node_uuid).where(
            models.ReservationRecord.node_uuid.is_not(None),
            models.ReservationRecord.deleted.is_(False)).distinct()).scalars())
    released = []
    for node_uuid in sorted(held - live):
        LOG.info('Node %s no longer exists: releasing its addresses',
                 node_uuid)
        released.extend(release(session, node_uuid, None, True, now))
    for node_uuid in sorted(reserved - held - live):
        sql_reservations.delete(session, now, node_uuid=node_uuid)
    profiled = set(session.execute(sa.select(
        models.BootProfileRecord.node_uuid)).scalars())
    for node_uuid in sorted(profiled - held - live):
        sql_profiles.delete(session, node_uuid)
    sql_reservations.purge_tombstones(
        session, now - datetime.timedelta(seconds=tombstone_ttl))
    return released


def usage(session, quarantine, pool=None, now=None):
    """Size, used, quarantined and held counts, one SQL query per kind."""
    live = {row.id: sql_common.pool_record(row) for row in
            session.execute(sa.select(PoolRow).where(
                PoolRow.retired.is_(False)).order_by(PoolRow.id)).scalars()}
    threshold = now - datetime.timedelta(seconds=quarantine)

    def count(*conditions):
        rows = session.execute(sa.select(Alloc.pool_id, sa.func.count())
                               .where(*conditions)
                               .group_by(Alloc.pool_id)).all()
        return dict(rows)

    used = count(Alloc.state == records.ACTIVE)
    quarantined = count(Alloc.state == records.RELEASED,
                        Alloc.pinned.is_(False),
                        Alloc.released_at > threshold)
    held = count(Alloc.state == records.RELEASED, Alloc.pinned.is_(True))
    result = []
    for pool_id, record in live.items():
        if pool and record.name != pool:
            continue
        result.append(records.PoolUsage(
            pool=record, size=record.size, used=used.get(pool_id, 0),
            quarantined=quarantined.get(pool_id, 0),
            held=held.get(pool_id, 0)))
    if pool and not result:
        raise exception.UnknownPool(pool=pool)
    return result


def drop_released_outside(session, pool_row, space):
    """After a pool's space changed: forget released addresses outside it.

    Pinned ones stay: an operator pin may lie outside the ranges.
    """
    rows = session.execute(sa.select(Alloc).where(
        Alloc.pool_id == pool_row.id, Alloc.state == records.RELEASED,
        Alloc.pinned.is_(False))).scalars()
    dropped = 0
    for row in rows:
        if int(netaddr.IPAddress(row.address)) not in space:
            session.delete(row)
            dropped += 1
    if dropped:
        LOG.info('Pool %(pool)s: %(n)d released addresses are outside its '
                 'new ranges and were dropped',
                 {'pool': pool_row.name, 'n': dropped})
