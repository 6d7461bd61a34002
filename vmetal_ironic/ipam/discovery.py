"""The discovery-lease store: the DHCP agent's one write path.

The agent reads reservations through the read-only
:class:`~vmetal_ironic.ipam.feed.ReservationFeed`. Discovery of servers
that are not enrolled needs agents to agree on who holds which address of
a pool's discovery range, so leases live in the IPAM database too. This
class is deliberately narrow: it can take (or renew), release and expire
discovery leases and read the ranges, nothing else of the IPAM engine
(no allocation, no reservation, no pool write).
"""

from __future__ import annotations

import datetime
from typing import Any

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import lazy_database
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_discovery
from vmetal_ironic.ipam.sql_discovery import Range
from vmetal_ironic.ipam import sql_reservations

#: Retries of one lease transaction. Few: the DHCP loop waits for it, and
#: a client retransmits anyway.
RETRIES = 2

__all__ = ['DiscoveryLeases', 'Range']


class DiscoveryLeases:
    """Take, renew, release and expire discovery leases.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``);
    :param database: an open Database (tests).
    The database is opened and its schema checked on first use.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 database: db_api.Database | None = None) -> None:
        self._lazy = lazy_database.LazyDatabase(conf, url, database,
                                                url_retries=RETRIES,
                                                conf_retries=RETRIES)

    def _db(self) -> db_api.Database:
        return self._lazy.get()

    def ranges(self) -> list[Range]:
        """The discovery ranges of the pools in service.

        :raises: StoreError, SchemaNotCurrent.
        """
        return self._db().read(sql_discovery.ranges)

    def take(self, rng: Range, mac: str, lease_time: int, cap: int,
             now: datetime.datetime | None = None
             ) -> tuple[str | None, str | None]:
        """Lease an address of ``rng`` to ``mac``, or renew its lease.

        :param rng: the range (from :meth:`ranges`).
        :param mac: the client's MAC.
        :param lease_time: seconds the lease lasts from now.
        :param cap: leases of the pool that may be in use at once.
        :returns: (address, None) or (None, reason): ``reserved``, ``cap``
            or ``full`` (see :mod:`.sql_discovery`).
        :raises: StoreError (database down: the caller stays silent).
        """
        mac = sql_reservations.normalize_mac(mac)
        now = now or sql_common.utcnow()
        expires = now + datetime.timedelta(seconds=lease_time)
        return self._db().write(lambda s: sql_discovery.take(
            s, rng, mac, now, expires, cap))

    # Taking again renews: the same row, a later expiry.
    renew = take

    def release(self, mac: str,
                now: datetime.datetime | None = None) -> bool:
        """Free the lease of ``mac`` (RELEASE, or it got a reservation).

        :returns: whether it held one.
        :raises: StoreError.
        """
        mac = sql_reservations.normalize_mac(mac)
        now = now or sql_common.utcnow()
        return self._db().write(lambda s: sql_discovery.release(s, mac, now))

    def expire(self, now: datetime.datetime | None = None
               ) -> tuple[int, int]:
        """Free expired leases and those of MACs now reserved.

        :returns: (expired, superseded) counts.
        :raises: StoreError.
        """
        now = now or sql_common.utcnow()
        return self._db().write(lambda s: sql_discovery.expire(s, now))

    def in_use(self, now: datetime.datetime | None = None) -> dict[str, int]:
        """Unexpired leases per pool with a discovery range.

        :raises: StoreError.
        """
        now = now or sql_common.utcnow()
        return self._db().read(lambda s: sql_discovery.in_use(s, now))

    def close(self) -> None:
        """Close the database connections."""
        self._lazy.dispose()
