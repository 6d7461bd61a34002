"""DHCP reservations in SQL, with generations for incremental sync.

Every change of a reservation takes a new value of the global generation
counter; a deletion leaves a tombstone with its generation. A reader that
has seen generation N asks for the rows above N (:func:`changes_since`).
Tombstones older than a retention are purged; a reader whose N is below
the purge mark gets a full snapshot instead.

A MAC has one reservation per IP version (``ip_version``): a dual-stack
node's port has an IPv4 row and an IPv6 row, each with its own generation
and its own tombstone. A MAC belongs to one node whatever the version.

This module writes; the reading of the changes and the purge of the
tombstones are :mod:`.sql_changes`, the address and pool a reservation
points at :mod:`.sql_targets`.
"""

import typing

import netaddr
from oslo_log import log
import sqlalchemy as sa

from vmetal_ironic.boot_profile import EMPTY
from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import sql_changes
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_profiles
from vmetal_ironic.ipam import sql_targets

LOG = log.getLogger(__name__)

Res = models.ReservationRecord
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


_R = typing.cast(sa.Table, Res.__table__)
_POOL_T = PoolRow.__table__
_PROFILE_T = models.BootProfileRecord.__table__
# A live reservation with its pool's name and its node's profile: one
# statement instead of three.
_LIVE = (sa.select(_R, _POOL_T.c.name.label('pool_name'),
                   _PROFILE_T.c.profile.label('profile'))
         .select_from(_R.outerjoin(_POOL_T, _POOL_T.c.id == _R.c.pool_id)
                      .outerjoin(_PROFILE_T,
                                 _PROFILE_T.c.node_uuid == _R.c.node_uuid))
         .where(_R.c.deleted.is_(False)))
# The statements of the hot paths are built once: building one costs
# several times what executing it does.
_LIVE_ALL = _LIVE.order_by(_R.c.mac, _R.c.ip_version)
_LIVE_OF_NODE = _LIVE_ALL.where(_R.c.node_uuid == sa.bindparam('node'))
_LIVE_OF_MAC_VERSION = _LIVE_ALL.where(
    _R.c.mac == sa.bindparam('mac'),
    _R.c.ip_version == sa.bindparam('version'))
# SET columns: the parameters named like columns; the row by b_id.
_UPDATE = sa.update(_R).where(_R.c.id == sa.bindparam('b_id'))
_INSERT = sa.insert(_R)


def _live(session, query=_LIVE_ALL, params=None):
    """Live reservations (records) of ``query`` (a ``_LIVE_*``), by MAC."""
    return _records(sql_common.connection(session).execute(
        query, params).all())


def _records(rows, profile=None, generations=None):
    """Records of ``_LIVE`` rows (``profile``, ``generations``: new)."""
    result = []
    for row in rows:
        if profile is not None:
            served = profile
        elif row.profile is not None:
            served = sql_profiles.decode(row.node_uuid, row.profile)
        else:
            served = EMPTY
        result.append(records.Reservation(
            mac=row.mac, node_uuid=row.node_uuid, pool=row.pool_name,
            address=row.address, hostname=row.hostname,
            client_id=row.client_id, boot_profile=served,
            generation=(generations or {}).get(row.id, row.generation),
            deleted=row.deleted, ip_version=row.ip_version))
    return result


def profile_of(session, node_uuid):
    """(the node's boot profile, its live reservations), one read.

    One statement when the node has reservations: the profile is joined.
    """
    rows = sql_common.connection(session).execute(
        _LIVE_OF_NODE, {'node': node_uuid}).all()
    if not rows:
        return sql_profiles.get(session, node_uuid), []
    data = rows[0].profile
    profile = (sql_profiles.decode(node_uuid, data) if data is not None
               else EMPTY)
    return profile, _records(rows)


def set_profile(session, node_uuid, profile, now):
    """Store the node's boot profile: (changed, its live reservations).

    One read of the node's reservations, the stored profile joined,
    serves the comparison, their ids and the answer.
    """
    rows = sql_common.connection(session).execute(
        _LIVE_OF_NODE, {'node': node_uuid}).all()
    if not rows:
        return sql_profiles.put(session, node_uuid, profile, now), []
    generations = {}
    changed = sql_profiles.put(session, node_uuid, profile, now,
                               stored=rows[0].profile,
                               live_ids=[row.id for row in rows],
                               generations=generations)
    if not changed:
        return False, _records(rows)
    return True, _records(rows, profile, generations)


def upsert(session, mac, node_uuid, now, address=None, pool=None,
           hostname=None, client_id=None, boot_profile=None):
    """Create or update the reservation of ``mac`` for ``node_uuid``.

    ``address`` and ``pool`` default to the node's active allocation
    (its first one; name the pool of a dual-stack node). The reservation
    is the one of the address's IP version; the other stays as it is.
    ``boot_profile`` (a BootProfile or its dict) sets the node's profile;
    None keeps it. A write that changes nothing takes no generation.

    :raises: InvalidInput, AllocationNotFound, Conflict (the MAC is
        reserved for another node).
    """
    mac = normalize_mac(mac)
    profile = sql_profiles.parse(boot_profile)
    address, pool_id = sql_targets.resolve(session, node_uuid, address, pool)
    version = sql_targets.version_of(address)
    _put(session, mac, node_uuid, address, pool_id, now, hostname,
         client_id)
    if profile is not None:
        sql_profiles.put(session, node_uuid, profile, now)
    return _live(session, _LIVE_OF_MAC_VERSION,
                 {'mac': mac, 'version': version})[0]


def sync_node_all(session, node_uuid, targets, ports, hostname, now):
    """Make the node's live reservations exactly ``ports`` x ``targets``.

    :param targets: (address, pool id) of each of the node's addresses,
        at most one per IP version (a dual-stack node has two), as the
        caller has just placed them (:func:`~.sql_allocations.placed`).
    :param ports: MAC -> client id (or None) of the node's PXE ports; each
        gets one reservation per target; the node's other reservations
        (other MACs, or a version it has no address of now) are deleted.
        Unchanged rows are not written.
    :returns: the node's reservations.
    """
    wanted = sorted((normalize_mac(mac), client_id)
                    for mac, client_id in ports.items())
    keep = set()
    for address, pool_id in targets:
        version = sql_targets.version_of(address)
        for mac, client_id in wanted:
            _put(session, mac, node_uuid, address, pool_id, now, hostname,
                 client_id)
            keep.add((mac, version))
    # One read serves both: which of the node's rows go, and the answer
    # (the rows that stay are as read: the deletes touch only the others).
    rows = sql_common.connection(session).execute(
        _LIVE_OF_NODE, {'node': node_uuid}).all()
    for mac, version in sorted({(r.mac, r.ip_version) for r in rows}
                               - keep):
        delete(session, now, mac=mac, ip_version=version)
    return _records([r for r in rows if (r.mac, r.ip_version) in keep])


_BY_MAC = (sa.select(_R).where(_R.c.mac == sa.bindparam('mac'))
           .order_by(_R.c.ip_version))


def _put(session, mac, node_uuid, address, pool_id, now, hostname=None,
         client_id=None):
    """Write one reservation row unless it already says all this.

    The row is the one of ``mac`` and the IP version of ``address``.

    :returns: True if it was written.
    :raises: Conflict when the MAC (either version) is another node's.
    """
    conn = sql_common.connection(session)
    version = sql_targets.version_of(address)
    row = None
    for other in conn.execute(_BY_MAC, {'mac': mac}).all():
        if not other.deleted and other.node_uuid != node_uuid:
            raise exception.Conflict(
                reason=_('MAC %(mac)s is reserved for node %(other)s; '
                         'release it there first')
                % {'mac': mac, 'other': other.node_uuid})
        if other.ip_version == version:
            row = other
    values = {'node_uuid': node_uuid, 'pool_id': pool_id,
              'address': address, 'deleted': False}
    if hostname is not None:
        values['hostname'] = hostname or None
    if client_id is not None:
        values['client_id'] = client_id or None
    if row is not None and all(getattr(row, k) == v
                               for k, v in values.items()):
        return False
    generation = sql_common.bump_generation(session)
    values.update(generation=generation, updated_at=now)
    if row is None:
        values.setdefault('hostname', None)
        values.setdefault('client_id', None)
        values['mac'] = mac
        values['ip_version'] = version
        conn.execute(_INSERT, values)
    else:
        if row.deleted:
            # A re-added MAC starts clean (it serves its node's profile).
            values.setdefault('hostname', None)
            values.setdefault('client_id', None)
        values['b_id'] = row.id
        conn.execute(_UPDATE, values)
    sql_common.core_changed(session)
    LOG.debug('Reservation %(mac)s -> %(addr)s for node %(node)s '
              '(IPv%(ver)d, generation %(gen)d)',
              {'mac': mac, 'addr': address, 'node': node_uuid,
               'ver': version, 'gen': generation})
    return True


_DELETABLE: dict[tuple[bool, ...], typing.Any] = {}


def _deletable(by_node, by_mac, by_pools, by_version):
    """The live rows of a node, a MAC, pools: the query, built once."""
    key = (by_node, by_mac, by_pools, by_version)
    query = _DELETABLE.get(key)
    if query is None:
        query = sa.select(_R.c.id, _R.c.mac, _R.c.node_uuid,
                          _R.c.ip_version).where(_R.c.deleted.is_(False))
        if by_node:
            query = query.where(_R.c.node_uuid == sa.bindparam('node'))
        if by_mac:
            query = query.where(_R.c.mac == sa.bindparam('mac'))
        if by_pools:
            query = query.where(sa.or_(
                _R.c.pool_id.in_(sa.bindparam('pools', expanding=True)),
                _R.c.pool_id.is_(None)))
        if by_version:
            query = query.where(_R.c.ip_version == sa.bindparam('version'))
        # Locked, so that two concurrent deletions never delete a row
        # twice.
        query = _DELETABLE[key] = query.order_by(_R.c.id).with_for_update()
    return query


def delete(session, now, node_uuid=None, mac=None, pool_ids=None,
           ip_version=None):
    """Delete reservations (leaving tombstones); returns how many.

    :param ip_version: only those of this IP version (default: both).
    """
    if node_uuid is None and mac is None:
        raise exception.InvalidInput(
            reason=_('delete reservations of which node or MAC?'))
    params = {'node': node_uuid,
              'mac': normalize_mac(mac) if mac is not None else None,
              'pools': list(pool_ids) if pool_ids is not None else None,
              'version': int(ip_version) if ip_version is not None else None}
    query = _deletable(*(params[k] is not None for k in params))
    conn = sql_common.connection(session)
    rows = conn.execute(query, params).all()
    if not rows:
        return 0
    top = sql_common.bump_generation(session, len(rows))
    for offset, row in enumerate(rows):
        conn.execute(_UPDATE, {
            'b_id': row.id, 'deleted': True, 'updated_at': now,
            'generation': top - len(rows) + 1 + offset})
        LOG.info('Reservation %(mac)s (IPv%(ver)d) of node %(node)s '
                 'deleted', {'mac': row.mac, 'node': row.node_uuid,
                             'ver': row.ip_version})
    sql_common.core_changed(session)
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
    if node_uuid is not None:
        return _live(session, _LIVE_OF_NODE, {'node': node_uuid})
    return _live(session)


# Kept here for the callers in sql_allocations (its pruning purges the
# tombstones in the same transaction).
purge_tombstones = sql_changes.purge_tombstones
