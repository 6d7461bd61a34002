"""Plain records the IPAM engine hands out.

They are what every reader sees (the Ironic drivers, the CLI, the DHCP
agent): immutable values, JSON-able through ``to_dict()``, with no database
session behind them.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic.boot_profile import EMPTY

ACTIVE = 'active'
RELEASED = 'released'


@dataclasses.dataclass(frozen=True)
class Route:
    destination: str          # CIDR, e.g. "10.0.0.0/8"
    gateway: str

    def to_dict(self) -> dict[str, Any]:
        return {'destination': self.destination, 'gateway': self.gateway}


@dataclasses.dataclass(frozen=True)
class Pool:
    """A pool's network parameters, as recorded in the database."""

    name: str
    version: int              # 4 or 6
    cidr: str                 # network, e.g. "192.168.100.0/24"
    prefixlen: int
    netmask: str              # dotted for IPv4, the prefix length for IPv6
    gateway: str | None
    dns_servers: tuple[str, ...] = ()
    mtu: int | None = None
    routes: tuple[Route, ...] = ()
    vlan_id: int | None = None
    domain: str | None = None
    resource_classes: tuple[str, ...] = ()
    size: int = 0             # addresses that can be handed out
    generation: int = 0
    ntp_servers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        result = dataclasses.asdict(self)
        result['dns_servers'] = list(self.dns_servers)
        result['ntp_servers'] = list(self.ntp_servers)
        result['resource_classes'] = list(self.resource_classes)
        result['routes'] = [r.to_dict() for r in self.routes]
        return result


@dataclasses.dataclass(frozen=True)
class Allocation:
    """One node's address in one pool."""

    pool: Pool
    node_uuid: str | None
    address: str
    state: str = ACTIVE       # ACTIVE or RELEASED
    scope: str = 'deployment'
    pinned: bool = False
    allocated_at: datetime.datetime | None = None
    released_at: datetime.datetime | None = None

    @property
    def pool_name(self) -> str:
        return self.pool.name

    def to_dict(self) -> dict[str, Any]:
        return {
            'pool': self.pool.name,
            'node_uuid': self.node_uuid,
            'address': self.address,
            'prefixlen': self.pool.prefixlen,
            'gateway': self.pool.gateway,
            'state': self.state,
            'scope': self.scope,
            'pinned': self.pinned,
            'allocated_at': _iso(self.allocated_at),
            'released_at': _iso(self.released_at),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Reservation:
    """A DHCP reservation: a MAC address bound to an allocated address.

    ``boot_profile`` is the node's profile (one per node, written by the
    Ironic DHCP provider, see :mod:`vmetal_ironic.dhcp`): every MAC of the
    node serves it as soon as it is reserved; ``EMPTY`` means no boot
    options from Ironic. A deleted reservation is reported once by
    ``changes_since`` with ``deleted=True`` and an empty profile.
    A MAC has one reservation per ``ip_version`` (4: served over DHCPv4,
    6: over DHCPv6); a tombstone names the version it deletes.
    """

    mac: str                  # lower case, colon separated
    node_uuid: str | None
    pool: str | None
    address: str | None
    hostname: str | None = None
    client_id: str | None = None
    boot_profile: BootProfile = EMPTY
    generation: int = 0
    deleted: bool = False
    ip_version: int = 4       # the family of ``address``

    def to_dict(self) -> dict[str, Any]:
        result = dataclasses.asdict(self)
        result['boot_profile'] = self.boot_profile.to_dict()
        return result


@dataclasses.dataclass(frozen=True)
class ChangeSet:
    """What changed after a generation.

    ``full`` is true when the caller's generation is too old to be answered
    incrementally (or was 0): ``reservations`` and ``pools`` then hold the
    whole current state and the reader replaces what it has.
    """

    generation: int
    full: bool
    pools: list[Pool]
    reservations: list[Reservation]


@dataclasses.dataclass(frozen=True)
class PoolUsage:
    pool: Pool
    size: int
    used: int
    quarantined: int
    held: int                 # released but pinned: kept for their node
    outside: int = 0          # of used + held: pins outside the ranges

    @property
    def free(self) -> int:
        return (self.size - self.used - self.quarantined - self.held
                + self.outside)

    def to_dict(self) -> dict[str, Any]:
        return {'pool': self.pool.name, 'version': self.pool.version,
                'cidr': self.pool.cidr, 'size': self.size,
                'used': self.used, 'quarantined': self.quarantined,
                'held': self.held, 'outside': self.outside,
                'free': self.free}


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None
