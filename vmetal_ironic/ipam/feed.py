"""The read-only reservation feed: what the DHCP agent reads.

:class:`ReservationFeed` answers "what changed since generation N" from
the IPAM database. It never writes, never loads or records pool
configuration and needs none of the manager: an agent's configuration
has a ``[vmetal_database]`` group and nothing else of the IPAM engine.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import lazy
from vmetal_ironic.ipam import failures
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import sql_allocations
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_reservations

#: How often a read is tried again after a lost connection.
READ_RETRIES = 5


class ReservationFeed:
    """Reservations and pools of the IPAM database, for reading.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``).
    :param database: an open Database (tests).
    The database is opened, and its schema checked, on first use.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 database: db_api.Database | None = None) -> None:
        if conf is None and url is None and database is None:
            from vmetal_ironic import conf as vmetal_conf
            conf = vmetal_conf.CONF
        self._conf = conf
        self._lazy = lazy.LazyDatabase(conf, url, database,
                                       conf_retries=READ_RETRIES)

    def _db(self) -> db_api.Database:
        return self._lazy.get()

    def changes_since(self, generation: int) -> records.ChangeSet:
        """Everything after ``generation`` (0, too old or too new: all).

        :returns: a :class:`~vmetal_ironic.ipam.records.ChangeSet`;
            ``full`` says the reader replaces what it has.
        :raises: StoreError, SchemaNotCurrent.
        """
        generation = int(generation)
        return self._db().read(lambda s: sql_reservations.changes_since(
            s, generation))

    def pool_usage(self, quarantine: int | None = None,
                   now: Any = None) -> list[records.PoolUsage]:
        """Size, used, quarantined and held counts of every live pool.

        The manager's :meth:`~vmetal_ironic.ipam.manager.IPAMManager.usage`
        query; without the pool configuration, pins outside a pool's
        ranges are not told apart (``outside`` is 0).

        :param quarantine: seconds a released address waits; default
            ``[vmetal_ipam]quarantine`` of the feed's configuration.
        :param now: naive UTC now (default: the clock's).
        :raises: StoreError, SchemaNotCurrent.
        """
        if quarantine is None:
            quarantine = self._quarantine()
        now = now or sql_common.utcnow()
        return self._db().read(lambda s: sql_allocations.usage(
            s, quarantine, None, now))

    def allocation_failures(self) -> dict[str, int]:
        """Allocation failures so far, by reason (see :mod:`.failures`).

        :raises: StoreError, SchemaNotCurrent.
        """
        return self._db().read(failures.read)

    def _quarantine(self) -> int:
        from vmetal_ironic.conf import ipam as ipam_conf
        conf = self._conf
        if conf is None:
            from vmetal_ironic import conf as vmetal_conf
            conf = vmetal_conf.CONF
        try:
            return int(conf[ipam_conf.GROUP].quarantine)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            return next(int(o.default) for o in ipam_conf.opts
                        if o.dest == 'quarantine')

    def close(self) -> None:
        """Close the database connections (the feed may be used again)."""
        self._lazy.dispose()
