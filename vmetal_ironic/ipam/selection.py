"""Which pool a node gets (pure).

First match wins: ``instance_info['vmetal_pool']``,
``properties['vmetal_pool']``, ``driver_info['vmetal_pool']``, the pool
listing the node's resource class, ``[vmetal_ipam]default_pool``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import node as node_mod
from vmetal_ironic.ipam.pools import PoolConfig
from vmetal_ironic.ipam.pools import PoolSpec


def select_pool(config: PoolConfig, node_uuid: str,
                instance_info: Mapping[str, Any] | None = None,
                properties: Mapping[str, Any] | None = None,
                driver_info: Mapping[str, Any] | None = None,
                resource_class: str | None = None) -> PoolSpec:
    """Choose a node's pool: first match wins.

    ``instance_info['vmetal_pool']``, ``properties['vmetal_pool']``,
    ``driver_info['vmetal_pool']``, the pool listing ``resource_class``,
    the default pool.

    :raises: NoPoolForNode for an explicit name that is not a pool
        (naming where it was set) and when nothing matches.
    """
    facts = node_mod.NodeFacts(
        uuid=node_uuid, resource_class=resource_class,
        instance_info=instance_info or {}, properties=properties or {},
        driver_info=driver_info or {})
    return select_for(config, facts)


def select_for(config: PoolConfig, facts: node_mod.NodeFacts) -> PoolSpec:
    """:func:`select_pool` for a node's facts."""
    node_uuid = facts.uuid
    resource_class = facts.resource_class
    explicit = facts.explicit_pool()
    if explicit is not None:
        where, name = explicit
        try:
            return config.get(name)
        except exception.UnknownPool:
            raise exception.NoPoolForNode(
                node=node_uuid,
                reason=_('%(where)s/%(key)s names "%(name)s", which '
                         'is not a pool (pools: %(pools)s)')
                % {'where': where, 'name': name, 'key': node_mod.POOL_KEY,
                   'pools': ', '.join(p.name for p in config.pools)})
    if resource_class:
        pool = config.by_resource_class(resource_class)
        if pool is not None:
            return pool
    if config.default_pool:
        return config.get(config.default_pool)
    raise exception.NoPoolForNode(
        node=node_uuid,
        reason=_('no vmetal_pool in instance_info, properties or '
                 'driver_info, no pool lists its resource class "%(rc)s" '
                 'and [vmetal_ipam]default_pool is not set')
        % {'rc': resource_class or ''})
