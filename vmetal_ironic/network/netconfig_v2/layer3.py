"""network-config v2 addresses, routes and DNS to networks (pure).

``addresses`` -> ``ipv4``/``ipv6`` networks, ``dhcp4``/``dhcp6`` -> DHCP
networks, gateways and ``routes`` -> the routes of the first network of
their family, ``nameservers`` -> ``dns`` services; a leaf interface
without any address becomes the template network that receives the
allocation. See :mod:`vmetal_ironic.network.netconfig_v2`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import netaddr

from vmetal_ironic.i18n import _
from vmetal_ironic.network.netconfig_v2 import checks

_error = checks.error
_mapping = checks.mapping
_list = checks.listing
_keys = checks.keys

_ROUTE_KEYS = frozenset(('to', 'via'))
_NAMESERVER_KEYS = frozenset(('addresses',))
_DEFAULTS = ('default', '0.0.0.0/0', '::/0')


class Layer3:
    """The networks and DNS servers of a document's interfaces.

    :param is_template: whether an interface without an address is where
        the node's allocation goes (a leaf interface).
    """

    def __init__(self, is_template: Callable[[str], bool]) -> None:
        self._is_template = is_template
        self.networks: list[dict[str, Any]] = []
        self.dns: list[str] = []

    def _new_network(self, link: str, kind: str) -> dict[str, Any]:
        network_id = 'network%d' % len(self.networks)
        network = {'id': network_id, 'type': kind, 'link': link,
                   'network_id': network_id}
        self.networks.append(network)
        return network

    def add(self, kind: str, name: str, spec: Mapping[str, Any]) -> None:
        """The networks of interface ``name`` of section ``kind``."""
        where = '%s.%s' % (kind, name)
        first: dict[int, dict[str, Any]] = {}
        for i, text in enumerate(_list(spec.get('addresses') or [],
                                       where + '.addresses')):
            here = '%s.addresses[%d]' % (where, i)
            if not isinstance(text, str) or '/' not in text:
                raise _error(here, _('%r is not ADDRESS/PREFIX') % (text,))
            try:
                iface = netaddr.IPNetwork(text)
            except (netaddr.AddrFormatError, ValueError, TypeError):
                raise _error(here, _('%r is not ADDRESS/PREFIX') % (text,))
            network = self._new_network(
                name, 'ipv4' if iface.version == 4 else 'ipv6')
            network['ip_address'] = str(iface.ip)
            network['netmask'] = str(iface.netmask)
            network['routes'] = []
            first.setdefault(iface.version, network)
        for flag, version in (('dhcp4', 4), ('dhcp6', 6)):
            value = spec.get(flag, False)
            if not isinstance(value, bool):
                raise _error(where + '.' + flag,
                             _('%r is not true or false') % (value,))
            if value:
                if version in first:
                    raise _error(where + '.' + flag,
                                 _('both DHCP and a static IPv%d address')
                                 % version)
                network = self._new_network(name, 'ipv%d_dhcp' % version)
                network['routes'] = []
                first[version] = network
        routes = self._routes(spec, where)
        dns = self._nameservers(spec, where)
        if not first:
            if self._is_template(name):
                self._template(name, routes, dns, where)
            elif routes or dns:
                raise _error(where, _('routes or nameservers on an '
                                      'interface without an address'))
            return
        for version, route in routes:
            if version not in first:
                raise _error(where + '.routes',
                             _('an IPv%d route on an interface without an '
                               'IPv%d address') % (version, version))
            first[version]['routes'].append(route)
        for version, network in first.items():
            mine = [a for a in dns if netaddr.IPAddress(a).version == version]
            if mine:
                network['services'] = [{'type': 'dns', 'address': a}
                                       for a in mine]

    def _template(self, name: str, routes: list[tuple[int, dict[str, str]]],
                  dns: list[str], where: str) -> None:
        """The network without an address that receives the allocation.

        Its routes (``gateway4``/``routes``) fix its IP version; without
        any, either family's pool can fill it.
        """
        network: dict[str, Any] = {'id': 'network%d' % len(self.networks),
                                   'link': name}
        versions = {version for version, _route in routes}
        if len(versions) > 1:
            raise _error(where, _('IPv4 and IPv6 routes on one interface '
                                  'without an address'))
        if versions:
            network['type'] = 'ipv%d' % versions.pop()
            network['routes'] = [route for _version, route in routes]
        if dns:
            network['services'] = [{'type': 'dns', 'address': a}
                                   for a in dns]
        self.networks.append(network)

    def _routes(self, spec: Mapping[str, Any], where: str
                ) -> list[tuple[int, dict[str, str]]]:
        result = []
        for key, version in (('gateway4', 4), ('gateway6', 6)):
            if key in spec:
                gateway = self._address(spec[key], where + '.' + key, version)
                anyaddr = '0.0.0.0' if version == 4 else '::'
                result.append((version, {'network': anyaddr,
                                         'netmask': anyaddr,
                                         'gateway': gateway}))
        for i, route in enumerate(_list(spec.get('routes') or [],
                                        where + '.routes')):
            here = '%s.routes[%d]' % (where, i)
            route = _mapping(route, here)
            _keys(route, _ROUTE_KEYS, here)
            if 'to' not in route or 'via' not in route:
                raise _error(here, _('needs "to" and "via"'))
            via = self._address(route['via'], here + '.via')
            version = netaddr.IPAddress(via).version
            to = route['to']
            if to in _DEFAULTS:
                to = '0.0.0.0/0' if version == 4 else '::/0'
            try:
                dest = netaddr.IPNetwork(str(to))
            except (netaddr.AddrFormatError, ValueError, TypeError):
                raise _error(here + '.to', _('%r is not a CIDR') % (to,))
            if dest.version != version:
                raise _error(here, _('"to" and "via" differ in IP version'))
            result.append((version, {'network': str(dest.network),
                                     'netmask': str(dest.netmask),
                                     'gateway': via}))
        return result

    def _nameservers(self, spec: Mapping[str, Any], where: str) -> list[str]:
        if 'nameservers' not in spec:
            return []
        here = where + '.nameservers'
        servers = _mapping(spec['nameservers'] or {}, here)
        _keys(servers, _NAMESERVER_KEYS, here)
        result = [self._address(a, '%s.addresses[%d]' % (here, i))
                  for i, a in enumerate(_list(servers.get('addresses') or [],
                                              here + '.addresses'))]
        for address in result:
            if address not in self.dns:
                self.dns.append(address)
        return result

    def _address(self, value: Any, where: str,
                 version: int | None = None) -> str:
        try:
            address = netaddr.IPAddress(str(value))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise _error(where, _('%r is not an IP address') % (value,))
        if version is not None and address.version != version:
            raise _error(where, _('not an IPv%d address') % version)
        return str(address)
