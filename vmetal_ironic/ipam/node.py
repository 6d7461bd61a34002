"""What the IPAM engine knows of a node, and what it answers (pure).

The Ironic side builds a :class:`NodeFacts` from a task (one small
function in :mod:`vmetal_ironic.network.facts`) and hands it to the
manager; the manager answers with a :class:`NodeNetwork`. The node keys
the engine reads are spelled here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
from typing import Any

from vmetal_ironic.ipam import records

#: instance_info / properties / driver_info key naming the node's pool.
POOL_KEY = 'vmetal_pool'
#: driver_info key naming the scope of the node's deployment allocation.
SCOPE_KEY = 'vmetal_allocation_scope'
#: The node fields searched for POOL_KEY, first match wins.
POOL_SOURCES = ('instance_info', 'properties', 'driver_info')


@dataclasses.dataclass(frozen=True)
class PxePort:
    """A PXE-enabled port: its MAC (lower case) and DHCP client id."""

    mac: str
    client_id: str | None = None


@dataclasses.dataclass(frozen=True)
class NodeFacts:
    """The facts of a node the IPAM engine decides on."""

    uuid: str
    name: str | None = None
    resource_class: str | None = None
    instance_info: Mapping[str, Any] = dataclasses.field(
        default_factory=dict)
    properties: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    driver_info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    ports: tuple[PxePort, ...] = ()

    def explicit_pool(self) -> tuple[str, str] | None:
        """(where, name) of the first POOL_KEY set on the node, if any."""
        for where in POOL_SOURCES:
            name = (getattr(self, where) or {}).get(POOL_KEY)
            if name:
                return where, str(name)
        return None

    @property
    def port_map(self) -> dict[str, str | None]:
        """MAC -> client id of the PXE ports."""
        return {p.mac: p.client_id for p in self.ports}


@dataclasses.dataclass(frozen=True)
class NodeNetwork:
    """The node's network for a scope, as the manager left it.

    :ivar allocation: the node's first allocation (IPv4 of a dual-stack
        node).
    :ivar reservations: the node's live reservations.
    :ivar written: whether anything was written (False: all was in place).
    :ivar allocations: every allocation the node's PXE MACs are reserved
        for, at most one per IP version, ``allocation`` first (default:
        ``allocation`` alone).
    """

    allocation: records.Allocation
    reservations: tuple[records.Reservation, ...] = ()
    written: bool = False
    allocations: tuple[records.Allocation, ...] = ()

    def __post_init__(self) -> None:
        if not self.allocations:
            object.__setattr__(self, 'allocations', (self.allocation,))


def first_per_version(allocations: Sequence[records.Allocation]
                      ) -> list[records.Allocation]:
    """The first allocation of each IP version, IPv4 first."""
    found: dict[int, records.Allocation] = {}
    for allocation in allocations:
        found.setdefault(allocation.pool.version, allocation)
    return [found[v] for v in sorted(found)]


def in_place(facts: NodeFacts,
             allocation: records.Allocation | Sequence[records.Allocation],
             reservations: Sequence[records.Reservation]) -> bool:
    """True when ``reservations`` are exactly what the node's ports need.

    :param allocation: the node's allocation, or its allocations (one per
        IP version): each PXE MAC has one reservation of each.
    """
    allocations = ([allocation] if isinstance(allocation, records.Allocation)
                   else list(allocation))
    have = {(r.mac, r.ip_version): r for r in reservations}
    wanted = facts.port_map
    if len(have) != len(wanted) * len(allocations):
        return False
    for alloc in allocations:
        version = alloc.pool.version
        for mac, client_id in wanted.items():
            res = have.get((mac, version))
            if (res is None or res.address != alloc.address
                    or res.pool != alloc.pool_name
                    or (facts.name and res.hostname != facts.name)
                    or (client_id and res.client_id != client_id)):
                return False
    return True
