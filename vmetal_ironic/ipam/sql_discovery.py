"""Discovery leases in SQL, run inside the caller's transaction.

A lease is a row of ``vmetal_discovery_leases``: the address at ``slot``
of a pool's discovery range, the MAC holding it (NULL: free) and when it
expires. Rows are never deleted: a free or expired row is reused before a
fresh slot is taken (max + 1), so :func:`take` runs a constant number of
indexed statements whatever the fill, and the table never holds more
rows than the ranges have addresses. Two agents taking the same fresh
slot collide on ``(pool_id, slot)``; the loser's transaction is retried
and finds the winner's row.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import netaddr
import sqlalchemy as sa
from sqlalchemy import orm

from vmetal_ironic.db import models

Lease = models.DiscoveryLeaseRecord
PoolRow = models.PoolRecord
Reservation = models.ReservationRecord

# Why take() gave no lease.
RESERVED = 'reserved'
CAP = 'cap'
FULL = 'full'
NO_RANGE = 'no-range'


@dataclasses.dataclass(frozen=True)
class Range:
    """A pool's discovery range and the network parameters to serve."""

    pool_id: int
    pool: str
    first: int
    last: int
    cidr: str
    prefixlen: int
    gateway: str | None
    dns_servers: tuple[str, ...]
    domain: str | None
    mtu: int | None

    @property
    def span(self) -> str:
        """The range as recorded on its lease rows."""
        return '%s-%s' % (self.address(0), self.address(self.size - 1))

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def address(self, slot: int) -> str:
        return str(netaddr.IPAddress(self.first + slot, 4))


def _parse(text: str) -> tuple[int, int] | None:
    try:
        first, last = text.split('-', 1)
        a, b = int(netaddr.IPAddress(first)), int(netaddr.IPAddress(last))
    except (ValueError, netaddr.AddrFormatError):
        return None
    return (a, b) if a <= b else None


def ranges(session: orm.Session) -> list[Range]:
    """The discovery ranges of the pools in service."""
    result: list[Range] = []
    for row in session.execute(sa.select(PoolRow).where(
            PoolRow.retired.is_(False),
            PoolRow.discovery_range.is_not(None)).order_by(
                PoolRow.id)).scalars():
        bounds = _parse(row.discovery_range)
        if bounds is None or row.version != 4:
            continue
        result.append(Range(
            pool_id=row.id, pool=row.name, first=bounds[0], last=bounds[1],
            cidr=row.cidr, prefixlen=row.prefixlen, gateway=row.gateway,
            dns_servers=tuple(row.dns_servers), domain=row.domain,
            mtu=row.mtu))
    return result


def _lock(query, session):
    if session.bind.dialect.name == 'sqlite':
        return query    # BEGIN IMMEDIATE: one writer already
    return query.with_for_update()


def take(session: orm.Session, rng: Range, mac: str,
         now: datetime.datetime, expires: datetime.datetime,
         cap: int) -> tuple[str | None, str | None]:
    """Lease (or renew) an address of ``rng`` to ``mac``.

    :returns: (address, None), or (None, reason): RESERVED (the MAC has a
        reservation; any lease it held is freed), CAP (``cap`` leases of
        the pool are in use), FULL (every address of the range is held).
    """
    reserved: Any = session.execute(sa.select(Reservation.id).where(
        Reservation.mac == mac, Reservation.deleted.is_(False))).first()
    mine = session.execute(_lock(sa.select(Lease).where(Lease.mac == mac),
                                 session)).scalar_one_or_none()
    if reserved is not None:
        if mine is not None:
            mine.mac, mine.expires_at = None, now
        return None, RESERVED
    if mine is not None:
        if mine.pool_id == rng.pool_id and mine.span == rng.span:
            mine.expires_at = expires
            return mine.address, None
        mine.mac, mine.expires_at = None, now      # another pool's
        session.flush()
    # One cap check at a time per pool: the pool row's lock.
    session.execute(_lock(sa.select(PoolRow.id).where(
        PoolRow.id == rng.pool_id), session)).first()
    # Rows of an older range of the pool (the range was changed) go.
    session.execute(sa.delete(Lease).where(
        Lease.pool_id == rng.pool_id, Lease.span != rng.span))
    in_use = session.execute(sa.select(sa.func.count(Lease.id)).where(
        Lease.pool_id == rng.pool_id, Lease.mac.is_not(None),
        Lease.expires_at > now)).scalar_one()
    if in_use >= cap:
        return None, CAP
    reuse = session.execute(_lock(sa.select(Lease).where(
        Lease.pool_id == rng.pool_id, Lease.expires_at <= now).order_by(
            Lease.expires_at, Lease.id).limit(1),
        session)).scalar_one_or_none()
    if reuse is not None:
        reuse.mac, reuse.expires_at = mac, expires
        return reuse.address, None
    top = session.execute(sa.select(sa.func.max(Lease.slot)).where(
        Lease.pool_id == rng.pool_id)).scalar()
    slot = 0 if top is None else top + 1
    if slot >= rng.size:
        return None, FULL
    address = rng.address(slot)
    session.add(Lease(pool_id=rng.pool_id, slot=slot, address=address,
                      span=rng.span, mac=mac, expires_at=expires))
    session.flush()
    return address, None


def release(session: orm.Session, mac: str, now: datetime.datetime) -> bool:
    """Free the lease of ``mac``; True if it held one."""
    result: Any = session.execute(sa.update(Lease).where(Lease.mac == mac)
                                  .values(mac=None, expires_at=now))
    return bool(result.rowcount)


def expire(session: orm.Session, now: datetime.datetime) -> tuple[int, int]:
    """Free expired leases and those of MACs that now have a reservation.

    :returns: (expired, superseded) row counts.
    """
    live: Any = sa.select(Reservation.mac).where(
        Reservation.deleted.is_(False))
    run: Any = session.execute
    superseded = run(sa.update(Lease).where(
        Lease.mac.in_(live)).values(mac=None, expires_at=now)).rowcount
    expired = run(sa.update(Lease).where(
        Lease.mac.is_not(None), Lease.expires_at <= now).values(
            mac=None)).rowcount
    return int(expired), int(superseded)


def in_use(session: orm.Session, now: datetime.datetime) -> dict[str, int]:
    """Unexpired leases per pool name (pools with a range, 0 included)."""
    query: Any = sa.select(PoolRow.name, sa.func.count(Lease.id))
    counts: dict[Any, Any] = dict(session.execute(
        query.join(Lease, Lease.pool_id == PoolRow.id)
        .where(Lease.mac.is_not(None), Lease.expires_at > now)
        .group_by(PoolRow.name)).all())
    return {r.pool: int(counts.get(r.pool, 0)) for r in ranges(session)}
