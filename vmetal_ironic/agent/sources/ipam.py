"""Reservations from the IPAM database (the Ironic-integrated mode).

At start the source reads the full snapshot (``changes_since(0)``); then,
every ``[dhcp_agent]sync_interval`` seconds, only what changed since the
last generation, in its own thread. Network parameters (prefix, gateway,
DNS, domain, MTU, routes) come from the pool records of the ChangeSet; the
boot fields from the reservation's boot profile (written by the Ironic
DHCP provider), which wins over the agent's defaults.

A database error during a sync is logged and the current reservations
stay in service; the next sync retries from the same generation.
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_log import log

from vmetal_ironic.agent import hostspec
from vmetal_ironic.agent import reservations
from vmetal_ironic.agent.reservations import Host
from vmetal_ironic.agent.reservations import Table

LOG = log.getLogger(__name__)

SOURCE = 'ipam'

# Boot profile key -> host spec field.
PROFILE_FIELDS = {'bootfile': 'bootfile',
                  'ipxe_script_url': 'ipxe_script_url',
                  'http_boot_url': 'http_boot_url',
                  'tftp_server': 'tftp_server'}


def pool_spec(pool: Any) -> dict[str, Any]:
    """Host spec fields of a :class:`~vmetal_ironic.ipam.records.Pool`."""
    spec = {'prefix': pool.prefixlen, 'gateway': pool.gateway,
            'dns_servers': list(pool.dns_servers), 'domain': pool.domain,
            'mtu': pool.mtu,
            'routes': [{'destination': r.destination, 'gateway': r.gateway}
                       for r in pool.routes]}
    return {k: v for k, v in spec.items() if v not in (None, [])}


def reservation_spec(res: Any, pool: Any) -> dict[str, Any]:
    """Host spec of a :class:`~vmetal_ironic.ipam.records.Reservation`."""
    spec = pool_spec(pool)
    spec.update(mac=res.mac, ip=res.address, hostname=res.hostname,
                client_id=res.client_id, node_uuid=res.node_uuid)
    for key, field in PROFILE_FIELDS.items():
        value = (res.boot_profile or {}).get(key)
        if value:
            spec[field] = value
    return spec


class Compiler:
    """Turns reservation records into hosts, given the known pools."""

    def __init__(self, interner: reservations.Interner, default_lease: int,
                 boot_defaults: dict[str, str | None]) -> None:
        self.interner = interner
        self.default_lease = default_lease
        self.boot_defaults = boot_defaults
        self.pools: dict[str, Any] = {}

    def host(self, res: Any) -> Host | None:
        """The host for a live reservation, or None if it cannot serve."""
        pool = self.pools.get(res.pool)
        if pool is None or pool.version != 4 or not res.address:
            LOG.debug('Reservation of %s (node %s) has no IPv4 pool/address '
                      '(pool %s): not served', res.mac, res.node_uuid,
                      res.pool)
            return None
        spec = reservation_spec(res, pool)
        try:
            return hostspec.compile_host(spec, None, None, self.default_lease,
                                         self.boot_defaults, self.interner,
                                         SOURCE)
        except hostspec.HostSpecError as e:
            LOG.warning('Reservation of %s (node %s): %s; serving it '
                        'without its boot profile', res.mac, res.node_uuid,
                        e)
        for field in PROFILE_FIELDS.values():
            spec.pop(field, None)
        try:
            return hostspec.compile_host(spec, None, None, self.default_lease,
                                         self.boot_defaults, self.interner,
                                         SOURCE)
        except hostspec.HostSpecError as e:
            LOG.error('Reservation of %s (node %s) is not served: %s',
                      res.mac, res.node_uuid, e)
            return None


class IpamSource:
    """Agent component: keeps the table's ``ipam`` part in sync.

    :param manager: an object with ``changes_since(generation)``; by
        default the IPAM manager for ``conf``.
    """

    name = 'ipam-source'

    def __init__(self, table: Table, conf, default_lease: int,
                 boot_defaults: dict[str, str | None], interval: float,
                 manager: Any = None) -> None:
        self.table = table
        self.conf = conf
        self.interval = interval
        self.manager = manager
        self.generation = 0
        self.compiler = Compiler(table.interner, default_lease,
                                 boot_defaults)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _manager(self):
        if self.manager is None:
            from vmetal_ironic.ipam import manager
            self.manager = manager.IPAMManager(self.conf, sync_pools=False)
        return self.manager

    def sync(self) -> int:
        """Apply the changes since the last generation; returns how many.

        :raises: whatever the manager raises (database errors).
        """
        with self._lock:
            return self._sync()

    def _sync(self) -> int:
        mgr = self._manager()
        cs = mgr.changes_since(self.generation)
        if not cs.full and self._pools_changed(cs.pools):
            # A pool's network parameters changed: every host of it must
            # be recompiled, so read the whole snapshot again (rare). The
            # source keeps no copy of the records, only the compiled hosts.
            cs = mgr.changes_since(0)
        self._pools_changed(cs.pools)
        if cs.full:
            hosts = [h for h in map(self.compiler.host, cs.reservations)
                     if h is not None]
            self.table.replace(SOURCE, hosts)
            n = len(hosts)
        else:
            upserts, deletes = [], []
            for r in cs.reservations:
                host = None if r.deleted else self.compiler.host(r)
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
        self.generation = cs.generation
        return n

    def _pools_changed(self, pools: list) -> bool:
        changed = False
        for pool in pools:
            if self.compiler.pools.get(pool.name) != pool:
                changed = True
            self.compiler.pools[pool.name] = pool
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except Exception as e:
                LOG.error('IPAM sync from generation %d failed, serving '
                          'the current %d reservations: %s', self.generation,
                          len(self.table.source_view(SOURCE)), e)

    def start(self) -> None:
        """Full load (raises on a database error), then the sync thread."""
        self.sync()
        LOG.info('Loaded %d reservations from the IPAM database '
                 '(generation %d)', len(self.table.source_view(SOURCE)),
                 self.generation)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name='ipam-sync',
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the sync thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reload(self) -> None:
        """SIGHUP: sync now."""
        try:
            self.sync()
        except Exception as e:
            LOG.error('IPAM sync failed: %s', e)
