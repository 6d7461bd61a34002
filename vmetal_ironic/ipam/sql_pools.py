"""Pools in SQL: record the configured pools, read the recorded ones.

:func:`sync` is the one writer of the pool table (``vmetal-dbsync
upgrade``, ``vmetal-ipam pool sync``, a conductor that owns the pools);
everything else reads with :func:`recorded`.
"""

from __future__ import annotations

from collections.abc import Sequence
import datetime
from typing import Any

from oslo_log import log
import sqlalchemy as sa
from sqlalchemy import orm

from vmetal_ironic.db import models
from vmetal_ironic.ipam import pools as pools_mod
from vmetal_ironic.ipam import recorded as recorded_mod
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import sql_allocations
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_cursors

LOG = log.getLogger(__name__)

PoolRow = models.PoolRecord

_COLUMNS = (
    'version', 'cidr', 'prefixlen', 'netmask', 'gateway', 'dns_servers',
    'mtu', 'routes', 'vlan_id', 'domain', 'resource_classes', 'ranges',
    'exclude', 'size', 'space_fingerprint', 'ntp_servers',
    'discovery_range')


def _values(row: PoolRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _COLUMNS}
    if values['ntp_servers'] is None:      # recorded before schema 0003
        values['ntp_servers'] = []
    return values


def recorded(session: orm.Session) -> dict[str, dict[str, Any]]:
    """The pools in service: name -> recorded values (+ ``generation``)."""
    result: dict[str, dict[str, Any]] = {}
    for row in session.execute(sa.select(PoolRow).where(
            PoolRow.retired.is_(False)).order_by(PoolRow.id)).scalars():
        values = _values(row)
        values['generation'] = row.generation
        result[row.name] = values
    return result


def in_service(session: orm.Session) -> list[records.Pool]:
    """The pools in service (not retired), as records."""
    query = sa.select(PoolRow).where(PoolRow.retired.is_(False)).order_by(
        PoolRow.id)
    return [sql_common.pool_record(r)
            for r in session.execute(query).scalars()]


def sync(session: orm.Session, specs: Sequence[pools_mod.PoolSpec],
         now: datetime.datetime) -> list[str]:
    """Record the configured pools; retire the ones no longer there.

    A pool whose parameters changed gets a new generation (agents reload
    it). When its address space changed, the allocation cursor restarts
    (every stripe of it) and released addresses outside the new space are
    dropped. Nothing is written for a pool that is recorded as configured.

    :returns: the names of the pools that were written.
    """
    by_name = {spec.name: spec for spec in specs}
    rows: dict[str, Any] = {str(row.name): row for row in
                            session.execute(sa.select(PoolRow)).scalars()}
    written: list[str] = []
    for name, spec in by_name.items():
        values = recorded_mod.values_of(spec)
        row = rows.get(name)
        if row is None:
            row = PoolRow(
                name=name, next_index=0, retired=False,
                generation=sql_common.bump_generation(session),
                created_at=now, updated_at=now, **values)
            session.add(row)
            session.flush()
            sql_cursors.reset(session, row.id)
            LOG.info('IPAM pool %(pool)s recorded (%(cidr)s, %(size)s '
                     'addresses)', {'pool': name, 'cidr': values['cidr'],
                                    'size': values['size']})
            written.append(name)
            continue
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        was_retired = row.retired
        if not changed and not was_retired:
            continue
        if 'space_fingerprint' in changed:
            row.next_index = 0
            sql_cursors.reset(session, row.id)
            sql_allocations.drop_released_outside(session, row, spec.space)
        for key, value in changed.items():
            setattr(row, key, value)
        row.retired = False
        # Ranges recorded for the first time change nothing agents see.
        if set(changed) - {'ranges', 'exclude'} or was_retired:
            row.generation = sql_common.bump_generation(session)
        row.updated_at = now
        LOG.info('IPAM pool %(pool)s updated: %(keys)s',
                 {'pool': name, 'keys': ', '.join(sorted(changed))})
        written.append(name)
    for name, row in rows.items():
        if name not in by_name and not row.retired:
            row.retired = True
            row.generation = sql_common.bump_generation(session)
            row.updated_at = now
            LOG.warning('IPAM pool %s is no longer configured: retired', name)
            written.append(name)
    return written
