"""OpenStack network_data.json documents for an allocation (pure).

:func:`render` builds the document for a node from its allocations: one
``phy`` link per PXE-enabled port (its MAC, the pool's MTU), a VLAN link on
the first one when the pool is tagged, one ``ipv4``/``ipv6`` network per
allocation (a dual-stack node has one of each, on the same link) with the
address, the netmask, a default route to the gateway plus the pool's
routes, and the pools' DNS servers as top-level ``dns`` services.

:func:`merge` fills an operator's document (their links: bonds, VLANs...)
with the allocations: the first network of each pool's IP version without
an ``ip_address`` receives its address; the address of a dual-stack node's
second pool that finds no such network is added as a network of its own
on the link of the first one. :func:`validate` checks a document against
Ironic's own network-data JSON schema.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
import netaddr

from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import records

_SCHEMA_RELPATH = ('api', 'controllers', 'v1', 'network-data-schema.json')

_V4_TYPES = ('ipv4',)
_V6_TYPES = ('ipv6',)


def default_schema_path() -> str:
    """Path of the network-data schema shipped in the ironic package.

    Found without importing Ironic (its API package pulls in a lot).
    """
    spec = importlib.util.find_spec('ironic')
    if spec is None or not spec.submodule_search_locations:
        raise exception.ConfigError(
            reason=_('the ironic package is not installed, so its '
                     'network-data schema cannot be found'))
    base = list(spec.submodule_search_locations)[0]
    return os.path.join(base, *_SCHEMA_RELPATH)


@functools.lru_cache(maxsize=8)
def load_schema(path: str | None = None) -> dict[str, Any]:
    """Load (once) the JSON schema at ``path`` (default: Ironic's)."""
    path = path or default_schema_path()
    try:
        with open(path) as fp:
            return json.load(fp)
    except (OSError, ValueError) as e:
        raise exception.ConfigError(
            reason=_('cannot read the network-data schema %(path)s: '
                     '%(err)s') % {'path': path, 'err': e})


class _NotInlinable(Exception):
    pass


def _inline(node: Any, root: Mapping[str, Any], seen: tuple[str, ...] = ()
            ) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at.

    ``$id`` goes too: with no reference left it changes nothing. Draft 7
    ignores the siblings of a ``$ref``, so the target alone replaces it.

    :raises: _NotInlinable for a remote or recursive reference.
    """
    if isinstance(node, Mapping):
        ref = node.get('$ref')
        if isinstance(ref, str):
            if not ref.startswith('#/') or ref in seen:
                raise _NotInlinable(ref)
            target: Any = root
            for part in ref[2:].split('/'):
                part = part.replace('~1', '/').replace('~0', '~')
                try:
                    target = target[part]
                except (KeyError, TypeError):
                    raise _NotInlinable(ref)
            return _inline(target, root, seen + (ref,))
        return {k: _inline(v, root, seen) for k, v in node.items()
                if k != '$id'}
    if isinstance(node, list):
        return [_inline(v, root, seen) for v in node]
    return node


@functools.lru_cache(maxsize=8)
def _validator(path: str | None) -> Any:
    """The validator of the schema at ``path``, made once.

    Its local references inlined: resolving them at every step was most
    of the cost of a validation (2-3 times faster without); a schema that
    cannot be inlined is used as it is.
    """
    schema = load_schema(path)
    cls = jsonschema.validators.validator_for(schema)
    try:
        inlined = _inline(schema, schema)
    except _NotInlinable:
        return cls(schema)
    inlined.pop('definitions', None)
    return cls(inlined)


# Documents found valid, by (schema path, canonical JSON): the same
# document is not checked again (validate() runs at every Ironic
# validation of a node with an operator's document). Forgotten when
# full; a plain dict: conductor threads share it.
_VALID: dict[tuple[str | None, str], bool] = {}
_VALID_LIMIT = 256


def validate(document: Any, schema_path: str | None = None) -> None:
    """Check ``document`` against Ironic's network-data schema.

    :raises: vmetal_ironic.exception.InvalidInput naming the failing part.
    """
    if not isinstance(document, Mapping):
        raise exception.InvalidInput(
            reason=_('network_data must be a JSON object, not %s')
            % type(document).__name__)
    try:
        key = (schema_path, json.dumps(document, sort_keys=True,
                                       separators=(',', ':')))
    except (TypeError, ValueError):
        key = None                      # not JSON: the schema says why
    if key is not None and key in _VALID:
        return
    error = jsonschema.exceptions.best_match(
        _validator(schema_path).iter_errors(dict(document)))
    if error is not None:
        where = '/'.join(str(p) for p in error.absolute_path) or '<top>'
        raise exception.InvalidInput(
            reason=_('network_data is invalid at %(where)s: %(msg)s')
            % {'where': where, 'msg': error.message})
    if key is not None:
        if len(_VALID) >= _VALID_LIMIT:
            _VALID.clear()
        _VALID[key] = True


def _netmask(pool: records.Pool) -> str:
    return str(netaddr.IPNetwork(pool.cidr).netmask)


def _default_route(pool: records.Pool) -> dict[str, str] | None:
    if not pool.gateway:
        return None
    anyaddr = '0.0.0.0' if pool.version == 4 else '::'
    return {'network': anyaddr, 'netmask': anyaddr,
            'gateway': pool.gateway}


def routes(pool: records.Pool) -> list[dict[str, str]]:
    """The pool's routes in network_data form, the default route first."""
    result = []
    default = _default_route(pool)
    if default:
        result.append(default)
    for route in pool.routes:
        net = netaddr.IPNetwork(route.destination)
        result.append({'network': str(net.network),
                       'netmask': str(net.netmask),
                       'gateway': route.gateway})
    return result


def dns_services(pool: records.Pool) -> list[dict[str, str]]:
    """The pool's DNS servers as network_data services."""
    return [{'type': 'dns', 'address': server}
            for server in pool.dns_servers]


def _as_list(allocations: records.Allocation
             | Sequence[records.Allocation]) -> list[records.Allocation]:
    if isinstance(allocations, records.Allocation):
        return [allocations]
    return list(allocations)


def _all_dns(allocations: Sequence[records.Allocation]
             ) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    for allocation in allocations:
        for service in dns_services(allocation.pool):
            if service not in result:
                result.append(service)
    return result


def _network(allocation: records.Allocation, link_id: str
             ) -> dict[str, Any]:
    pool = allocation.pool
    network: dict[str, Any] = {
        'id': 'vmetal-%s' % pool.name,
        'type': 'ipv4' if pool.version == 4 else 'ipv6',
        'link': link_id,
        'network_id': pool.name,
        'ip_address': allocation.address,
        'netmask': _netmask(pool),
        'routes': routes(pool),
    }
    if pool.dns_servers:
        network['services'] = dns_services(pool)
    return network


def render(allocation: records.Allocation | Sequence[records.Allocation],
           links: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The network_data document of a node's allocations.

    :param allocation: the node's allocation (address + pool parameters),
        or its allocations (a dual-stack node: one per IP version, the
        first one's pool gives the links' MTU).
    :param links: ``(link id, MAC)`` of each PXE-enabled port, the port
        that carries the addresses first.
    :returns: a network_data.json dict valid against Ironic's schema.
    :raises: vmetal_ironic.exception.InvalidInput if there is no link.
    """
    allocations = _as_list(allocation)
    if not links:
        raise exception.InvalidInput(
            reason=_('node %s has no PXE-enabled port to carry its '
                     'address') % allocations[0].node_uuid)
    mtu = next((a.pool.mtu for a in allocations if a.pool.mtu), None)
    doc_links: list[dict[str, Any]] = []
    for link_id, mac in links:
        link: dict[str, Any] = {'id': link_id, 'type': 'phy',
                                'ethernet_mac_address': mac.lower()}
        if mtu:
            link['mtu'] = mtu
        doc_links.append(link)
    port, carrier_mac = links[0]
    networks = []
    for alloc in allocations:
        carrier = port
        pool = alloc.pool
        if pool.vlan_id:
            carrier = '%s.%d' % (port, pool.vlan_id)
            if not any(d['id'] == carrier for d in doc_links):
                vlan: dict[str, Any] = {
                    'id': carrier, 'type': 'vlan', 'vlan_link': port,
                    'vlan_id': pool.vlan_id,
                    'vlan_mac_address': carrier_mac.lower()}
                if pool.mtu:
                    vlan['mtu'] = pool.mtu
                doc_links.append(vlan)
        networks.append(_network(alloc, carrier))
    return {'links': doc_links, 'networks': networks,
            'services': _all_dns(allocations)}


def _fillable(network: Mapping[str, Any], version: int) -> bool:
    if network.get('ip_address'):
        return False
    kind = network.get('type')
    if kind is None:
        return True
    return kind in (_V4_TYPES if version == 4 else _V6_TYPES)


def can_take(document: Mapping[str, Any], version: int) -> bool:
    """True if an IPv``version`` address can fill one of its networks."""
    return any(isinstance(n, Mapping) and _fillable(n, version)
               for n in document.get('networks') or ())


def needs_merge(document: Mapping[str, Any] | None) -> bool:
    """True when an operator document has a network with no address.

    Such a document is a template: the allocation is merged into it. A
    document whose networks all have addresses (or are DHCP/SLAAC) is used
    verbatim.
    """
    if not document:
        return False
    for network in document.get('networks') or ():
        if (isinstance(network, Mapping) and not network.get('ip_address')
                and network.get('type', 'ipv4') in _V4_TYPES + _V6_TYPES):
            return True
    return False


def without_templates(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` without the networks that need an address."""
    result = dict(document)
    result['networks'] = [
        n for n in document.get('networks') or ()
        if not (isinstance(n, Mapping) and not n.get('ip_address')
                and n.get('type', 'ipv4') in _V4_TYPES + _V6_TYPES)]
    return result


def merge(document: Mapping[str, Any],
          allocation: records.Allocation | Sequence[records.Allocation]
          ) -> dict[str, Any]:
    """Merge the allocation(s) into an operator's network_data template.

    The first network of the pool's IP version that has no ``ip_address``
    gets the address, the netmask, the routes (unless it has its own), the
    type and a ``network_id`` (unless set); the pool's DNS servers are added
    as top-level ``dns`` services unless the document has some. Links and
    every other network are kept as they are.

    With several allocations (a dual-stack node) each one fills the first
    free network of its IP version; one after the first that finds none
    is added as a network of its own on the link of the first one's.

    :returns: a new document; ``document`` is not modified.
    :raises: vmetal_ironic.exception.InvalidInput when no network can take
        the first address (e.g. only IPv6 templates for an IPv4 pool).
    """
    allocations = _as_list(allocation)
    had_dns = any(isinstance(s, Mapping) and s.get('type') == 'dns'
                  for s in document.get('services') or ())
    result = _merge_one(copy.deepcopy(dict(document)), allocations[0])
    first = next(n for n in result['networks']
                 if isinstance(n, dict)
                 and n.get('ip_address') == allocations[0].address)
    for extra in allocations[1:]:
        if not can_take(result, extra.pool.version):
            network = _network(extra, str(first.get('link')))
            del network['ip_address'], network['netmask'], network['routes']
            network.pop('services', None)
            result['networks'].append(network)
        result = _merge_one(result, extra)
        if not had_dns:
            result['services'].extend(
                d for d in dns_services(extra.pool)
                if d not in result['services'])
    return result


def _merge_one(result: dict[str, Any],
               allocation: records.Allocation) -> dict[str, Any]:
    """merge() of one allocation into ``result`` (modified)."""
    pool = allocation.pool
    networks = result.get('networks') or []
    for network in networks:
        if isinstance(network, dict) and _fillable(network, pool.version):
            break
    else:
        raise exception.InvalidInput(
            reason=_('the network_data of node %(node)s has no IPv%(ver)d '
                     'network without an ip_address to receive address '
                     '%(addr)s of pool %(pool)s')
            % {'node': allocation.node_uuid, 'ver': pool.version,
               'addr': allocation.address, 'pool': pool.name})
    network['type'] = 'ipv4' if pool.version == 4 else 'ipv6'
    network['ip_address'] = allocation.address
    network['netmask'] = _netmask(pool)
    network.setdefault('network_id', pool.name)
    if not network.get('routes'):
        network['routes'] = routes(pool)
    services = result.setdefault('services', [])
    if not any(isinstance(s, Mapping) and s.get('type') == 'dns'
               for s in services):
        services.extend(dns_services(pool))
    result.setdefault('links', [])
    return result
