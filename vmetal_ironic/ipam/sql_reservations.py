"""DHCP reservations in SQL, with generations for incremental sync.

Every change of a reservation takes a new value of the global generation
counter; a deletion leaves a tombstone with its generation. A reader that
has seen generation N asks for the rows above N (:func:`changes_since`).
Tombstones older than a retention are purged; a reader whose N is below
the purge mark gets a full snapshot instead.
"""

import netaddr
from oslo_log import log
import sqlalchemy as sa

from vmetal_ironic.boot_profile import EMPTY
from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_profiles

LOG = log.getLogger(__name__)

Res = models.ReservationRecord
Alloc = models.AllocationRecord
PoolRow = models.PoolRecord


def normalize_mac(mac):
    """``mac`` as lower-case colon-separated text.

    :raises: InvalidInput naming the value.
    """
    try:
        eui = netaddr.EUI(str(mac).strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise exception.InvalidInput(
            reason=_('"%s" is not a MAC address') % mac)
    if eui.version != 48:
        raise exception.InvalidInput(
            reason=_('"%s" is not a 48-bit MAC address') % mac)
    return str(eui.format(netaddr.mac_unix_expanded)).lower()


def to_record(row, pool_names, profiles):
    """The record of a row; ``profiles``: node UUID -> BootProfile."""
    profile = EMPTY if row.deleted else profiles.get(row.node_uuid, EMPTY)
    return records.Reservation(
        mac=row.mac, node_uuid=row.node_uuid,
        pool=pool_names.get(row.pool_id), address=row.address,
        hostname=row.hostname, client_id=row.client_id,
        boot_profile=profile, generation=row.generation,
        deleted=row.deleted)


def _records(session, rows):
    rows = list(rows)
    profiles = sql_profiles.for_nodes(
        session, [r.node_uuid for r in rows if not r.deleted])
    names = _pool_names(session)
    return [to_record(r, names, profiles) for r in rows]


# What changes_since reads: plain rows of these columns, not ORM objects
# (at 100,000 reservations the ORM's per-object state was most of the
# agent's start-up time and memory).
_COLUMNS = (Res.mac, Res.node_uuid, Res.pool_id, Res.address, Res.hostname,
            Res.client_id, Res.generation, Res.deleted)


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
                 generation=gen, deleted=deleted)
            for (mac, node, pool_id, address, hostname, client_id, gen,
                 deleted) in rows]


def _pool_names(session):
    return dict(session.execute(sa.select(PoolRow.id, PoolRow.name)).all())


def upsert(session, mac, node_uuid, now, address=None, pool=None,
           hostname=None, client_id=None, boot_profile=None):
    """Create or update the reservation of ``mac`` for ``node_uuid``.

    ``address`` and ``pool`` default to the node's active allocation.
    ``boot_profile`` (a BootProfile or its dict) sets the node's profile;
    None keeps it. A write that changes nothing takes no generation.

    :raises: InvalidInput, AllocationNotFound, Conflict (the MAC is
        reserved for another node).
    """
    mac = normalize_mac(mac)
    profile = sql_profiles.parse(boot_profile)
    address, pool_id = _target(session, node_uuid, address, pool)
    _put(session, mac, node_uuid, address, pool_id, now, hostname,
         client_id)
    if profile is not None:
        sql_profiles.put(session, node_uuid, profile, now)
    row = session.execute(sa.select(Res).where(Res.mac == mac)).scalar_one()
    return _records(session, [row])[0]


def sync_node(session, node_uuid, pool, address, ports, hostname, now):
    """Make the node's live reservations exactly ``ports``.

    :param ports: MAC -> client id (or None) of the node's PXE ports; each
        gets a reservation of ``address`` in ``pool``; the node's other
        reservations are deleted. Unchanged rows are not written.
    :returns: the node's reservations.
    """
    wanted = sorted((normalize_mac(mac), client_id)
                    for mac, client_id in ports.items())
    address, pool_id = _target(session, node_uuid, address, pool)
    rows = [_put(session, mac, node_uuid, address, pool_id, now, hostname,
                 client_id)
            for mac, client_id in wanted]
    stale = session.execute(sa.select(Res.mac).where(
        Res.node_uuid == node_uuid, Res.deleted.is_(False))).scalars().all()
    for mac in set(stale) - {mac for mac, _ in wanted}:
        delete(session, now, mac=mac)
    return _records(session, rows)


def _target(session, node_uuid, address, pool):
    """(address, pool id) a reservation of the node points at.

    Default: the node's active allocation (in ``pool`` if given).
    """
    query = sa.select(Alloc).where(Alloc.node_uuid == node_uuid,
                                   Alloc.state == records.ACTIVE)
    if pool:
        pool_row = session.execute(sa.select(PoolRow).where(
            PoolRow.name == pool)).scalar_one_or_none()
        if pool_row is None:
            raise exception.UnknownPool(pool=pool)
        query = query.where(Alloc.pool_id == pool_row.id)
    allocation = session.execute(query.order_by(Alloc.id)).scalars().first()
    if address is None:
        if allocation is None:
            raise exception.AllocationNotFound(
                node=node_uuid, where=(' in pool "%s"' % pool) if pool else '')
        address, pool_id = allocation.address, allocation.pool_id
    else:
        try:
            address = str(netaddr.IPAddress(str(address).strip()))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise exception.InvalidAddress(address=address,
                                           reason=_('not an IP address'))
        pool_id = allocation.pool_id if allocation is not None else (
            pool_row.id if pool else None)
    return address, pool_id


def _put(session, mac, node_uuid, address, pool_id, now, hostname=None,
         client_id=None):
    """Write one reservation row unless it already says all this.

    :returns: the row.
    """
    row = session.execute(sa.select(Res).where(Res.mac == mac)
                          ).scalar_one_or_none()
    if row is not None and not row.deleted and row.node_uuid != node_uuid:
        raise exception.Conflict(
            reason=_('MAC %(mac)s is reserved for node %(other)s; release '
                     'it there first') % {'mac': mac, 'other': row.node_uuid})
    values = {'node_uuid': node_uuid, 'pool_id': pool_id,
              'address': address, 'deleted': False}
    if hostname is not None:
        values['hostname'] = hostname or None
    if client_id is not None:
        values['client_id'] = client_id or None
    if row is not None and all(getattr(row, k) == v
                               for k, v in values.items()):
        return row
    generation = sql_common.bump_generation(session)
    if row is None:
        row = Res(mac=mac, hostname=None, client_id=None)
        session.add(row)
    elif row.deleted:
        # A re-added MAC starts clean (it serves its node's profile).
        row.hostname, row.client_id = None, None
    for key, value in values.items():
        setattr(row, key, value)
    row.generation = generation
    row.updated_at = now
    session.flush()
    LOG.debug('Reservation %(mac)s -> %(addr)s for node %(node)s '
              '(generation %(gen)d)', {'mac': mac, 'addr': address,
                                       'node': node_uuid,
                                       'gen': row.generation})
    return row


def delete(session, now, node_uuid=None, mac=None, pool_ids=None):
    """Delete reservations (leaving tombstones); returns how many."""
    if node_uuid is None and mac is None:
        raise exception.InvalidInput(
            reason=_('delete reservations of which node or MAC?'))
    query = sa.select(Res).where(Res.deleted.is_(False))
    if node_uuid is not None:
        query = query.where(Res.node_uuid == node_uuid)
    if mac is not None:
        query = query.where(Res.mac == normalize_mac(mac))
    if pool_ids is not None:
        query = query.where(sa.or_(Res.pool_id.in_(list(pool_ids)),
                                   Res.pool_id.is_(None)))
    # Locked, so that two concurrent deletions never delete a row twice.
    rows = session.execute(query.with_for_update()).scalars().all()
    for row in rows:
        row.deleted = True
        row.generation = sql_common.bump_generation(session)
        row.updated_at = now
        LOG.info('Reservation %(mac)s of node %(node)s deleted',
                 {'mac': row.mac, 'node': row.node_uuid})
    session.flush()
    return len(rows)


def readdress(session, node_uuid, pool_id, address, now):
    """Point the node's reservations in a pool at a new address."""
    rows = session.execute(sa.select(Res).where(
        Res.node_uuid == node_uuid, Res.pool_id == pool_id,
        Res.deleted.is_(False), Res.address != address)).scalars().all()
    for row in rows:
        row.address = address
        row.generation = sql_common.bump_generation(session)
        row.updated_at = now


def listing(session, node_uuid=None):
    query = sa.select(Res).where(Res.deleted.is_(False))
    if node_uuid is not None:
        query = query.where(Res.node_uuid == node_uuid)
    return _records(session, session.execute(query.order_by(Res.mac))
                    .scalars())


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
