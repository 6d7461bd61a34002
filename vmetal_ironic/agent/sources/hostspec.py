"""Compile reservation fields into :class:`Host` objects (pure).

The static file describes a host as a dict of the fields of the
reservations file format; this module validates them and turns them into
the shared, interned wire form. The typed builders below the dict layer
(:func:`shared_network`, :func:`boot_config`, :func:`mac`, ...) are also
what the IPAM source compiles database records with. Errors name the field
and value.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.agent.sources.reservations import BootConfig
from vmetal_ironic.agent.sources.reservations import Host
from vmetal_ironic.agent.sources.reservations import Network

NETWORK_FIELDS = ('prefix', 'netmask', 'gateway', 'dns_servers', 'domain',
                  'lease_time', 'mtu', 'routes', 'ntp_servers',
                  'prefix6')
BOOT_FIELDS = reservations.BOOT_FIELDS + ('bootfile',)
HOST_FIELDS = ('mac', 'ip', 'hostname', 'client_id', 'node_uuid')
ALL_FIELDS = frozenset(NETWORK_FIELDS + BOOT_FIELDS + HOST_FIELDS)


class HostSpecError(ValueError):
    """A field of a reservation is invalid; the message names it."""


def merge(defaults: dict[str, Any], host: dict[str, Any]) -> dict[str, Any]:
    """A host's fields over the defaults.

    A host's ``netmask`` replaces the defaults' ``prefix`` and the other
    way round.
    """
    spec = {**defaults, **host}
    if 'netmask' in host and 'prefix' not in host:
        spec.pop('prefix', None)
    elif 'prefix' in host and 'netmask' not in host:
        spec.pop('netmask', None)
    return spec


def ipv4(value: Any, field: str) -> bytes:
    """A dotted-quad IPv4 address as 4 bytes.

    :raises HostSpecError: not a dotted-quad IPv4 address.
    """
    try:
        return socket.inet_pton(socket.AF_INET, value)
    except (OSError, TypeError):
        raise HostSpecError('%s: %r is not an IPv4 address' % (field, value))


def integer(value: Any, field: str, lo: int, hi: int) -> int:
    """An integer in ``lo..hi``.

    :raises HostSpecError: not an integer (booleans are not) or out of
        range.
    """
    if isinstance(value, bool) or not isinstance(value, int) \
            or not lo <= value <= hi:
        raise HostSpecError('%s: %r is not an integer in %d..%d'
                            % (field, value, lo, hi))
    return value


def text(value: Any, field: str) -> str | None:
    """A string, or None for None and ``''``.

    :raises HostSpecError: not a string.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise HostSpecError('%s: %r is not a string' % (field, value))
    return value or None


def prefixlen(spec: dict[str, Any]) -> int:
    """The prefix length from ``prefix`` or ``netmask``.

    :raises HostSpecError: neither is set, or one is invalid.
    """
    if spec.get('prefix') is not None:
        return integer(spec['prefix'], 'prefix', 1, 32)
    if spec.get('netmask') is not None:
        try:
            return ipaddress.IPv4Network(
                '0.0.0.0/%s' % spec['netmask']).prefixlen
        except (ValueError, TypeError):
            raise HostSpecError('netmask: %r is not a netmask'
                                % (spec['netmask'],))
    raise HostSpecError('prefix: neither prefix nor netmask is set')


def network(spec: dict[str, Any], ip: bytes, default_lease: int,
            interner: reservations.Interner) -> Network:
    """The shared :class:`Network` of a host spec."""
    plen = prefixlen(spec)
    gw = spec.get('gateway')
    router = ipv4(gw, 'gateway') if gw else None
    dns = addresses(spec, 'dns_servers')
    ntp = addresses(spec, 'ntp_servers')
    lease = spec.get('lease_time')
    lease = default_lease if lease is None else integer(
        lease, 'lease_time', 10, 0xfffffffe)
    mtu = spec.get('mtu')
    mtu = None if mtu is None else integer(mtu, 'mtu', 68, 65535)
    routes = tuple(_route(r) for r in spec.get('routes') or ())
    return shared_network(plen, router, dns,
                          text(spec.get('domain'), 'domain'), lease, mtu,
                          routes, ip, interner, ntp)


def addresses(spec: dict[str, Any], field: str) -> tuple[bytes, ...]:
    """The IPv4 addresses of a list (or a comma-separated string).

    IPv6 entries are the DHCPv6 hosts' (one list may hold both) and are
    left out here.

    :raises HostSpecError: not a list, or an item is no IPv4 address.
    """
    items = spec.get(field) or []
    if isinstance(items, str):
        items = [d.strip() for d in items.split(',') if d.strip()]
    if not isinstance(items, (list, tuple)):
        raise HostSpecError('%s: %r is not a list' % (field, items))
    return tuple(ipv4(d, field) for d in items
                 if not (isinstance(d, str) and ':' in d))


def shared_network(plen: int, router: bytes | None, dns: tuple[bytes, ...],
                   domain: str | None, lease: int, mtu: int | None,
                   routes: tuple[tuple[bytes, int, bytes], ...], ip: bytes,
                   interner: reservations.Interner,
                   ntp: tuple[bytes, ...] = ()) -> Network:
    """The interned :class:`Network` of ``ip`` with these parameters."""
    mask = (0xffffffff << (32 - plen)) & 0xffffffff
    return interner.network(Network(plen, router, dns, domain, lease, mtu,
                                    routes, int.from_bytes(ip, 'big') & mask,
                                    ntp))


def _route(r: Any) -> tuple[bytes, int, bytes]:
    if isinstance(r, str) and ' via ' in r:
        left, right = r.split(' via ', 1)
        r = {'destination': left.strip(), 'gateway': right.strip()}
    if not isinstance(r, dict):
        raise HostSpecError('routes: %r is not {"destination": CIDR, '
                            '"gateway": IP}' % (r,))
    return route(r.get('destination'), r.get('gateway'))


def route(destination: Any, gateway: Any) -> tuple[bytes, int, bytes]:
    """A classless static route: (network bytes, prefix length, router).

    :raises HostSpecError: not an IPv4 CIDR and an IPv4 address.
    """
    try:
        dest = ipaddress.IPv4Network(destination, strict=False)
    except (ValueError, TypeError):
        raise HostSpecError('routes: destination %r is not an IPv4 CIDR'
                            % (destination,))
    return (dest.network_address.packed, dest.prefixlen,
            ipv4(gateway, 'routes.gateway'))


def boot(spec: dict[str, Any], defaults: dict[str, str | None],
         interner: reservations.Interner) -> BootConfig:
    """The shared :class:`BootConfig`: spec fields over agent defaults."""
    return boot_config({f: text(spec.get(f), f)
                        for f in reservations.BOOT_FIELDS},
                       text(spec.get('bootfile'), 'bootfile'), defaults,
                       interner)


def boot_config(values: dict[str, str | None], bootfile: str | None,
                defaults: dict[str, str | None],
                interner: reservations.Interner,
                dhcp: bool = True) -> BootConfig:
    """The interned :class:`BootConfig` of a host.

    :param values: the host's own boot fields (any of
        :data:`~.reservations.BOOT_FIELDS`; None or missing: the agent's
        default).
    :param bootfile: the boot file that overrides the choice by
        architecture, or None.
    :param defaults: the agent's boot defaults.
    :param dhcp: False: the host is not answered (it boots without DHCP).
    :raises HostSpecError: the TFTP server is not an IPv4 address.
    """
    merged = {f: values.get(f) or defaults.get(f)
              for f in reservations.BOOT_FIELDS}
    if merged['tftp_server']:
        ipv4(merged['tftp_server'], 'tftp_server')
    return interner.boot(BootConfig(pxe_bootfile=bootfile, dhcp=dhcp,
                                    **merged))


def mac(value: Any) -> bytes:
    """A MAC address as 6 bytes.

    :raises HostSpecError: not a MAC address.
    """
    try:
        return reservations.parse_mac(value)
    except ValueError:
        raise HostSpecError('mac: %r is not a MAC address' % (value,))


# What one DHCP option carries: option 12 (hostname) and 61 (client id).
MAX_OPTION_LEN = 255


def client_id(value: Any) -> bytes | None:
    """A client identifier (option 61) as bytes, or None.

    :raises HostSpecError: not a non-empty string, or longer than one
        DHCP option carries (255 bytes).
    """
    if value is None:
        return None
    try:
        raw = reservations.parse_client_id(value)
    except ValueError:
        raise HostSpecError('client_id: %r is invalid' % (value,))
    if len(raw) > MAX_OPTION_LEN:
        raise HostSpecError('client_id: %d bytes, more than the %d a DHCP '
                            'option carries' % (len(raw), MAX_OPTION_LEN))
    return raw


def hostname(value: Any) -> str | None:
    """A hostname (option 12), or None.

    :raises HostSpecError: not a string, not printable ASCII, or longer
        than one DHCP option carries (255 bytes).
    """
    name = text(value, 'hostname')
    if name is None:
        return None
    if not name.isascii() or not name.isprintable():
        raise HostSpecError('hostname: %r is not printable ASCII' % (name,))
    if len(name) > MAX_OPTION_LEN:
        raise HostSpecError('hostname: %d characters, more than the %d a '
                            'DHCP option carries' % (len(name),
                                                     MAX_OPTION_LEN))
    return name


def compile_host(spec: dict[str, Any], net: Network | None,
                 bootcfg: BootConfig | None, default_lease: int,
                 boot_defaults: dict[str, str | None],
                 interner: reservations.Interner, source: str,
                 boot_defaults6: dict[str, str | None] | None = None) -> Any:
    """Build a :class:`Host` from a merged spec.

    :param net: a precomputed Network when the spec adds no network field
        to the defaults (fast path), else None.
    :param bootcfg: likewise for the boot fields.
    :raises HostSpecError: a field is invalid.
    """
    raw_mac = mac(spec.get('mac'))
    if isinstance(spec.get('ip'), str) and ':' in spec['ip']:
        return _host6(spec, raw_mac, default_lease, boot_defaults6 or {},
                      interner, source)
    ip = ipv4(spec.get('ip'), 'ip')
    if net is None or (net.network is not None
                       and not net.contains(ip)):
        net = network(spec, ip, default_lease, interner)
    if bootcfg is None:
        bootcfg = boot(spec, boot_defaults, interner)
    return Host(raw_mac, ip, net, bootcfg,
                hostname=hostname(spec.get('hostname')),
                client_id=client_id(spec.get('client_id')),
                node_uuid=text(spec.get('node_uuid'), 'node_uuid'),
                source=source)


def _host6(spec: dict[str, Any], raw_mac: bytes, default_lease: int,
           defaults6: dict[str, str | None],
           interner: reservations.Interner, source: str) -> Any:
    """An entry whose ``ip`` is IPv6: a DHCPv6 host (see doc/ipv6.md)."""
    from vmetal_ironic.agent.dhcp6 import hosts as hosts6
    try:
        return hosts6.from_spec(
            spec, default_lease, defaults6, interner, raw_mac,
            client_id(spec.get('client_id')), hostname(spec.get('hostname')),
            text(spec.get('node_uuid'), 'node_uuid'), source)
    except hosts6.InvalidHost6 as e:
        raise HostSpecError(str(e))
