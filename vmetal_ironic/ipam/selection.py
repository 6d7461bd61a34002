"""Which pools a node gets (pure).

First match wins: ``instance_info['vmetal_pool']``,
``properties['vmetal_pool']``, ``driver_info['vmetal_pool']``, the pools
listing the node's resource class, ``[vmetal_ipam]default_pool``.

The rule that matches gives the node its pools: at most one of each IP
version (a dual-stack node gets one IPv4 and one IPv6 pool). A
``vmetal_pool`` value names one pool or two, comma separated
(``"prov-v4,prov-v6"``); an IPv4 and an IPv6 pool may list the same
resource class; ``default_pool`` may name one pool of each version. A rule
is never mixed with a later one: a node whose ``vmetal_pool`` names an
IPv4 pool only gets no IPv6 address from its resource class.
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
    """:func:`select_pool` for a node's facts: its first pool."""
    return select_all(config, facts)[0]


def _ordered(pools: tuple[PoolSpec, ...]) -> tuple[PoolSpec, ...]:
    """IPv4 first: the pool of the node's first address."""
    return tuple(sorted(pools, key=lambda p: p.version))


def _explicit(config: PoolConfig, node_uuid: str, where: str,
              value: str) -> tuple[PoolSpec, ...]:
    names = [n.strip() for n in value.split(',') if n.strip()]
    found: dict[int, PoolSpec] = {}
    for name in names:
        try:
            pool = config.get(name)
        except exception.UnknownPool:
            raise exception.NoPoolForNode(
                node=node_uuid,
                reason=_('%(where)s/%(key)s names "%(name)s", which '
                         'is not a pool (pools: %(pools)s)')
                % {'where': where, 'name': name, 'key': node_mod.POOL_KEY,
                   'pools': ', '.join(p.name for p in config.pools)})
        if pool.version in found:
            raise exception.NoPoolForNode(
                node=node_uuid,
                reason=_('%(where)s/%(key)s = "%(value)s" names two IPv%(v)d '
                         'pools: name at most one of each IP version')
                % {'where': where, 'key': node_mod.POOL_KEY, 'value': value,
                   'v': pool.version})
        found[pool.version] = pool
    if not found:
        raise exception.NoPoolForNode(
            node=node_uuid,
            reason=_('%(where)s/%(key)s = "%(value)s" names no pool')
            % {'where': where, 'key': node_mod.POOL_KEY, 'value': value})
    return _ordered(tuple(found.values()))


def select_all(config: PoolConfig, facts: node_mod.NodeFacts
               ) -> tuple[PoolSpec, ...]:
    """The node's pools, IPv4 first: at most one of each IP version.

    :raises: NoPoolForNode, as :func:`select_pool`; also for a
        ``vmetal_pool`` that names two pools of one version.
    """
    node_uuid = facts.uuid
    resource_class = facts.resource_class
    explicit = facts.explicit_pool()
    if explicit is not None:
        return _explicit(config, node_uuid, *explicit)
    if resource_class:
        pools = config.all_by_resource_class(resource_class)
        if pools:
            return _ordered(pools)
    defaults = config.defaults()
    if defaults:
        return _ordered(defaults)
    raise exception.NoPoolForNode(
        node=node_uuid,
        reason=_('no vmetal_pool in instance_info, properties or '
                 'driver_info, no pool lists its resource class "%(rc)s" '
                 'and [vmetal_ipam]default_pool is not set')
        % {'rc': resource_class or ''})
