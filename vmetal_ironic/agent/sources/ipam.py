"""Reservations from the IPAM database (the Ironic-integrated mode).

The source reads a *feed*: any object with ``changes_since(generation)``
returning a :class:`~vmetal_ironic.ipam.records.ChangeSet` (and,
optionally, ``close()``); :func:`open_feed` opens the default one. At start
it reads the full snapshot (``changes_since(0)``); then, every
``[dhcp_agent]sync_interval`` seconds, only what changed since the last
generation, in its own thread.

Records are compiled straight into hosts by
:mod:`~vmetal_ironic.agent.sources.ipam_hosts`.

A database error during a sync is logged and the current reservations
stay in service; the next sync retries from the same generation.

With a ``snapshot_path`` the source keeps a local copy of what it serves
(:mod:`~vmetal_ironic.agent.sources.snapshot`): at start it serves the
snapshot at once and then reads only what changed after its generation,
or, when the database is down, serves the snapshot until it is back. A
change notice (:meth:`IpamSource.notify`, fed by the push listener) wakes
the sync thread at once; it is only a hint, the read is by generation.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.sources import ipam_hosts
from vmetal_ironic.agent.sources.ipam_hosts import SOURCE
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.agent.sources.reservations import Table
from vmetal_ironic.agent.sources import snapshot
from vmetal_ironic.rpc import trace

LOG = log.getLogger(__name__)

#: The snapshot is written at most this often (seconds) during changes.
SNAPSHOT_INTERVAL = 1.0


class Feed(Protocol):
    """What the source reads: a read-only view of the IPAM store."""

    def changes_since(self, generation: int) -> Any:
        """A ``records.ChangeSet`` after ``generation`` (0: everything)."""


def open_feed(conf: Any) -> Feed:
    """The read-only feed of the IPAM database of ``[vmetal_database]``."""
    from vmetal_ironic.ipam import feed
    return feed.ReservationFeed(conf)


class IpamSource(component.Component):
    """Agent component: keeps the table's ``ipam`` part in sync.

    :param table: the shared reservation table.
    :param feed: what to read (see :class:`Feed`, :func:`open_feed`);
        closed by :meth:`stop` when it has ``close()``.
    :param default_lease: lease time of hosts whose pool sets none.
    :param boot_defaults: the agent's boot defaults.
    :param interval: seconds between two incremental reads.
    :param snapshot_path: where to keep the local snapshot (None: none).
    """

    name = 'ipam-source'

    def __init__(self, table: Table, feed: Feed, default_lease: int,
                 boot_defaults: dict[str, str | None],
                 interval: float, snapshot_path: str | None = None,
                 boot_defaults6: dict[str, str | None] | None = None) -> None:
        self.table = table
        self.feed = feed
        self.interval = interval
        self.snapshot_path = snapshot_path
        self.generation = 0
        self.compiler = ipam_hosts.Compiler(table.interner, default_lease,
                                            boot_defaults, boot_defaults6)
        self._dirty = False
        self._start_failed = False     # start() served the snapshot
        self._writer = (snapshot.Writer(snapshot_path, SNAPSHOT_INTERVAL)
                        if snapshot_path else None)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def sync(self) -> int:
        """Apply the changes since the last generation; returns how many.

        :raises: whatever the feed raises (database errors).
        """
        with self._lock:
            return self._sync()

    def notify(self, notice: Any) -> None:
        """A change notice: sync now if it is newer than what is served."""
        if notice.generation > self.generation:
            self._wake.set()

    def _sync(self) -> int:
        begin = time.monotonic()
        before = self.generation
        trace.record('sync_start', before)
        cs = self.feed.changes_since(self.generation)
        if not cs.full and self._pools_changed(cs.pools):
            # A pool's network parameters changed: every host of it must
            # be recompiled, so read the whole snapshot again (rare).
            cs = self.feed.changes_since(0)
        read = time.monotonic()
        trace.record('read_done', cs.generation)
        n = self._apply(cs)
        done = time.monotonic()
        trace.record('applied', cs.generation)
        if n or cs.generation != before:
            # What benchmarks/agent_scale.py reads: an incremental sync
            # costs its changes, not the table.
            LOG.info('IPAM sync: generation %d -> %d, %d %s in %.1f ms '
                     '(read %.1f ms, table %.1f ms)', before, cs.generation,
                     n, 'reservations (full)' if cs.full else 'changes',
                     (done - begin) * 1e3, (read - begin) * 1e3,
                     (done - read) * 1e3)
        return n

    def _apply(self, cs: Any) -> int:
        self._pools_changed(cs.pools)
        if cs.full:
            try:
                # a feed may stream a full read (ipam.feed.Stream)
                hosts = [h for h in map(self.compiler.host, cs.reservations)
                         if h is not None]
            except BaseException:
                # Failed midway, after its pools were recorded: the next
                # sync must be a full read again, not an incremental one.
                self.generation = 0
                raise
            self.table.replace(SOURCE, hosts)
            n = len(hosts)
        else:
            # A MAC has one reservation per IP version: a change (or a
            # tombstone) of one leaves the host of the other family alone.
            upserts: list[Any] = []
            deletes: list[bytes] = []
            deletes6: list[bytes] = []
            for r in cs.reservations:
                host = None if r.deleted else self.compiler.host(r)
                if host is None:
                    mac = reservations.parse_mac(r.mac)
                    (deletes6 if r.ip_version == 6 else deletes).append(mac)
                else:
                    upserts.append(host)
            if upserts or deletes or deletes6:
                self.table.update(SOURCE, upserts, deletes, deletes6)
            n = len(cs.reservations)
        if n or cs.generation != self.generation:
            self._dirty = self._dirty or cs.full or n > 0 or bool(cs.pools)
            if self._writer is not None:
                self._writer.changed(time.monotonic())
        self.generation = cs.generation
        metrics.source_synced(SOURCE, cs.generation)
        return n

    # -- the local snapshot -------------------------------------------------

    def load_snapshot(self) -> bool:
        """Serve the snapshot, if there is a usable one; True if so.

        An unusable one is logged (the full read follows) and ignored.
        """
        if not self.snapshot_path:
            return False
        try:
            # streamed: records are decoded as they are compiled
            cs = snapshot.load(self.snapshot_path, stream=True)
            if cs is None:
                return False
            with self._lock:
                self._apply(cs)
                self._dirty = False
                if self._writer is not None:
                    self._writer.clean()
        except snapshot.SnapshotError as e:
            LOG.error('%s; ignoring it: the reservations are read in full '
                      'from the IPAM database', e)
            return False
        LOG.info('Serving %d reservations from the IPAM snapshot %s '
                 '(generation %d)', len(self.table.source_view(SOURCE)),
                 self.snapshot_path, self.generation)
        return True

    def save_snapshot(self, force: bool = False) -> None:
        """Write the snapshot if anything changed; never raises.

        Unless ``force``, only once the changes have settled
        (:meth:`~snapshot.Writer.due`): never in the middle of a burst.
        """
        writer = self._writer
        if writer is None or not self._dirty:
            return
        if not force and time.monotonic() < writer.due():
            return
        with self._lock:
            generation = self.generation
            pools = list(self.compiler.pools.values())
            # the served hosts, not a copy of the records: the snapshot is
            # written from the compiled table (ipam_hosts.record_of)
            hosts = list(self.table.source_view(SOURCE).values())
            hosts += self.table.source_view6(SOURCE).values()
            self._dirty = False
        recs = (ipam_hosts.record_of(h, generation) for h in hosts)
        begin = time.monotonic_ns()
        if not writer.save(generation, pools, recs):
            self._dirty = True
        trace.record('snapshot', generation, time.monotonic_ns() - begin)

    def _pools_changed(self, pools: list) -> bool:
        changed = [self.compiler.set_pool(pool) for pool in pools]
        return any(changed)

    def _snapshot_loop(self) -> None:
        # Its own thread: encoding the table never delays a sync.
        self.save_snapshot(force=True)
        while not self._stop.wait(SNAPSHOT_INTERVAL):
            self.save_snapshot()

    def _loop(self) -> None:
        # Started from the snapshot with the database down: its return is
        # logged like that of an outage met later.
        failing = self._start_failed
        synced_at = time.monotonic()
        while not self._stop.is_set():
            woken = self._wake.wait(max(
                0.0, synced_at + self.interval - time.monotonic()))
            self._wake.clear()
            if woken:
                trace.record('woken', self.generation)
            if self._stop.is_set():
                break
            if woken or time.monotonic() - synced_at >= self.interval:
                synced_at = time.monotonic()
                try:
                    self.sync()
                    if failing:
                        LOG.info('IPAM database is back: in sync at '
                                 'generation %d', self.generation)
                    failing = False
                except Exception as e:
                    LOG.error('IPAM sync from generation %d failed, '
                              'serving the current %d reservations: %s',
                              self.generation,
                              len(self.table.source_view(SOURCE)), e)
                    failing = True

    def start(self) -> None:
        """Snapshot (if any), a read of the database, the sync thread.

        Raises on a database error only when there is no usable snapshot
        to serve meanwhile.
        """
        from_snapshot = self.load_snapshot()
        self._start_failed = False
        try:
            self.sync()
        except Exception as e:
            if not from_snapshot:
                raise
            self._start_failed = True
            LOG.warning('IPAM database unavailable (%s): serving the %d '
                        'reservations of the snapshot (generation %d) '
                        'until it is back', e,
                        len(self.table.source_view(SOURCE)), self.generation)
        else:
            LOG.info('Loaded %d reservations from the IPAM database '
                     '(generation %d)', len(self.table.source_view(SOURCE)),
                     self.generation)
        # The first snapshot is written by the snapshot thread at once: at
        # 100,000 reservations encoding it takes a second that start-up
        # (and /readyz) need not wait for.
        self._stop.clear()
        self._threads = [threading.Thread(target=fn, name=name, daemon=True)
                         for fn, name in ((self._loop, 'ipam-sync'),
                                          (self._snapshot_loop,
                                           'ipam-snapshot'))]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """Stop the sync thread and close the feed."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=5)
        self.save_snapshot(force=True)
        close = getattr(self.feed, 'close', None)
        if close is not None:
            try:
                close()
            except Exception as e:
                LOG.warning('Closing the IPAM feed failed: %s', e)

    def reload(self) -> None:
        """SIGHUP: sync now."""
        try:
            self.sync()
        except Exception as e:
            LOG.error('IPAM sync failed: %s', e)
