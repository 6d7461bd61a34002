"""Compile reservation fields into :class:`Host` objects (pure).

Both sources (the static file and the IPAM database) describe a host as a
dict of the fields of the reservations file format; this module validates
them and turns them into the shared, interned wire form. Errors name the
field and value.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from vmetal_ironic.agent import reservations
from vmetal_ironic.agent.reservations import BootConfig
from vmetal_ironic.agent.reservations import Host
from vmetal_ironic.agent.reservations import Network

NETWORK_FIELDS = ('prefix', 'netmask', 'gateway', 'dns_servers', 'domain',
                  'lease_time', 'mtu', 'routes')
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


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or not lo <= value <= hi:
        raise HostSpecError('%s: %r is not an integer in %d..%d'
                            % (field, value, lo, hi))
    return value


def _str(value: Any, field: str) -> str | None:
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
        return _int(spec['prefix'], 'prefix', 1, 32)
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
    dns_list = spec.get('dns_servers') or []
    if isinstance(dns_list, str):
        dns_list = [d.strip() for d in dns_list.split(',') if d.strip()]
    if not isinstance(dns_list, (list, tuple)):
        raise HostSpecError('dns_servers: %r is not a list' % (dns_list,))
    dns = tuple(ipv4(d, 'dns_servers') for d in dns_list)
    lease = spec.get('lease_time')
    lease = default_lease if lease is None else _int(
        lease, 'lease_time', 10, 0xfffffffe)
    mtu = spec.get('mtu')
    mtu = None if mtu is None else _int(mtu, 'mtu', 68, 65535)
    routes = tuple(_route(r) for r in spec.get('routes') or ())
    mask = (0xffffffff << (32 - plen)) & 0xffffffff
    net = Network(plen, router, dns, _str(spec.get('domain'), 'domain'),
                  lease, mtu, routes, int.from_bytes(ip, 'big') & mask)
    return interner.network(net)


def _route(r: Any) -> tuple[bytes, int, bytes]:
    if isinstance(r, str) and ' via ' in r:
        left, right = r.split(' via ', 1)
        r = {'destination': left.strip(), 'gateway': right.strip()}
    if not isinstance(r, dict):
        raise HostSpecError('routes: %r is not {"destination": CIDR, '
                            '"gateway": IP}' % (r,))
    try:
        dest = ipaddress.IPv4Network(r.get('destination'), strict=False)
    except (ValueError, TypeError):
        raise HostSpecError('routes: destination %r is not an IPv4 CIDR'
                            % (r.get('destination'),))
    return (dest.network_address.packed, dest.prefixlen,
            ipv4(r.get('gateway'), 'routes.gateway'))


def boot(spec: dict[str, Any], defaults: dict[str, str | None],
         interner: reservations.Interner) -> BootConfig:
    """The shared :class:`BootConfig`: spec fields over agent defaults."""
    values = {}
    for f in reservations.BOOT_FIELDS:
        v = _str(spec.get(f), f)
        values[f] = v if v is not None else defaults.get(f)
    if values.get('tftp_server'):
        ipv4(values['tftp_server'], 'tftp_server')
    return interner.boot(BootConfig(
        pxe_bootfile=_str(spec.get('bootfile'), 'bootfile'), **values))


def compile_host(spec: dict[str, Any], net: Network | None,
                 bootcfg: BootConfig | None, default_lease: int,
                 boot_defaults: dict[str, str | None],
                 interner: reservations.Interner, source: str) -> Host:
    """Build a :class:`Host` from a merged spec.

    :param net: a precomputed Network when the spec adds no network field
        to the defaults (fast path), else None.
    :param bootcfg: likewise for the boot fields.
    :raises HostSpecError: a field is invalid.
    """
    try:
        mac = reservations.parse_mac(spec.get('mac'))
    except ValueError:
        raise HostSpecError('mac: %r is not a MAC address'
                            % (spec.get('mac'),))
    ip = ipv4(spec.get('ip'), 'ip')
    if net is None or (net.network is not None
                       and not net.contains(ip)):
        net = network(spec, ip, default_lease, interner)
    if bootcfg is None:
        bootcfg = boot(spec, boot_defaults, interner)
    cid = spec.get('client_id')
    if cid is not None:
        try:
            cid = reservations.parse_client_id(cid)
        except ValueError:
            raise HostSpecError('client_id: %r is invalid' % (cid,))
    return Host(mac, ip, net, bootcfg,
                hostname=_str(spec.get('hostname'), 'hostname'),
                client_id=cid, node_uuid=_str(spec.get('node_uuid'),
                                              'node_uuid'),
                source=source)
