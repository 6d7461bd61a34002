"""Reservations from the IPAM database (the Ironic-integrated mode).

The source reads a *feed*: any object with ``changes_since(generation)``
returning a :class:`~vmetal_ironic.ipam.records.ChangeSet` (and,
optionally, ``close()``); :func:`open_feed` opens the default one. At start
it reads the full snapshot (``changes_since(0)``); then, every
``[dhcp_agent]sync_interval`` seconds, only what changed since the last
generation, in its own thread.

Records are compiled straight into hosts (:func:`make_host`): network
parameters (prefix, gateway, DNS, domain, MTU, routes) from the
reservation's :class:`~vmetal_ironic.ipam.records.Pool`, boot fields from
the node's :class:`~vmetal_ironic.boot_profile.BootProfile` (written by the
Ironic DHCP provider), which wins over the agent's defaults.

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

from collections.abc import Mapping
import threading
import time
from typing import Any, Protocol

from oslo_log import log

from vmetal_ironic.agent import component
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.sources import hostspec
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic.agent.sources.reservations import Host
from vmetal_ironic.agent.sources.reservations import Interner
from vmetal_ironic.agent.sources.reservations import Network
from vmetal_ironic.agent.sources.reservations import Table
from vmetal_ironic.agent.sources import snapshot
from vmetal_ironic import boot_profile
from vmetal_ironic.boot_profile import BootProfile

LOG = log.getLogger(__name__)

SOURCE = 'ipam'

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


def profile_of(res: Any) -> BootProfile:
    """The boot profile of a reservation record (the one place it is read).

    :param res: a :class:`~vmetal_ironic.ipam.records.Reservation` whose
        ``boot_profile`` is a :class:`BootProfile` or its stored dict form
        (keys a profile does not define are ignored).
    :raises boot_profile.InvalidBootProfile: a field has a bad value.
    """
    value = res.boot_profile
    if isinstance(value, BootProfile):
        return value
    if isinstance(value, Mapping):
        value = {k: v for k, v in value.items() if k in boot_profile.FIELDS}
    return BootProfile.from_dict(value)


def pool_network(pool: Any, ip: bytes, default_lease: int,
                 interner: Interner) -> Network:
    """The shared :class:`Network` of ``ip`` in an IPv4 pool record.

    :raises hostspec.HostSpecError: a field of the record is invalid.
    """
    mtu = pool.mtu
    return hostspec.shared_network(
        hostspec.integer(pool.prefixlen, 'prefix', 1, 32),
        hostspec.ipv4(pool.gateway, 'gateway') if pool.gateway else None,
        tuple(hostspec.ipv4(d, 'dns_servers') for d in pool.dns_servers),
        hostspec.text(pool.domain, 'domain'), default_lease,
        None if mtu is None else hostspec.integer(mtu, 'mtu', 68, 65535),
        tuple(hostspec.route(r.destination, r.gateway)
              for r in pool.routes),
        ip, interner)


def profile_boot(profile: BootProfile, defaults: dict[str, str | None],
                 interner: Interner) -> BootConfig:
    """The shared :class:`BootConfig`: the profile over agent defaults.

    :raises hostspec.HostSpecError: the profile's TFTP server is not an
        IPv4 address.
    """
    return hostspec.boot_config(
        {'ipxe_script_url': profile.ipxe_script_url,
         'http_boot_url': profile.http_boot_url,
         'tftp_server': profile.tftp_server},
        profile.bootfile, defaults, interner)


def make_host(res: Any, pool: Any, profile: BootProfile,
              default_lease: int, boot_defaults: dict[str, str | None],
              interner: Interner, net: Network | None = None,
              boot: BootConfig | None = None) -> Host:
    """The :class:`Host` of a reservation record.

    :param res: the :class:`~vmetal_ironic.ipam.records.Reservation`.
    :param pool: its IPv4 :class:`~vmetal_ironic.ipam.records.Pool`.
    :param profile: the node's boot profile.
    :param net: the pool's Network of an earlier host, reused when it
        contains the address.
    :param boot: the BootConfig of ``profile``, when already compiled.
    :raises hostspec.HostSpecError: a field is invalid.
    """
    ip = hostspec.ipv4(res.address, 'ip')
    if net is None or not net.contains(ip):
        net = pool_network(pool, ip, default_lease, interner)
    if boot is None:
        boot = profile_boot(profile, boot_defaults, interner)
    return Host(hostspec.mac(res.mac), ip, net, boot,
                hostname=hostspec.hostname(res.hostname),
                client_id=hostspec.client_id(res.client_id),
                node_uuid=hostspec.text(res.node_uuid, 'node_uuid'),
                source=SOURCE)


class Compiler:
    """Turns reservation records into hosts, given the known pools.

    Hosts of one pool and one profile share compiled objects: a full
    snapshot compiles each pool's Network and each profile's BootConfig
    once.
    """

    def __init__(self, interner: Interner, default_lease: int,
                 boot_defaults: dict[str, str | None]) -> None:
        self.interner = interner
        self.default_lease = default_lease
        self.boot_defaults = boot_defaults
        self.pools: dict[str, Any] = {}
        self._nets: dict[str, Network] = {}
        self._boots: dict[BootProfile, BootConfig] = {}

    def set_pool(self, pool: Any) -> bool:
        """Record a pool; True if it is new or changed."""
        if self.pools.get(pool.name) == pool:
            return False
        self.pools[pool.name] = pool
        self._nets.pop(pool.name, None)
        return True

    def _make(self, res: Any, pool: Any, profile: BootProfile) -> Host:
        host = make_host(res, pool, profile, self.default_lease,
                         self.boot_defaults, self.interner,
                         self._nets.get(pool.name), self._boots.get(profile))
        self._nets[pool.name] = host.net
        if len(self._boots) > 4096:
            self._boots.clear()
        self._boots[profile] = host.boot
        return host

    def host(self, res: Any) -> Host | None:
        """The host for a live reservation, or None if it cannot serve."""
        pool = self.pools.get(res.pool)
        if pool is None or pool.version != 4 or not res.address:
            LOG.debug('Reservation of %s (node %s) has no IPv4 pool/address '
                      '(pool %s): not served', res.mac, res.node_uuid,
                      res.pool)
            return None
        try:
            return self._make(res, pool, profile_of(res))
        except (hostspec.HostSpecError, boot_profile.InvalidBootProfile) as e:
            LOG.warning('Reservation of %s (node %s): %s; serving it '
                        'without its boot profile', res.mac, res.node_uuid,
                        e)
        try:
            return self._make(res, pool, boot_profile.EMPTY)
        except hostspec.HostSpecError as e:
            LOG.error('Reservation of %s (node %s) is not served: %s',
                      res.mac, res.node_uuid, e)
            return None


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
                 interval: float, snapshot_path: str | None = None) -> None:
        self.table = table
        self.feed = feed
        self.interval = interval
        self.snapshot_path = snapshot_path
        self.generation = 0
        self.compiler = Compiler(table.interner, default_lease,
                                 boot_defaults)
        self.records: dict[str, Any] = {}
        self._dirty = False
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
        cs = self.feed.changes_since(self.generation)
        if not cs.full and self._pools_changed(cs.pools):
            # A pool's network parameters changed: every host of it must
            # be recompiled, so read the whole snapshot again (rare).
            cs = self.feed.changes_since(0)
        return self._apply(cs)

    def _apply(self, cs: Any) -> int:
        self._pools_changed(cs.pools)
        if cs.full:
            self.records = {r.mac: r for r in cs.reservations}
            hosts = [h for h in map(self.compiler.host, cs.reservations)
                     if h is not None]
            self.table.replace(SOURCE, hosts)
            n = len(hosts)
        else:
            upserts, deletes = [], []
            for r in cs.reservations:
                host = None if r.deleted else self.compiler.host(r)
                if r.deleted:
                    self.records.pop(r.mac, None)
                else:
                    self.records[r.mac] = r
                if host is None:
                    deletes.append(reservations.parse_mac(r.mac))
                else:
                    upserts.append(host)
            if upserts or deletes:
                self.table.update(SOURCE, upserts, deletes)
            n = len(cs.reservations)
        if n or cs.generation != self.generation:
            LOG.debug('IPAM sync: generation %d -> %d, %d changes',
                      self.generation, cs.generation, n)
            self._dirty = self._dirty or cs.full or n > 0 or bool(cs.pools)
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
            cs = snapshot.load(self.snapshot_path)
        except snapshot.SnapshotError as e:
            LOG.error('%s; ignoring it: the reservations are read in full '
                      'from the IPAM database', e)
            return False
        if cs is None:
            return False
        with self._lock:
            self._apply(cs)
            self._dirty = False
        LOG.info('Serving %d reservations from the IPAM snapshot %s '
                 '(generation %d)', len(self.table.source_view(SOURCE)),
                 self.snapshot_path, self.generation)
        return True

    def save_snapshot(self, force: bool = False) -> None:
        """Write the snapshot if anything changed; never raises.

        At most every :data:`SNAPSHOT_INTERVAL` seconds unless ``force``.
        """
        writer = self._writer
        if writer is None or not self._dirty:
            return
        if not force and time.monotonic() < writer.due():
            return
        with self._lock:
            generation = self.generation
            pools = list(self.compiler.pools.values())
            recs = list(self.records.values())
            self._dirty = False
        if not writer.save(generation, pools, recs):
            self._dirty = True

    def _pools_changed(self, pools: list) -> bool:
        changed = [self.compiler.set_pool(pool) for pool in pools]
        return any(changed)

    def _snapshot_loop(self) -> None:
        # Its own thread: encoding the table never delays a sync.
        while not self._stop.wait(SNAPSHOT_INTERVAL):
            self.save_snapshot()

    def _loop(self) -> None:
        failing = False
        synced_at = time.monotonic()
        while not self._stop.is_set():
            woken = self._wake.wait(max(
                0.0, synced_at + self.interval - time.monotonic()))
            self._wake.clear()
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
        try:
            self.sync()
        except Exception as e:
            if not from_snapshot:
                raise
            LOG.warning('IPAM database unavailable (%s): serving the %d '
                        'reservations of the snapshot (generation %d) '
                        'until it is back', e,
                        len(self.table.source_view(SOURCE)), self.generation)
        else:
            LOG.info('Loaded %d reservations from the IPAM database '
                     '(generation %d)', len(self.table.source_view(SOURCE)),
                     self.generation)
        self.save_snapshot(force=True)
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
