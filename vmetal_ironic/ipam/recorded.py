"""The pools as the database records them, and how a configuration drifts.

Pools are written by one explicit act (``vmetal-dbsync upgrade``,
``vmetal-ipam pool sync``, or a conductor with ``[vmetal_ipam]
manage_pools``); every other process works on the recorded pools. These
pure functions turn a configured pool into the values recorded for it,
a recorded pool back into a :class:`~vmetal_ironic.ipam.pools.PoolSpec`,
and compare the two.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Any

from vmetal_ironic.ipam import pools as pools_mod

#: The recorded fields an operator sets, in the order drift is reported.
CONFIGURED_FIELDS = ('cidr', 'gateway', 'ranges', 'exclude', 'dns_servers',
                     'mtu', 'routes', 'vlan_id', 'domain',
                     'resource_classes', 'ntp_servers',
                     'discovery_range')

#: Drift field of a pool configured here but not recorded, or the reverse.
PRESENCE = 'pool'
CONFIGURED = 'configured'
RECORDED = 'recorded'
ABSENT = 'absent'


@dataclasses.dataclass(frozen=True)
class Drift:
    """One difference between this process's pools and the database's."""

    pool: str
    field: str
    configured: Any
    recorded: Any

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return 'pool %s: %s is %r here, %r in the database' % (
            self.pool, self.field, self.configured, self.recorded)


def values_of(spec: pools_mod.PoolSpec) -> dict[str, Any]:
    """The column values recorded for a configured pool."""
    rec = spec.record()
    return {
        'version': rec.version, 'cidr': rec.cidr, 'prefixlen': rec.prefixlen,
        'netmask': rec.netmask, 'gateway': rec.gateway,
        'dns_servers': list(rec.dns_servers), 'mtu': rec.mtu,
        'routes': [r.to_dict() for r in rec.routes],
        'vlan_id': rec.vlan_id, 'domain': rec.domain,
        'resource_classes': list(rec.resource_classes),
        'ntp_servers': list(rec.ntp_servers),
        'ranges': list(spec.ranges), 'exclude': list(spec.exclude),
        'size': str(rec.size),
        'space_fingerprint': spec.space.fingerprint(),
        'discovery_range': spec.discovery_range,
    }


def spec_of(name: str, values: Mapping[str, Any]) -> pools_mod.PoolSpec:
    """The PoolSpec of recorded values (as :func:`values_of` makes them).

    :raises: PoolConfigError if the recorded values do not parse (a row
        written by hand).
    """
    return pools_mod.parse_pool(name, {
        'cidr': values['cidr'], 'gateway': values['gateway'],
        'ranges': list(values.get('ranges') or []),
        'exclude': list(values.get('exclude') or []),
        'dns_servers': list(values.get('dns_servers') or []),
        'resource_classes': list(values.get('resource_classes') or []),
        'ntp_servers': list(values.get('ntp_servers') or []),
        'mtu': values.get('mtu'), 'vlan_id': values.get('vlan_id'),
        'domain': values.get('domain'),
        'discovery_range': values.get('discovery_range'),
        'routes': ['%(destination)s via %(gateway)s' % r
                   for r in values.get('routes') or []],
    })


def drift(configured: pools_mod.PoolConfig,
          recorded: Mapping[str, Mapping[str, Any]]) -> list[Drift]:
    """How ``configured`` differs from the ``recorded`` pools (by name).

    A recorded pool without ranges (recorded before they were) is compared
    on the other fields only.
    """
    result = []
    for spec in configured.pools:
        if spec.name not in recorded:
            result.append(Drift(spec.name, PRESENCE, CONFIGURED, ABSENT))
            continue
        mine = values_of(spec)
        theirs = recorded[spec.name]
        for field in CONFIGURED_FIELDS:
            if field in ('ranges', 'exclude') and theirs.get(field) is None:
                continue
            if mine[field] != theirs.get(field):
                result.append(Drift(spec.name, field, mine[field],
                                    theirs.get(field)))
    names = {spec.name for spec in configured.pools}
    for name in sorted(set(recorded) - names):
        result.append(Drift(name, PRESENCE, ABSENT, RECORDED))
    return result
