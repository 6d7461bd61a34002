"""Allocation failures, counted where they happen, read by the agent.

An allocation fails in the conductor (or wherever the IPAM manager runs),
but the process that exports metrics is the DHCP agent, which only reads
the database. So each failure adds one to a row of the existing
``vmetal_counters`` table, named ``alloc_fail.<reason>`` and created on
demand, in its own short write transaction after the failed one; the
agent reads the rows (:func:`read`) with the pool statistics.

Counting never hides the failure itself: a database error while counting
is logged and the original exception propagates.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, TypeVar

from oslo_log import log
import sqlalchemy as sa

from vmetal_ironic.db import models
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

F = TypeVar('F', bound=Callable[..., Any])

PREFIX = 'alloc_fail.'

#: The failure reasons, as counter suffixes and metric labels.
EXHAUSTED = 'exhausted'
NO_POOL = 'no_pool'
REASONS = (EXHAUSTED, NO_POOL)


def bump(session: Any, reason: str) -> None:
    """Add one to the counter of ``reason`` (creating it at 1).

    Two first failures at once: the second INSERT is a duplicate, and
    the write transaction is retried, which then finds the row.
    """
    counter = models.Counter
    name = PREFIX + reason
    done = session.execute(sa.update(counter).where(counter.name == name)
                           .values(value=counter.value + 1))
    if not done.rowcount:
        session.add(counter(name=name, value=1))
        session.flush()


def read(session: Any) -> dict[str, int]:
    """reason -> failures so far, every reason of :data:`REASONS` present."""
    counter = models.Counter
    rows = session.execute(sa.select(counter.name, counter.value).where(
        counter.name.startswith(PREFIX))).all()
    found = {name[len(PREFIX):]: int(value) for name, value in rows}
    return {reason: found.get(reason, 0) for reason in REASONS} | found


def record(database: Any, reason: str) -> None:
    """Count one failure in its own transaction; never raises."""
    try:
        database.write(lambda session: bump(session, reason))
    except Exception as e:
        LOG.warning('Could not count an allocation failure (%s): %s',
                    reason, e)


@contextlib.contextmanager
def counted(database: Any) -> Iterator[None]:
    """Count PoolExhausted and NoPoolForNode raised inside, re-raise them."""
    try:
        yield
    except exception.PoolExhausted:
        record(database, EXHAUSTED)
        raise
    except exception.NoPoolForNode:
        record(database, NO_POOL)
        raise


def counting(method: F) -> F:
    """Decorate a method of an object with ``database``: :func:`counted`."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with counted(self.database):
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]
