"""Helpers shared by the SQL modules of the IPAM store.

The hooks' hot paths use Core statements on the session's connection
(:func:`connection`): an ORM query costs several times a Core one in
Python, and a hook runs a handful of them per call. The ORM stays where a
path is rare (pool sync, pins, reconcile).
"""

import datetime
import typing

import sqlalchemy as sa

from vmetal_ironic.db import models
from vmetal_ironic.ipam import records


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def connection(session):
    """The session's connection, for Core statements, after a flush.

    The flush makes the ORM's pending changes visible to them; a caller
    that changes rows with Core calls :func:`core_changed` after. A
    transaction run with ``core=True`` (:meth:`vmetal_ironic.db.api.
    Database.read`) has a Connection already: it is returned as it is.
    """
    if isinstance(session, sa.engine.Connection):
        return session
    session.flush()
    return session.connection()


def core_changed(session):
    """Rows were changed with Core: the ORM must not trust what it holds."""
    if getattr(session, 'identity_map', None):
        session.expire_all()


_COUNTER = typing.cast(sa.Table, models.Counter.__table__)
_BUMP = (sa.update(_COUNTER).where(_COUNTER.c.name == 'generation')
         .values(value=_COUNTER.c.value + sa.bindparam('count')))
_BUMP_RETURNING = _BUMP.returning(_COUNTER.c.value)
_GENERATION = sa.select(_COUNTER.c.value).where(
    _COUNTER.c.name == 'generation')


def bump_generation(session, count=1):
    """Add ``count`` to the global generation; returns the new value.

    A caller that needs ``count`` generations uses the values up to the
    returned one. The row lock taken by the UPDATE orders concurrent
    writers, so generations become visible in increasing order. One
    statement where the database has UPDATE ... RETURNING.
    """
    conn = connection(session)
    if conn.dialect.update_returning:
        return conn.execute(_BUMP_RETURNING, {'count': count}).scalar_one()
    conn.execute(_BUMP, {'count': count})
    return conn.execute(_GENERATION).scalar_one()


def counters(session):
    rows = session.execute(sa.select(models.Counter.name,
                                     models.Counter.value)).all()
    return dict(rows)


def pool_record(row):
    """A :class:`records.Pool` from a ``vmetal_pools`` row (ORM or Core)."""
    return records.Pool(
        name=row.name, version=row.version, cidr=row.cidr,
        prefixlen=row.prefixlen, netmask=row.netmask, gateway=row.gateway,
        dns_servers=tuple(row.dns_servers), mtu=row.mtu,
        routes=tuple(records.Route(**r) for r in row.routes),
        vlan_id=row.vlan_id, domain=row.domain,
        resource_classes=tuple(row.resource_classes),
        size=int(row.size), generation=row.generation,
        ntp_servers=tuple(row.ntp_servers or ()))


_POOLS = typing.cast(sa.Table, models.PoolRecord.__table__)
_POOLS_GENERATION = sa.select(sa.func.max(_POOLS.c.generation))
_ALL_POOLS = sa.select(_POOLS)


def pools_generation(session):
    """The newest generation of any pool: it changes when pools do."""
    return connection(session).execute(_POOLS_GENERATION).scalar() or 0


_POOL_CACHE: dict[typing.Any, typing.Any] = {}


def pools_by_id(session, generation=None):
    """pool id -> :class:`records.Pool` of every recorded pool.

    :param generation: the pools' generation (:func:`pools_generation`)
        read in this transaction: the pools are then taken from a
        per-process cache of that generation of that database, if there.
    """
    conn = connection(session)
    key = (conn.engine.url, generation)
    if generation is not None and key in _POOL_CACHE:
        return _POOL_CACHE[key]
    pools = {row.id: pool_record(row) for row in conn.execute(_ALL_POOLS)}
    if generation is not None:
        if len(_POOL_CACHE) > 16:
            _POOL_CACHE.clear()
        _POOL_CACHE[key] = pools
    return pools
