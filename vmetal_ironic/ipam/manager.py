"""The IPAM manager: the API the Ironic drivers and the CLI use.

It works on the pools the database records (``vmetal_pools``), which one
explicit act writes (:meth:`IPAMManager.sync_pools`: ``vmetal-dbsync
upgrade``, ``vmetal-ipam pool sync``, or a conductor with ``[vmetal_ipam]
manage_pools``). A process whose own pool configuration differs says so
once (:meth:`IPAMManager.pool_drift` lists the differences) and goes on
with the database's pools.

The database is opened lazily, once per process, on first use: the Ironic
drivers are instantiated at conductor start, where nothing may fail. Each
method is one read or one write transaction (the node operations of
:class:`~vmetal_ironic.ipam.operations.NodeOperations`: usually one
transaction, never more than one commit, none when nothing changed); the
SQL lives in the ``sql_*`` modules.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
import dataclasses
import threading
from typing import Any, Callable

import netaddr
from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.conf import ipam as ipam_conf
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import failures
from vmetal_ironic.ipam import operations
from vmetal_ironic.ipam import ownership
from vmetal_ironic.ipam import pools as pools_mod
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import scope as scope_mod
from vmetal_ironic.ipam import selection
from vmetal_ironic.ipam import sql_allocations
from vmetal_ironic.ipam import sql_changes
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_pools
from vmetal_ironic.ipam import sql_reservations
from vmetal_ironic.ipam import validate
from vmetal_ironic.rpc import changes as rpc_changes
from vmetal_ironic.rpc import publisher as rpc_publisher

LOG = log.getLogger(__name__)

# How long a deleted reservation is remembered for incremental sync.
TOMBSTONE_TTL = 7 * 24 * 3600


class IPAMManager(ownership.PoolOwnership, operations.NodeOperations):
    """Pools, allocations and reservations for one configuration.

    :param conf: an oslo.config ConfigOpts with the vmetal groups
        registered (default: the global CONF).
    :param database: an open :class:`~vmetal_ironic.db.api.Database`;
        default: one opened from ``[vmetal_database]`` on first use.
    :param clock: callable returning naive UTC now (tests move time).
    :param manage_pools: record the configured pools when the database is
        first used (default ``[vmetal_ipam]manage_pools``).
    """

    def __init__(self, conf: cfg.ConfigOpts | None = None,
                 database: db_api.Database | None = None,
                 clock: Callable[[], Any] = sql_common.utcnow,
                 manage_pools: bool | None = None) -> None:
        from vmetal_ironic import conf as vmetal_conf
        self.conf = conf if conf is not None else vmetal_conf.CONF
        self.clock = clock
        self._database = database
        self._manage = manage_pools
        self._pool_config: pools_mod.PoolConfig | None = None
        self._effective: pools_mod.PoolConfig | None = None
        self._pools_generation: int | None = None
        self._warned_drift = False
        self._lock = threading.Lock()
        self._opened = False
        self._publisher: rpc_publisher.Publisher | None = None
        self._hints = operations.Hints()

    # -- set-up ------------------------------------------------------------

    @property
    def database(self) -> db_api.Database:
        """The database, opened and schema-checked on first use."""
        if not self._opened:
            with self._lock:
                if not self._opened:
                    if self._database is None:
                        self._database = db_api.Database.from_conf(self.conf)
                    migration.check(self._database.reader)
                    self._opened = True
        assert self._database is not None
        return self._database

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None
        if self._database is not None:
            self._database.dispose()

    @property
    def _group(self) -> Any:
        return self.conf[ipam_conf.GROUP]

    @property
    def _quarantine(self) -> int:
        return self._group.quarantine

    def _read(self, fn: Callable[..., Any], core: bool = False) -> Any:
        return self.database.read(fn, core=core)

    def _write(self, fn: Callable[..., Any], core: bool = False) -> Any:
        """``fn(session, now)`` in a write transaction (see Database.write).

        ``fn`` raises :class:`~vmetal_ironic.db.api.Unchanged` when it
        found nothing to write: no commit, no notice.
        """
        clock = self.clock
        if self._publisher is None:
            self._publisher = rpc_publisher.Publisher(self.conf)
        publisher = self._publisher
        if not publisher.enabled:
            return self.database.write(lambda session: fn(session, clock()),
                                       core=core)

        def _run(session: Any) -> Any:
            before = rpc_changes.generation(session)
            try:
                result = fn(session, clock())
            except db_api.Unchanged as unchanged:
                raise db_api.Unchanged((unchanged.result, None))
            return result, rpc_changes.notice_since(session, before)
        result, notice = self.database.write(_run, core=core)
        publisher.publish(notice)           # after the commit; never blocks
        return result

    # -- pools ------------------------------------------------------------

    def _spec(self, name: str) -> pools_mod.PoolSpec:
        return self.pools.get(name)

    def get_pools(self) -> list[records.Pool]:
        """:returns: the recorded pools (list of records.Pool)."""
        return self._read(sql_pools.in_service)

    def select_pool(self, node_uuid: str,
                    instance_info: dict[str, Any] | None = None,
                    properties: dict[str, Any] | None = None,
                    driver_info: dict[str, Any] | None = None,
                    resource_class: str | None = None) -> str:
        """The name of the node's pool (see selection.select_pool).

        :raises: NoPoolForNode, UnknownPool.
        """
        return selection.select_pool(
            self.pools, node_uuid, instance_info=instance_info,
            properties=properties, driver_info=driver_info,
            resource_class=resource_class).name

    def usage(self, pool: str | None = None) -> list[records.PoolUsage]:
        """:returns: list of records.PoolUsage, one per pool."""
        if pool:
            self._spec(pool)
        now = self.clock()
        usage = self._read(lambda s: sql_allocations.usage(
            s, self._quarantine, pool, now))
        # Pins may lie outside the ranges: they take no address of the
        # space. Pins are few (operator decisions), so count them here.
        outside: collections.Counter[str] = collections.Counter()
        for allocation in self._read(lambda s: sql_allocations.listing(
                s, pool, None, True)):
            spec = self.pools.pools_by_name.get(allocation.pool.name)
            if spec is not None and int(netaddr.IPAddress(
                    allocation.address)) not in spec.space:
                outside[allocation.pool.name] += 1
        return [dataclasses.replace(u, outside=outside[u.pool.name])
                for u in usage]

    # -- allocations ------------------------------------------------------

    def _scope(self, scope: str | scope_mod.Scope | None
               ) -> scope_mod.Scope:
        return validate.scope(scope or self._group.allocation_scope)

    def _select(self, node_uuid: str, pool: str | None,
                **facts: Any) -> pools_mod.PoolSpec:
        if pool:
            return self._spec(pool)
        return selection.select_pool(self.pools, node_uuid, **facts)

    @failures.counting
    def allocate(self, node_uuid: str, pool: str | None = None,
                 resource_class: str | None = None,
                 scope: str | scope_mod.Scope | None = None,
                 instance_info: dict[str, Any] | None = None,
                 properties: dict[str, Any] | None = None,
                 driver_info: dict[str, Any] | None = None
                 ) -> records.Allocation:
        """The node's address: allocated now, or the one it already has.

        :param pool: the pool name; default: chosen by select_pool.
        :param scope: a :class:`~vmetal_ironic.ipam.scope.Scope` value;
            default ``[vmetal_ipam]allocation_scope``.
        :raises: InvalidInput, NoPoolForNode, UnknownPool, PoolExhausted.
        """
        validate.node(node_uuid)
        scope = self._scope(scope)
        spec = self._select(node_uuid, pool, resource_class=resource_class,
                            instance_info=instance_info,
                            properties=properties, driver_info=driver_info)
        allocation = self._write(lambda s, now: sql_allocations.allocate(
            s, spec, node_uuid, scope, self._quarantine, now))
        LOG.debug('Node %(node)s has %(addr)s in pool %(pool)s',
                  {'node': node_uuid, 'addr': allocation.address,
                   'pool': spec.name})
        return allocation

    @failures.counting
    def allocate_and_reserve(self, node_uuid: str,
                             ports: dict[str, str | None],
                             hostname: str | None = None,
                             pool: str | None = None,
                             resource_class: str | None = None,
                             scope: str | scope_mod.Scope | None = None,
                             instance_info: dict[str, Any] | None = None,
                             properties: dict[str, Any] | None = None,
                             driver_info: dict[str, Any] | None = None
                             ) -> tuple[records.Allocation,
                                        list[records.Reservation]]:
        """allocate(), then reserve the address for exactly ``ports``.

        One write transaction, always (see
        :meth:`~vmetal_ironic.ipam.operations.NodeOperations.ensure_network`
        for the operation that writes only what changed).

        :param ports: MAC -> client id (or None) of the node's PXE ports;
            the node's reservations for other MACs are deleted.
        :raises: as allocate(); InvalidInput, Conflict for a bad or
            foreign MAC (nothing is written then).
        """
        validate.node(node_uuid)
        validate.hostname(hostname)
        scope = self._scope(scope)
        spec = self._select(node_uuid, pool, resource_class=resource_class,
                            instance_info=instance_info,
                            properties=properties, driver_info=driver_info)
        return self._allocate_and_reserve(spec, node_uuid, scope,
                                          dict(ports), hostname)

    def _allocate_and_reserve(self, spec: pools_mod.PoolSpec, node_uuid: str,
                              scope: str | scope_mod.Scope,
                              ports: dict[str, str | None],
                              hostname: str | None
                              ) -> tuple[records.Allocation,
                                         list[records.Reservation]]:
        return self._write(lambda s, now: self._reserve_in(
            s, now, spec, node_uuid, scope, ports, hostname), core=True)

    def _reserve_in(self, session: Any, now: Any, spec: pools_mod.PoolSpec,
                    node_uuid: str, scope: str | scope_mod.Scope,
                    ports: dict[str, str | None], hostname: str | None
                    ) -> tuple[records.Allocation,
                               list[records.Reservation]]:
        """allocate() and the node's reservations, in ``session``."""
        allocation, pool_id = sql_allocations.placed(
            session, spec, node_uuid, scope, self._quarantine, now)
        reservations = sql_reservations.sync_node_all(
            session, node_uuid, [(allocation.address, pool_id)],
            ports, hostname, now)
        return allocation, reservations

    def node_state(self, node_uuid: str
                   ) -> tuple[list[records.Allocation],
                              list[records.Reservation]]:
        """(active allocations, live reservations) of the node, one read."""
        return self._read(lambda s: (
            sql_allocations.for_node(s, node_uuid, True),
            sql_reservations.listing(s, node_uuid)))

    def pin(self, node_uuid: str, address: str, pool: str | None = None,
            scope: str | scope_mod.Scope | None = None
            ) -> records.Allocation:
        """Give ``address`` to the node for good (operator decision).

        :param pool: default: the pool whose network holds the address.
        :raises: InvalidInput, InvalidAddress, UnknownPool, AddressInUse.
        """
        validate.node(node_uuid)
        scope = self._scope(scope)
        ip = validate.address(address)
        pools = self.pools
        spec = validate.pool_for(pools, ip, pool)
        for other in pools.pools:
            if other.name != spec.name and int(ip) in other.space:
                raise exception.InvalidAddress(
                    address=address,
                    reason=_('it lies in the ranges of pool "%s"')
                    % other.name)
        return self._write(lambda s, now: sql_allocations.pin(
            s, spec, node_uuid, str(ip), scope, now))

    def get_allocations(self, node_uuid: str) -> list[records.Allocation]:
        """:returns: the node's active allocations."""
        return self._read(lambda s: sql_allocations.for_node(
            s, node_uuid, True))

    def list_allocations(self, pool: str | None = None,
                         states: Iterable[str] | None = None
                         ) -> list[records.Allocation]:
        """Allocations held or claimed by a node, all pools or one."""
        if pool:
            self._spec(pool)
        return self._read(lambda s: sql_allocations.listing(
            s, pool, states, None))

    def reconcile(self, live_node_uuids: Iterable[str]
                  ) -> list[records.Allocation]:
        """Forget every node that is not in ``live_node_uuids``.

        :returns: the allocations that were active and were released.
        """
        live = set(live_node_uuids)
        return self._write(lambda s, now: sql_allocations.reconcile(
            s, live, now, TOMBSTONE_TTL))

    def purge_tombstones(self, older_than: int = TOMBSTONE_TTL) -> int:
        """Forget deleted reservations older than ``older_than`` seconds.

        An agent whose last generation is older gets a full snapshot.
        :returns: how many were purged.
        """
        import datetime
        delta = datetime.timedelta(seconds=older_than)
        return self._write(lambda s, now: sql_changes.purge_tombstones(
            s, now - delta))

    # -- reservations -----------------------------------------------------

    def upsert_reservation(self, mac: str, node_uuid: str,
                           address: str | None = None,
                           pool: str | None = None,
                           hostname: str | None = None,
                           client_id: str | None = None,
                           boot_profile: Any = None) -> records.Reservation:
        """Reserve ``address`` (default: the node's) for ``mac``.

        An explicit address must lie in the network of ``pool`` (or of a
        pool, when none is named), of the same IP version.
        """
        validate.node(node_uuid)
        validate.hostname(hostname)
        validate.printable('client id', client_id)
        if address is not None:
            ip = validate.address(address)
            validate.pool_for(self.pools, ip, pool)
            address = str(ip)
        return self._write(lambda s, now: sql_reservations.upsert(
            s, mac, node_uuid, now, address=address, pool=pool,
            hostname=hostname, client_id=client_id,
            boot_profile=boot_profile))

    def delete_reservations(self, node_uuid: str | None = None,
                            mac: str | None = None) -> int:
        return self._write(lambda s, now: sql_reservations.delete(
            s, now, node_uuid=node_uuid, mac=mac))

    def list_reservations(self, node_uuid: str | None = None
                          ) -> list[records.Reservation]:
        return self._read(lambda s: sql_reservations.listing(s, node_uuid))

    def changes_since(self, generation: int) -> records.ChangeSet:
        """records.ChangeSet after ``generation`` (0: everything)."""
        return self._read(lambda s: sql_changes.changes_since(
            s, int(generation)))


_MANAGER = None
_MANAGER_LOCK = threading.Lock()


def get_manager(conf: cfg.ConfigOpts | None = None) -> IPAMManager:
    """The process-wide manager for ``conf`` (default: the global CONF)."""
    global _MANAGER
    conf = conf if conf is not None else cfg.CONF
    with _MANAGER_LOCK:
        if _MANAGER is None or _MANAGER.conf is not conf:
            _MANAGER = IPAMManager(conf)
        return _MANAGER
