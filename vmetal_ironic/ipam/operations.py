"""The node operations of the IPAM manager: the rules the drivers follow.

An Ironic hook gathers a node's facts (:class:`~vmetal_ironic.ipam.node.
NodeFacts`) and makes one of these calls; the policy is here:

* :meth:`NodeOperations.ensure_network` for the deployment or a phase:
  the deployment's allocation has the node's scope
  (``driver_info['vmetal_allocation_scope']`` or ``[vmetal_ipam]
  allocation_scope``); a phase (cleaning, rescue, inspection, servicing)
  reuses any allocation the node has and otherwise gets one of its own;
  every PXE MAC is reserved, stale reservations are deleted. A
  dual-stack node (:func:`~vmetal_ironic.ipam.selection.select_all`) has
  one allocation per IP version and each PXE MAC one reservation of each.
* :meth:`NodeOperations.release` for a scope, :meth:`forget` for a node
  that is gone, :meth:`port_changed` for one port,
  :meth:`set_boot_profile` for the DHCP provider.

Each commits at most one transaction, and none when everything is in
place: hooks run many times per deploy. :class:`Hints` (what this process
last saw of the node: the profile, the allocations) pick the one
transaction: where they say all is probably in place, a read (and a write
after it only if it was not); otherwise the write at once, which reads
and compares under its own lock and, finding nothing to change, rolls
back (:class:`~vmetal_ironic.db.api.Unchanged`). A stale hint costs one
transaction that commits nothing, never a wrong answer.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log

from vmetal_ironic import boot_profile
from vmetal_ironic.db import api as db_api
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import failures
from vmetal_ironic.ipam import node as node_mod
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import scope as scope_mod
from vmetal_ironic.ipam import selection
from vmetal_ironic.ipam import sql_allocations
from vmetal_ironic.ipam import sql_profiles
from vmetal_ironic.ipam import sql_reservations
from vmetal_ironic.ipam import validate

LOG = log.getLogger(__name__)

Scope = scope_mod.Scope


class Hints:
    """What this process last saw of a node's profile and allocations.

    Only picks the order "read, then write if needed" or "write (which
    compares) at once"; never decides a result. Bounded: forgotten when
    it grows past :attr:`LIMIT` nodes.
    """

    LIMIT = 10000

    def __init__(self) -> None:
        self._profiles: dict[str, Any] = {}
        self._active: dict[str, frozenset[str]] = {}

    def profile(self, node_uuid: str) -> Any:
        """The node's stored profile as last seen here, or None."""
        return self._profiles.get(node_uuid)

    def active(self, node_uuid: str) -> frozenset[str] | None:
        """Scopes of the node's active allocations as last seen, or None."""
        return self._active.get(node_uuid)

    def saw_profile(self, node_uuid: str, profile: Any) -> None:
        if len(self._profiles) >= self.LIMIT:
            self._profiles.clear()
        self._profiles[node_uuid] = profile

    def saw_allocations(self, node_uuid: str, allocations: Any) -> None:
        if len(self._active) >= self.LIMIT:
            self._active.clear()
        self._active[node_uuid] = frozenset(a.scope for a in allocations)

    def forget(self, node_uuid: str) -> None:
        self._profiles.pop(node_uuid, None)
        self._active.pop(node_uuid, None)


def _node_state(session: Any, node_uuid: str) -> tuple[Any, Any, int]:
    allocations, generation = sql_allocations.active_with_generation(
        session, node_uuid)
    return (allocations, sql_reservations.listing(session, node_uuid),
            generation)


class NodeOperations:
    """Mixed into :class:`~vmetal_ironic.ipam.manager.IPAMManager`."""

    # Provided by the manager.
    _read: Any
    _write: Any
    _scope: Any
    _group: Any
    _spec: Any
    _pools_seen: Any
    _hints: Hints
    _quarantine: Any
    pools: Any

    def deployment_scope(self, facts: node_mod.NodeFacts) -> Scope:
        """The scope of the node's deployment allocation.

        :raises: InvalidInput for a driver_info scope that is not one of
            the deployment scopes.
        """
        value = (facts.driver_info or {}).get(node_mod.SCOPE_KEY)
        if value is None:
            return self._scope(None)
        scope = validate.scope(value)
        if scope not in scope_mod.DEPLOYMENT_SCOPES:
            raise exception.InvalidInput(
                reason=_('driver_info %(key)s must be "deployment" or '
                         '"node", not %(val)r')
                % {'key': node_mod.SCOPE_KEY, 'val': value})
        return scope

    @failures.counting
    def ensure_network(self, facts: node_mod.NodeFacts,
                       scope: Scope | str = Scope.DEPLOYMENT
                       ) -> node_mod.NodeNetwork:
        """Allocate or reuse the node's address, reserve every PXE MAC.

        One transaction: a read when this process saw the allocation
        already (it is probably in place: nothing to commit), else the
        write, which finds out under its lock and commits only a change.

        :param facts: the node.
        :param scope: ``deployment`` (or ``node``): the deployment's
            allocation, in the node's scope; a phase: any allocation the
            node has, else one of the phase's own.
        :returns: the allocations (one per IP version of the node's
            pools), the reservations and whether anything was written
            (nothing is, when all is in place).
        :raises: InvalidInput, NoPoolForNode, UnknownPool, PoolExhausted,
            Conflict (a MAC reserved for another node: nothing written).
        """
        validate.node(facts.uuid)
        validate.hostname(facts.name)
        wanted = validate.scope(scope)
        if not wanted.is_phase:
            wanted = self.deployment_scope(facts)
        seen = self._hints.active(facts.uuid)
        if seen and (wanted.is_phase or wanted.value in seen):
            network = self._read(lambda s: self._ensure_in(
                s, None, facts, wanted), core=True)
            if network is not None:
                return network
        network = self._write(lambda s, now: self._ensure_in(
            s, now, facts, wanted), core=True)
        for allocation in network.allocations if network.written else ():
            LOG.debug('Node %(node)s has address %(addr)s of pool '
                      '%(pool)s (scope %(scope)s)',
                      {'node': facts.uuid, 'addr': allocation.address,
                       'pool': allocation.pool_name,
                       'scope': allocation.scope})
        return network

    def _ensure_in(self, session: Any, now: Any, facts: node_mod.NodeFacts,
                   wanted: Scope) -> node_mod.NodeNetwork | None:
        """ensure_network() in a transaction (``now`` None: a read).

        :returns: the network; in a read, None when a write is due.
        :raises: Unchanged (in a write) when all is in place.
        """
        current, reservations, generation = _node_state(session, facts.uuid)
        hints = self._hints
        hints.saw_allocations(facts.uuid, current)
        if reservations:
            hints.saw_profile(facts.uuid, reservations[0].boot_profile)
        self._pools_seen(generation)
        found: list[Any]
        specs: Any
        if wanted.is_phase:
            found = node_mod.first_per_version(current)
            specs = None
        else:
            specs = selection.select_all(self.pools, facts)
            found = [next((a for a in current
                           if a.scope == wanted.value
                           and a.pool_name == spec.name), None)
                     for spec in specs]
        if found and None not in found and node_mod.in_place(
                facts, found, reservations):
            network = node_mod.NodeNetwork(found[0], tuple(reservations),
                                           allocations=tuple(found))
            if now is None:
                return network
            raise db_api.Unchanged(network)
        if now is None:
            return None
        if specs is None:
            specs = [self._spec(a.pool_name) for a in found] or list(
                selection.select_all(self.pools, facts))
        targets = [(spec, a.scope if a is not None else wanted)
                   for spec, a in zip(specs, found or [None] * len(specs))]
        placed = [sql_allocations.placed(
            session, spec, facts.uuid, alloc_scope, self._quarantine, now)
            for spec, alloc_scope in targets]
        allocations = [allocation for allocation, _ in placed]
        reservations = sql_reservations.sync_node_all(
            session, facts.uuid,
            [(a.address, pool_id) for a, pool_id in placed],
            facts.port_map, facts.name, now)
        names = {a.pool_name for a in allocations}
        hints.saw_allocations(facts.uuid, [
            a for a in current if a.pool_name not in names] + allocations)
        return node_mod.NodeNetwork(allocations[0], tuple(reservations), True,
                                    tuple(allocations))

    def release(self, node_uuid: str, scope: Scope | str | None = None
                ) -> list[records.Allocation]:
        """Release the node's active allocations and their reservations.

        Reads first unless this process saw something to release; a
        write that finds nothing is rolled back, not committed.

        :param scope: release only allocations of this scope.
        :returns: the released allocations.
        """
        validate.node(node_uuid)
        wanted = validate.scope(scope).value if scope is not None else None
        hint = self._hints.active(node_uuid)
        if hint is None or not any(wanted is None or s == wanted
                                   for s in hint):
            current = self._read(lambda s: sql_allocations.for_node(
                s, node_uuid, True), core=True)
            self._hints.saw_allocations(node_uuid, current)
            if not any(wanted is None or a.scope == wanted
                       for a in current):
                return []

        def _run(session: Any, now: Any) -> list[records.Allocation]:
            released = sql_allocations.release(session, node_uuid, wanted,
                                               False, now)
            if not released:
                raise db_api.Unchanged([])
            return released
        released = self._write(_run, core=True)
        self._hints.forget(node_uuid)
        return released

    def forget(self, node_uuid: str) -> list[records.Allocation]:
        """The node is gone: release everything, pins, claims, profile.

        Never loads the pools (the notification driver calls it in
        Ironic's API process).
        """
        validate.node(node_uuid)
        self._hints.forget(node_uuid)
        return self._write(lambda s, now: sql_allocations.release(
            s, node_uuid, None, True, now), core=True)

    def port_changed(self, facts: node_mod.NodeFacts, mac: str,
                     pxe_enabled: bool, client_id: str | None = None,
                     old_mac: str | None = None) -> bool:
        """Keep the reservation of one port of the node in step.

        :param mac: the port's MAC now; ``old_mac`` the one it had.
        :param pxe_enabled: whether the port boots (gets a reservation).
        :returns: True if anything was written (a node without an active
            allocation has nothing to keep in step).
        """
        validate.node(facts.uuid)
        validate.hostname(facts.name)
        validate.printable('client id', client_id)
        current = self._read(lambda s: sql_allocations.for_node(
            s, facts.uuid, True))
        if not current:
            return False

        def _run(session: Any, now: Any) -> None:
            if old_mac and old_mac.lower() != mac.lower():
                sql_reservations.delete(session, now, node_uuid=facts.uuid,
                                        mac=old_mac)
            if pxe_enabled:
                # One reservation per IP version the node has an address of.
                for allocation in node_mod.first_per_version(current):
                    sql_reservations.upsert(
                        session, mac, facts.uuid, now,
                        address=allocation.address,
                        pool=allocation.pool_name, hostname=facts.name,
                        client_id=client_id)
            else:
                sql_reservations.delete(session, now, node_uuid=facts.uuid,
                                        mac=mac)
        self._write(_run)
        return True

    def set_boot_profile(self, node_uuid: str, profile: Any
                         ) -> list[records.Reservation]:
        """Set (with None or EMPTY: clear) the boot profile of the node.

        Stored once for the node; every reservation of the node serves it
        at once, also those of MACs added later. Nothing is committed
        when the profile is unchanged: where this process saw that
        profile already, one read; otherwise the write, which compares
        under its lock and rolls back when they are equal.

        :param profile: a BootProfile, its dict, or None.
        :returns: the node's live reservations.
        :raises: InvalidInput for a profile that is not valid.
        """
        validate.node(node_uuid)
        wanted = sql_profiles.parse(profile) or boot_profile.EMPTY
        hints = self._hints
        if hints.profile(node_uuid) == wanted:
            current, reservations = self._read(lambda s: (
                sql_reservations.profile_of(s, node_uuid)), core=True)
            hints.saw_profile(node_uuid, current)
            if current == wanted:
                return reservations

        def _run(session: Any, now: Any) -> list[records.Reservation]:
            changed, reservations = sql_reservations.set_profile(
                session, node_uuid, wanted, now)
            if not changed:
                raise db_api.Unchanged(reservations)
            return reservations
        result = self._write(_run, core=True)
        hints.saw_profile(node_uuid, wanted)
        return result
