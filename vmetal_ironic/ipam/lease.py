"""A lease on the IPAM database: one process does a cluster-wide job.

Every conductor runs the interface's reconcile periodic; the work itself
is needed once per interval for the whole cluster. The periodic takes the
``reconcile`` lease first and runs only when it holds it:

* the holder renews its own lease each time its periodic fires, so it
  keeps the job for as long as it lives;
* a term lasts ``interval + grace`` seconds from its start and is extended
  when the run ends, so another conductor takes over only when the holder
  has missed its slot by more than ``grace`` (it died, hung, or lost the
  database);
* who wins is decided by one conditional UPDATE in the database
  (:mod:`vmetal_ironic.ipam.sql_lease`), never by comparing clocks of
  different machines in Python: the times come from the taker's clock,
  and a term is long compared with the skew NTP leaves.

The row also records the number of terms granted (``runs``), the end of
the last run and what it released, which is what operators and tests read.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable

from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_lease

RECONCILE = 'reconcile'


def term(interval: float, grace: float) -> datetime.timedelta:
    """How long one term lasts: the interval plus the takeover grace."""
    return datetime.timedelta(seconds=max(0.0, interval) + max(0.0, grace))


class Lease:
    """Lease ``name`` on ``database`` for ``holder``.

    :param database: a :class:`vmetal_ironic.db.api.Database`.
    :param holder: who takes it (the conductor's host name).
    :param clock: callable returning naive UTC now.
    """

    def __init__(self, database: Any, name: str, holder: str,
                 clock: Callable[[], datetime.datetime] = sql_common.utcnow
                 ) -> None:
        self.database = database
        self.name = name
        self.holder = holder
        self.clock = clock

    def take(self, duration: datetime.timedelta) -> bool:
        """Take (or renew) the lease for ``duration``; True if held now."""
        def _run(session: Any) -> bool:
            now = self.clock()
            return sql_lease.take(session, self.name, self.holder, now,
                                  now + duration)
        return self.database.write(_run)

    def extend(self, duration: datetime.timedelta) -> bool:
        """Extend a held term to ``duration`` from now (a long run).

        :returns: False if another holder took the lease meanwhile.
        """
        def _run(session: Any) -> bool:
            now = self.clock()
            return sql_lease.extend(session, self.name, self.holder,
                                    now + duration)
        return self.database.write(_run)

    def finish(self, duration: datetime.timedelta, released: int) -> bool:
        """Record a finished run; the term runs ``duration`` from now.

        :returns: False if another holder took the lease meanwhile.
        """
        def _run(session: Any) -> bool:
            now = self.clock()
            return sql_lease.finish(session, self.name, self.holder, now,
                                    now + duration, released)
        return self.database.write(_run)

    def give_up(self) -> bool:
        """End the term now, so another holder may take it at once."""
        return self.database.write(lambda session: sql_lease.give_up(
            session, self.name, self.holder, self.clock()))

    def state(self) -> dict[str, Any] | None:
        """The lease row (holder, taken_at, expires_at, runs, ...)."""
        return self.database.read(lambda session: sql_lease.get(
            session, self.name))
