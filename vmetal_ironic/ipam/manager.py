"""The IPAM manager: the API the Ironic drivers, the CLI and the agent use.

It joins the pool configuration (``[vmetal_ipam]``, ``[vmetal_pool:NAME]``)
with the store (``[vmetal_database]``). The store is opened lazily, once per
process, on first use: the Ironic drivers are instantiated at conductor
start, where nothing may fail.
"""

import collections
import dataclasses
import threading

import netaddr
from oslo_config import cfg
from oslo_log import log

from vmetal_ironic import conf as vmetal_conf
from vmetal_ironic.conf import ipam as ipam_conf
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import pools as pools_mod
from vmetal_ironic.ipam import selection
from vmetal_ironic.ipam import store as store_mod

LOG = log.getLogger(__name__)

# How long a deleted reservation is remembered for incremental sync.
TOMBSTONE_TTL = 7 * 24 * 3600


class IPAMManager:
    """Pools, allocations and reservations for one configuration.

    :param conf: an oslo.config ConfigOpts with the vmetal groups
        registered (default: the global CONF).
    :param store: an open :class:`~vmetal_ironic.ipam.store.Store`;
        default: one opened from ``[vmetal_database]`` on first use.
    :param sync_pools: record the configured pools in the store when it is
        opened. Default: when the configuration names any pool (the DHCP
        agent, which has no pool configuration, reads them instead).
    """

    def __init__(self, conf=None, store=None, sync_pools=None):
        self.conf = conf if conf is not None else vmetal_conf.CONF
        self._store = store
        self._sync_pools = sync_pools
        self._pool_config = None
        self._lock = threading.Lock()
        self._opened = False

    # -- set-up ------------------------------------------------------------

    @property
    def pool_config(self):
        """The validated pools of the configuration (read once)."""
        if self._pool_config is None:
            self._pool_config = pools_mod.load_pools(self.conf)
        return self._pool_config

    @property
    def store(self):
        """The store, opened, schema-checked and synced on first use."""
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self._open()
        return self._store

    def _open(self):
        pool_config = self.pool_config
        if self._store is None:
            self._store = store_mod.Store.from_conf(
                self.conf,
                max_retries=self.conf[ipam_conf.GROUP].max_retries)
        self._store.check_schema()
        sync = self._sync_pools
        if sync is None:
            sync = bool(pool_config.pools)
        if sync:
            self._store.sync_pools(pool_config.pools)
        self._opened = True

    def close(self):
        if self._store is not None:
            self._store.close()

    @property
    def _quarantine(self):
        return self.conf[ipam_conf.GROUP].quarantine

    def _spec(self, name):
        return self.pool_config.get(name)

    def _select(self, node_uuid, pool, resource_class, instance_info,
                properties, driver_info):
        if pool:
            return self._spec(pool)
        return selection.select_pool(
            self.pool_config, node_uuid, instance_info=instance_info,
            properties=properties, driver_info=driver_info,
            resource_class=resource_class)

    # -- pools ------------------------------------------------------------

    def get_pools(self):
        """:returns: the recorded pools (list of records.Pool)."""
        return self.store.get_pools()

    def select_pool(self, node_uuid, instance_info=None, properties=None,
                    driver_info=None, resource_class=None):
        """The name of the node's pool (see selection.select_pool).

        :raises: NoPoolForNode, UnknownPool.
        """
        return self._select(node_uuid, None, resource_class, instance_info,
                            properties, driver_info).name

    def usage(self, pool=None):
        """:returns: list of records.PoolUsage, one per pool."""
        if pool:
            self._spec(pool)
        usage = self.store.usage(self._quarantine, pool=pool)
        # Pins may lie outside the ranges: they take no address of the
        # space. Pins are few (operator decisions), so count them here.
        outside = collections.Counter()
        for allocation in self.store.list_allocations(pool=pool, pinned=True):
            spec = self.pool_config.pools_by_name.get(allocation.pool.name)
            if spec is not None and int(netaddr.IPAddress(
                    allocation.address)) not in spec.space:
                outside[allocation.pool.name] += 1
        return [dataclasses.replace(u, outside=outside[u.pool.name])
                for u in usage]

    # -- allocations ------------------------------------------------------

    def allocate(self, node_uuid, pool=None, resource_class=None, scope=None,
                 instance_info=None, properties=None, driver_info=None):
        """The node's address: allocated now, or the one it already has.

        :param pool: the pool name; default: chosen by select_pool.
        :param scope: 'deployment', 'node' or a phase name ('cleaning',
            'inspection', 'rescue', 'servicing'); default
            ``[vmetal_ipam]allocation_scope``.
        :returns: records.Allocation.
        :raises: NoPoolForNode, UnknownPool, PoolExhausted.
        """
        _check_node(node_uuid)
        spec = self._select(node_uuid, pool, resource_class, instance_info,
                            properties, driver_info)
        scope = scope or self.conf[ipam_conf.GROUP].allocation_scope
        allocation = self.store.allocate(spec, node_uuid, scope,
                                         self._quarantine)
        LOG.debug('Node %(node)s has %(addr)s in pool %(pool)s',
                  {'node': node_uuid, 'addr': allocation.address,
                   'pool': spec.name})
        return allocation

    def allocate_and_reserve(self, node_uuid, ports, hostname=None,
                             pool=None, resource_class=None, scope=None,
                             instance_info=None, properties=None,
                             driver_info=None):
        """allocate(), then reserve the address for exactly ``ports``.

        One database transaction: what a deploy hook needs, at the cost of
        one commit.

        :param ports: MAC -> client id (or None) of the node's PXE ports;
            the node's reservations for other MACs are deleted.
        :returns: (records.Allocation, [records.Reservation]).
        :raises: as allocate(); InvalidInput, Conflict for a bad or
            foreign MAC (nothing is written then).
        """
        _check_node(node_uuid)
        spec = self._select(node_uuid, pool, resource_class, instance_info,
                            properties, driver_info)
        scope = scope or self.conf[ipam_conf.GROUP].allocation_scope
        return self.store.allocate_and_reserve(
            spec, node_uuid, scope, self._quarantine, dict(ports), hostname)

    def node_state(self, node_uuid):
        """(active allocations, live reservations) of the node, one read."""
        return self.store.node_state(node_uuid)

    def pin(self, node_uuid, address, pool=None, scope=None):
        """Give ``address`` to the node for good (operator decision).

        :param pool: default: the pool whose network holds the address.
        :raises: InvalidAddress, UnknownPool, AddressInUse.
        """
        _check_node(node_uuid)
        ip = _check_address(address)
        if pool:
            spec = self._spec(pool)
        else:
            candidates = self.pool_config.containing(ip)
            if not candidates:
                raise exception.InvalidAddress(
                    address=address, reason=_('in no pool\'s network'))
            spec = candidates[0]
        for other in self.pool_config.pools:
            if other.name != spec.name and int(ip) in other.space:
                raise exception.InvalidAddress(
                    address=address,
                    reason=_('it lies in the ranges of pool "%s"')
                    % other.name)
        scope = scope or self.conf[ipam_conf.GROUP].allocation_scope
        return self.store.pin(spec, node_uuid, str(ip), scope)

    def get_allocations(self, node_uuid):
        """:returns: the node's active allocations."""
        return self.store.get_allocations(node_uuid)

    def list_allocations(self, pool=None, states=None):
        """Allocations held or claimed by a node, all pools or one."""
        if pool:
            self._spec(pool)
        return self.store.list_allocations(pool=pool, states=states)

    def release(self, node_uuid, scope=None):
        """Release the node's active allocations and its reservations.

        :param scope: release only allocations of this scope.
        :returns: the released allocations.
        """
        return self.store.release(node_uuid, scope=scope)

    def forget(self, node_uuid):
        """The node is gone: release everything, pins and claims too."""
        return self.store.release(node_uuid, forget=True)

    def reconcile(self, live_node_uuids):
        """Forget every node that is not in ``live_node_uuids``.

        :returns: the allocations that were active and were released.
        """
        return self.store.reconcile(live_node_uuids, TOMBSTONE_TTL)

    def purge_tombstones(self, older_than=TOMBSTONE_TTL):
        """Forget deleted reservations older than ``older_than`` seconds.

        An agent whose last generation is older gets a full snapshot.
        :returns: how many were purged.
        """
        return self.store.purge_tombstones(older_than)

    # -- reservations -----------------------------------------------------

    def upsert_reservation(self, mac, node_uuid, address=None, pool=None,
                           hostname=None, client_id=None, boot_profile=None):
        """Reserve ``address`` (default: the node's) for ``mac``."""
        return self.store.upsert_reservation(
            mac, node_uuid, address=address, pool=pool, hostname=hostname,
            client_id=client_id, boot_profile=boot_profile)

    def set_boot_profile(self, node_uuid, profile):
        """Set (or with None/{} clear) the boot profile of the node."""
        return self.store.set_boot_profile(node_uuid, profile)

    def delete_reservations(self, node_uuid=None, mac=None):
        return self.store.delete_reservations(node_uuid=node_uuid, mac=mac)

    def list_reservations(self, node_uuid=None):
        return self.store.list_reservations(node_uuid=node_uuid)

    def changes_since(self, generation):
        """records.ChangeSet after ``generation`` (0: everything)."""
        return self.store.changes_since(int(generation))


def _check_node(node_uuid):
    if not node_uuid or not isinstance(node_uuid, str) or len(node_uuid) > 36:
        raise exception.InvalidInput(
            reason=_('"%s" is not a node UUID') % (node_uuid,))


def _check_address(address):
    try:
        return netaddr.IPAddress(str(address).strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise exception.InvalidAddress(address=address,
                                       reason=_('not an IP address'))


_MANAGER = None
_MANAGER_LOCK = threading.Lock()


def get_manager(conf=None):
    """The process-wide manager for ``conf`` (default: the global CONF)."""
    global _MANAGER
    conf = conf if conf is not None else cfg.CONF
    with _MANAGER_LOCK:
        if _MANAGER is None or _MANAGER.conf is not conf:
            _MANAGER = IPAMManager(conf)
        return _MANAGER
