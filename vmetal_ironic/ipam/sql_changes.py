"""The reading side of the reservations' generations, and their purge.

Every change of a reservation (:mod:`.sql_reservations`) takes a new value
of the global generation counter; a deletion leaves a tombstone with its
generation. A reader that has seen generation N asks for the rows above N
(:func:`changes_since`). Tombstones older than a retention are purged
(:func:`purge_tombstones`); a reader whose N is below the purge mark gets
a full snapshot instead.
"""

import sqlalchemy as sa

from vmetal_ironic.boot_profile import EMPTY
from vmetal_ironic.db import models
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_profiles

Res = models.ReservationRecord
PoolRow = models.PoolRecord

# What changes_since reads: plain rows of these columns, not ORM objects
# (at 100,000 reservations the ORM's per-object state was most of the
# agent's start-up time and memory).
_COLUMNS = (Res.mac, Res.node_uuid, Res.pool_id, Res.address, Res.hostname,
            Res.client_id, Res.generation, Res.deleted, Res.ip_version)


def _column_records(session, rows, full):
    """Records of ``_COLUMNS`` rows.

    A full read takes every profile in one query (no IN list of every
    node).
    """
    rows = [tuple(r) for r in rows]
    profiles = sql_profiles.for_nodes(
        session, None if full else [r[1] for r in rows if not r[7]])
    names = _pool_names(session)
    make = records.Reservation
    return [make(mac=mac, node_uuid=node, pool=names.get(pool_id),
                 address=address, hostname=hostname, client_id=client_id,
                 boot_profile=EMPTY if deleted else profiles.get(node, EMPTY),
                 generation=gen, deleted=deleted, ip_version=version)
            for (mac, node, pool_id, address, hostname, client_id, gen,
                 deleted, version) in rows]


def _pool_names(session):
    return dict(sql_common.connection(session).execute(
        sa.select(PoolRow.id, PoolRow.name)).all())


def changes_since(session, generation):
    """A :class:`records.ChangeSet` of everything after ``generation``."""
    counters = sql_common.counters(session)
    current = counters.get('generation', 0)
    purged = counters.get('purged_generation', 0)
    full = generation <= 0 or generation < purged or generation > current
    pool_query = sa.select(PoolRow).where(PoolRow.retired.is_(False))
    res_query = sa.select(*_COLUMNS)
    if full:
        res_query = res_query.where(Res.deleted.is_(False))
    else:
        pool_query = pool_query.where(PoolRow.generation > generation)
        res_query = res_query.where(Res.generation > generation)
    pools = [sql_common.pool_record(r) for r in
             session.execute(pool_query.order_by(PoolRow.id)).scalars()]
    reservations = _column_records(session, session.execute(
        res_query.order_by(Res.generation)), full)
    seen = max([current] + [r.generation for r in reservations]
               + [p.generation for p in pools])
    return records.ChangeSet(generation=seen, full=full, pools=pools,
                             reservations=reservations)


def purge_tombstones(session, before):
    """Delete tombstones last changed before ``before``."""
    newest = session.execute(sa.select(sa.func.max(Res.generation)).where(
        Res.deleted.is_(True), Res.updated_at < before)).scalar()
    if newest is None:
        return 0
    result = session.execute(sa.delete(Res).where(
        Res.deleted.is_(True), Res.generation <= newest))
    counter = models.Counter
    session.execute(sa.update(counter).where(
        counter.name == 'purged_generation',
        counter.value < newest).values(value=newest))
    return result.rowcount
