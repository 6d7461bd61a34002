"""Pool definitions: parse the configuration, validate it (pure).

``[vmetal_ipam]pools`` names the pools; each has a ``[vmetal_pool:NAME]``
section. :func:`load_pools` reads them all and raises
:class:`~vmetal_ironic.exception.PoolConfigError` (or ``ConfigError``) with
a message naming the pool, the option and the value for any mistake; it
never lets a traceback reach an operator.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

import netaddr
from oslo_config import cfg

from vmetal_ironic.conf import ipam as ipam_conf
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import allocator
from vmetal_ironic.ipam import records

_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
_ROUTE_RE = re.compile(r'^\s*(\S+)\s+via\s+(\S+)\s*$')


@dataclasses.dataclass(frozen=True)
class PoolSpec:
    """A validated pool definition."""

    name: str
    network: netaddr.IPNetwork
    gateway: netaddr.IPAddress | None
    space: allocator.AddressSpace
    ranges: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    dns_servers: tuple[str, ...] = ()
    resource_classes: tuple[str, ...] = ()
    mtu: int | None = None
    routes: tuple[records.Route, ...] = ()
    vlan_id: int | None = None
    domain: str | None = None
    ntp_servers: tuple[str, ...] = ()
    discovery_range: str | None = None

    @property
    def discovery(self) -> tuple[int, int] | None:
        """The discovery range as (first, last) integers, or None."""
        if not self.discovery_range:
            return None
        block = _to_set([self.discovery_range]).iter_ipranges()
        r = next(iter(block))
        return r.first, r.last

    @property
    def version(self) -> int:
        return self.network.version

    @property
    def reserved(self) -> frozenset[int]:
        """Addresses of the network that are never handed out."""
        result = {int(self.network.network)}
        if self.version == 4:
            result.add(int(self.network.broadcast or self.network.network))
        if self.gateway is not None:
            result.add(int(self.gateway))
        return frozenset(result)

    def record(self) -> records.Pool:
        """The network parameters as the store records them."""
        if self.version == 4:
            netmask = str(self.network.netmask)
        else:
            netmask = str(self.network.prefixlen)
        return records.Pool(
            name=self.name, version=self.version, cidr=str(self.network.cidr),
            prefixlen=self.network.prefixlen, netmask=netmask,
            gateway=str(self.gateway) if self.gateway is not None else None,
            dns_servers=self.dns_servers, mtu=self.mtu, routes=self.routes,
            vlan_id=self.vlan_id, domain=self.domain,
            resource_classes=self.resource_classes, size=self.space.size,
            ntp_servers=self.ntp_servers)

    def check_pinnable(self, address: netaddr.IPAddress) -> None:
        """Raise InvalidAddress unless ``address`` may be pinned here.

        A pin may name any host address of the network (inside or outside
        the ranges) except the network, broadcast and gateway addresses and
        the exclusions.
        """
        if address.version != self.version or address not in self.network:
            raise exception.InvalidAddress(
                address=address,
                reason=_('not in the network %(net)s of pool "%(pool)s"')
                % {'net': self.network.cidr, 'pool': self.name})
        if int(address) in self.reserved:
            raise exception.InvalidAddress(
                address=address,
                reason=_('the network, broadcast or gateway address of pool '
                         '"%s" is never handed out') % self.name)
        excluded = _to_set(self.exclude) if self.exclude else netaddr.IPSet()
        if address in excluded:
            raise exception.InvalidAddress(
                address=address,
                reason=_('excluded in pool "%s"') % self.name)
        discovery = self.discovery
        if discovery is not None and \
                discovery[0] <= int(address) <= discovery[1]:
            raise exception.InvalidAddress(
                address=address,
                reason=_('in the discovery range of pool "%s"') % self.name)


@dataclasses.dataclass(frozen=True)
class PoolConfig:
    """The validated pools.

    ``default_pools`` names at most one pool per IP version (a dual-stack
    default); ``default_pool`` is the first of them.
    """

    pools: tuple[PoolSpec, ...]
    default_pool: str | None
    default_pools: tuple[str, ...] = ()

    def defaults(self) -> tuple[PoolSpec, ...]:
        """The default pools (at most one per IP version), or ()."""
        names = self.default_pools or (
            (self.default_pool,) if self.default_pool else ())
        return tuple(self.get(name) for name in names)

    @property
    def pools_by_name(self) -> dict[str, PoolSpec]:
        return {pool.name: pool for pool in self.pools}

    def get(self, name: str) -> PoolSpec:
        for pool in self.pools:
            if pool.name == name:
                return pool
        raise exception.UnknownPool(pool=name)

    def by_resource_class(self, resource_class: str) -> PoolSpec | None:
        for pool in self.pools:
            if resource_class in pool.resource_classes:
                return pool
        return None

    def all_by_resource_class(self, resource_class: str
                              ) -> tuple[PoolSpec, ...]:
        """The pools listing ``resource_class``: at most one per version."""
        return tuple(p for p in self.pools
                     if resource_class in p.resource_classes)

    def containing(self, address: netaddr.IPAddress) -> list[PoolSpec]:
        """Pools whose network holds ``address``, own space first."""
        found = [p for p in self.pools
                 if p.version == address.version and address in p.network]
        return sorted(found, key=lambda p: int(address) not in p.space)


def _fail(pool: str, option: str, value: Any, reason: str) -> NoReturn:
    raise exception.PoolConfigError(pool=pool, option=option, value=value,
                                    reason=reason)


def _address(pool: str, option: str, text: str) -> netaddr.IPAddress:
    try:
        return netaddr.IPAddress(text.strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(pool, option, text, _('not an IP address'))


def _block(pool: str, option: str, text: str,
           network: netaddr.IPNetwork) -> netaddr.IPRange:
    """Parse "FIRST-LAST", a CIDR block or one address inside ``network``."""
    text = text.strip()
    try:
        if '-' in text:
            first_text, last_text = text.split('-', 1)
            first = netaddr.IPAddress(first_text.strip())
            last = netaddr.IPAddress(last_text.strip())
            if first.version != last.version:
                _fail(pool, option, text, _('mixes IPv4 and IPv6'))
            if first > last:
                _fail(pool, option, text,
                      _('reversed range: the first address is above the '
                        'last'))
            block = netaddr.IPRange(first, last)
        elif '/' in text:
            net = netaddr.IPNetwork(text)
            block = netaddr.IPRange(net.first, net.last)
            if net.ip != net.network:
                _fail(pool, option, text,
                      _('a CIDR block must name its network address (%s)')
                      % net.cidr)
        else:
            address = netaddr.IPAddress(text)
            block = netaddr.IPRange(address, address)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(pool, option, text,
              _('not an address, a FIRST-LAST range or a CIDR block'))
    if (block.version != network.version or block.first < network.first
            or block.last > network.last):
        _fail(pool, option, text,
              _('outside the network %s') % network.cidr)
    return block


def _to_set(items: Iterable[str]) -> netaddr.IPSet:
    result = netaddr.IPSet()
    for item in items:
        item = item.strip()
        if '-' in item:
            first, last = item.split('-', 1)
            result.add(netaddr.IPRange(first.strip(), last.strip()))
        else:
            result.add(item)
    return result


def parse_pool(name: str, values: Mapping[str, Any]) -> PoolSpec:
    """Build a :class:`PoolSpec` from the option values of one pool.

    :param name: the pool name.
    :param values: option name -> value, as oslo.config returns them
        (lists already split).
    :returns: the validated pool.
    :raises: PoolConfigError naming the pool, the option and the value.
    """
    if not _NAME_RE.match(name or ''):
        _fail(name, '[vmetal_ipam]pools', name,
              _('a pool name is 1-63 letters, digits, "_", "." or "-"'))
    cidr = values.get('cidr')
    if not cidr:
        _fail(name, 'cidr', '',
              _('required: add it to the section [%s]')
              % ipam_conf.pool_group(name))
    try:
        net = netaddr.IPNetwork(cidr.strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(name, 'cidr', cidr, _('not a CIDR such as 192.168.100.1/24'))
    if '/' not in cidr:
        _fail(name, 'cidr', cidr, _('needs a prefix length, e.g. /24'))
    network = net.cidr
    gateway = None
    if net.ip != network.network:
        gateway = net.ip
    gateway_text = values.get('gateway')
    if gateway_text:
        explicit = _address(name, 'gateway', gateway_text)
        if gateway is not None and explicit != gateway:
            _fail(name, 'gateway', gateway_text,
                  _('cidr %(cidr)s already names gateway %(gw)s')
                  % {'cidr': cidr, 'gw': gateway})
        gateway = explicit
    if gateway is not None:
        if gateway.version != network.version or gateway not in network:
            _fail(name, 'gateway', gateway,
                  _('outside the network %s') % network)
        if gateway == network.network or (
                network.version == 4 and network.prefixlen < 31
                and gateway == network.broadcast):
            _fail(name, 'gateway', gateway,
                  _('the network or broadcast address of %s') % network)

    range_texts = [r for r in values.get('ranges') or [] if r.strip()]
    if range_texts:
        blocks = [_block(name, 'ranges', r, network) for r in range_texts]
        ranges_set = netaddr.IPSet()
        for block in blocks:
            if ranges_set & netaddr.IPSet(block):
                _fail(name, 'ranges', ','.join(range_texts),
                      _('ranges overlap at %s') % block)
            ranges_set.add(block)
    else:
        ranges_set = netaddr.IPSet([network])

    exclude_texts = [e for e in values.get('exclude') or [] if e.strip()]
    excluded = netaddr.IPSet()
    for text in exclude_texts:
        block = _block(name, 'exclude', text, network)
        if not netaddr.IPSet(block).issubset(ranges_set):
            _fail(name, 'exclude', text,
                  _('outside every range of the pool'))
        excluded.add(block)

    available = ranges_set - excluded
    spec_reserved = {network.network}
    if network.version == 4 and network.prefixlen < 31:
        spec_reserved.add(network.broadcast)
    if gateway is not None:
        spec_reserved.add(gateway)
    available -= netaddr.IPSet(spec_reserved)
    space = allocator.AddressSpace(
        (r.first, r.last) for r in available.iter_ipranges())
    if space.size == 0:
        _fail(name, 'ranges', ','.join(range_texts) or str(network),
              _('no address is left to hand out'))

    dns_servers = tuple(str(_address(name, 'dns_servers', d))
                        for d in values.get('dns_servers') or [] if d.strip())
    ntp_servers = tuple(str(_same_version(name, 'ntp_servers', n, network))
                        for n in values.get('ntp_servers') or []
                        if n.strip())
    routes = tuple(_route(name, r, network)
                   for r in values.get('routes') or [] if r.strip())
    resource_classes = tuple(rc.strip() for rc in
                             values.get('resource_classes') or []
                             if rc.strip())
    if len(set(resource_classes)) != len(resource_classes):
        _fail(name, 'resource_classes', ','.join(resource_classes),
              _('lists a resource class twice'))
    discovery = _discovery_range(name, values.get('discovery_range'),
                                 network, range_texts, ranges_set,
                                 spec_reserved)
    return PoolSpec(
        name=name, network=network, gateway=gateway, space=space,
        ranges=tuple(r.strip() for r in range_texts),
        exclude=tuple(e.strip() for e in exclude_texts),
        dns_servers=dns_servers, resource_classes=resource_classes,
        mtu=values.get('mtu'), routes=routes, vlan_id=values.get('vlan_id'),
        domain=(values.get('domain') or None), ntp_servers=ntp_servers,
        discovery_range=discovery)


def _same_version(pool: str, option: str, text: str,
                  network: netaddr.IPNetwork) -> netaddr.IPAddress:
    address = _address(pool, option, text)
    if address.version != network.version:
        _fail(pool, option, text,
              _('an IPv%(got)d address for an IPv%(want)d pool')
              % {'got': address.version, 'want': network.version})
    return address


def _discovery_range(pool: str, text: str | None,
                     network: netaddr.IPNetwork, range_texts: list[str],
                     ranges_set: netaddr.IPSet,
                     reserved: set[netaddr.IPAddress]) -> str | None:
    """Validate ``discovery_range``; returns it normalised, or None.

    The range is leased by the agent to unknown MACs, so it must never
    meet an address the allocator or a pin may hand out: it lies outside
    ``ranges`` (which must be set: without them the whole network is
    allocated) and holds neither the network, broadcast nor gateway
    address. DHCPv4 only.
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    if network.version != 4:
        _fail(pool, 'discovery_range', text,
              _('discovery is served by DHCPv4: an IPv4 pool only'))
    block = _block(pool, 'discovery_range', text, network)
    if not range_texts:
        _fail(pool, 'discovery_range', text,
              _('set "ranges" too: without them the whole network is '
                'handed out to nodes'))
    overlap = ranges_set & netaddr.IPSet(block)
    if overlap:
        _fail(pool, 'discovery_range', text,
              _('overlaps "ranges" at %s')
              % next(iter(overlap.iter_ipranges())))
    for address in sorted(reserved):
        if block.first <= int(address) <= block.last:
            _fail(pool, 'discovery_range', text,
                  _('holds the network, broadcast or gateway address %s')
                  % address)
    return '%s-%s' % (block[0], block[-1])


def _route(pool: str, text: str,
           network: netaddr.IPNetwork) -> records.Route:
    match = _ROUTE_RE.match(text)
    if not match:
        _fail(pool, 'routes', text,
              _('expected "DESTINATION via GATEWAY", e.g. '
                '"10.0.0.0/8 via 192.168.100.254"'))
    destination_text, gateway_text = match.groups()
    try:
        destination = netaddr.IPNetwork(destination_text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        _fail(pool, 'routes', text,
              _('"%s" is not a CIDR destination') % destination_text)
    gateway = _address(pool, 'routes', gateway_text)
    if destination.version != network.version:
        _fail(pool, 'routes', text,
              _('destination and pool differ in IP version'))
    if gateway not in network:
        _fail(pool, 'routes', text,
              _('the gateway %(gw)s is not on the network %(net)s')
              % {'gw': gateway, 'net': network})
    return records.Route(destination=str(destination.cidr),
                         gateway=str(gateway))


def validate_pools(pools: Sequence[PoolSpec],
                   default_pool: str | Sequence[str] | None) -> PoolConfig:
    """Checks across pools; returns the :class:`PoolConfig`.

    Two pools may share a network (different node types on one segment) as
    long as their address spaces do not overlap; networks that overlap
    without being the same are an error. A resource class is listed by at
    most one pool of each IP version (an IPv4 and an IPv6 pool may list it:
    its nodes are dual-stack); ``default_pool`` names at most one pool of
    each version.
    """
    seen: dict[str, PoolSpec] = {}
    claimed: dict[tuple[str, int], str] = {}
    for pool in pools:
        if pool.name in seen:
            _fail(pool.name, '[vmetal_ipam]pools', pool.name,
                  _('the pool is listed twice'))
        for other in seen.values():
            _check_disjoint(pool, other)
        for rc in pool.resource_classes:
            if (rc, pool.version) in claimed:
                _fail(pool.name, 'resource_classes', rc,
                      _('already served by pool "%(other)s" (of IPv%(ver)d: '
                        'one pool of each IP version may list it)')
                      % {'ver': pool.version,
                         'other': claimed[(rc, pool.version)]})
            claimed[(rc, pool.version)] = pool.name
        seen[pool.name] = pool
    if isinstance(default_pool, str):
        default_pool = [default_pool]
    names = tuple(n.strip() for n in default_pool or () if n.strip())
    versions: dict[int, str] = {}
    for name in names:
        if name not in seen:
            raise exception.ConfigError(
                reason=_('[vmetal_ipam]default_pool = "%(name)s" is not one '
                         'of the pools (%(pools)s)')
                % {'name': name, 'pools': ', '.join(seen) or _('none')})
        version = seen[name].version
        if version in versions:
            raise exception.ConfigError(
                reason=_('[vmetal_ipam]default_pool names two IPv%(ver)d '
                         'pools ("%(a)s", "%(b)s"): at most one of each IP '
                         'version') % {'ver': version, 'a': versions[version],
                                       'b': name})
        versions[version] = name
    return PoolConfig(pools=tuple(pools),
                      default_pool=names[0] if names else None,
                      default_pools=names)


def _check_disjoint(pool: PoolSpec, other: PoolSpec) -> None:
    if pool.version != other.version:
        return
    if pool.network != other.network:
        if (pool.network.first <= other.network.last
                and other.network.first <= pool.network.last):
            _fail(pool.name, 'cidr', pool.network.cidr,
                  _('overlaps the network %(net)s of pool "%(other)s"')
                  % {'net': other.network.cidr, 'other': other.name})
        return
    mine = pool.space.blocks + ([pool.discovery] if pool.discovery else [])
    theirs = other.space.blocks + (
        [other.discovery] if other.discovery else [])
    for first, last in mine:
        for ofirst, olast in theirs:
            if first <= olast and ofirst <= last:
                _fail(pool.name, 'ranges',
                      ','.join(pool.ranges) or pool.network.cidr,
                      _('overlaps the ranges of pool "%(other)s" on the '
                        'same network (at %(addr)s)')
                      % {'other': other.name,
                         'addr': netaddr.IPAddress(max(first, ofirst),
                                                   pool.version)})


def load_pools(conf: cfg.ConfigOpts) -> PoolConfig:
    """Read and validate every pool of ``conf``.

    :raises: ConfigError / PoolConfigError naming pool, option and value.
    """
    specs = []
    for name in conf[ipam_conf.GROUP].pools:
        name = name.strip()
        if not _NAME_RE.match(name):
            raise exception.PoolConfigError(
                pool=name, option='[vmetal_ipam]pools', value=name,
                reason=_('a pool name is 1-63 letters, digits, "_", "." '
                         'or "-"'))
        ipam_conf.register_pool_opts(conf, name)
        group = conf[ipam_conf.pool_group(name)]
        values = {}
        for opt in ipam_conf.pool_opts:
            try:
                values[opt.dest] = group[opt.dest]
            except cfg.RequiredOptError:
                raise exception.PoolConfigError(
                    pool=name, option=opt.dest, value='',
                    reason=_('required: add it to the section '
                             '[%s]') % ipam_conf.pool_group(name))
            except (cfg.ConfigFileValueError, ValueError) as exc:
                raise exception.PoolConfigError(
                    pool=name, option=opt.dest, value='?',
                    reason=str(exc))
        specs.append(parse_pool(name, values))
    return validate_pools(specs, conf[ipam_conf.GROUP].default_pool)
