"""Per-pool IPAM gauges, read from the read-only feed with a TTL cache.

A scrape never reads the IPAM database more than once per ``ttl``
seconds: :class:`PoolStatsCollector` keeps the last answer of the feed's
``pool_usage()`` and ``allocation_failures()`` and serves it until it is
older than ``ttl``. When the database cannot be read, the last answer is
served (``vmetal_ipam_pool_stats_age_seconds`` grows) and the error is
logged once per TTL.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

from oslo_log import log
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LOG = log.getLogger(__name__)

#: (metric name, help, PoolUsage attribute)
POOL_GAUGES = (
    ('vmetal_ipam_pool_size', 'Addresses in the pool\'s ranges '
     '(Kea total-addresses)', 'size'),
    ('vmetal_ipam_pool_assigned', 'Addresses allocated to a node (Kea '
     'assigned-addresses)', 'used'),
    ('vmetal_ipam_pool_quarantined', 'Released addresses waiting out the '
     'quarantine', 'quarantined'),
    ('vmetal_ipam_pool_pinned', 'Released addresses kept pinned for their '
     'node', 'held'),
    ('vmetal_ipam_pool_free', 'Addresses another node may receive now',
     'free'),
)


class PoolStatsCollector(Collector):
    """A prometheus-client collector over ``feed``, cached for ``ttl`` s.

    :param feed: has ``pool_usage()`` and ``allocation_failures()``
        (:class:`~vmetal_ironic.ipam.feed.ReservationFeed`).
    """

    def __init__(self, feed: Any, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.feed = feed
        self.ttl = ttl
        self.clock = clock
        self.reads = 0
        self._lock = threading.Lock()
        self._at: float | None = None
        self._tried: float | None = None
        self._usage: list = []
        self._failures: dict[str, int] = {}

    def _refresh(self) -> None:
        now = self.clock()
        if self._tried is not None and now - self._tried < self.ttl:
            return
        self._tried = now
        self.reads += 1
        try:
            usage = self.feed.pool_usage()
            failed = self.feed.allocation_failures()
        except Exception as e:
            LOG.warning('Pool statistics: cannot read the IPAM database, '
                        'serving those of %s: %s',
                        'never' if self._at is None else
                        '%.0f s ago' % (now - self._at), e)
            return
        self._usage, self._failures, self._at = usage, failed, now

    def describe(self) -> list:
        """Nothing: registering must not read the database."""
        return []

    def collect(self) -> Iterator[Any]:
        with self._lock:
            self._refresh()
            usage, failed, at = self._usage, self._failures, self._at
        for name, doc, attr in POOL_GAUGES:
            g = GaugeMetricFamily(name, doc, labels=['pool'])
            for u in usage:
                g.add_metric([u.pool.name], float(getattr(u, attr)))
            yield g
        c = CounterMetricFamily(
            'vmetal_ipam_allocation_failures', 'Allocations that failed, '
            'by reason (exhausted: no free address in the pool; no_pool: '
            'no pool for the node)', labels=['reason'])
        for reason, n in sorted(failed.items()):
            c.add_metric([reason], float(n))
        yield c
        age = GaugeMetricFamily(
            'vmetal_ipam_pool_stats_age_seconds', 'Seconds since the pool '
            'statistics were read from the IPAM database (NaN: never)')
        age.add_metric([], float('nan') if at is None
                       else self.clock() - at)
        yield age
