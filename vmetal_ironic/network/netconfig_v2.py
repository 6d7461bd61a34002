"""cloud-init network-config version 2 to OpenStack network_data (pure).

Operators who come from vMetal (or write netplan) describe a node's
network as cloud-init's network-config version 2: ``ethernets``, ``bonds``,
``vlans``, each with ``addresses``, ``gateway4``/``gateway6``, ``routes``
and ``nameservers``. Ironic stores and validates ``node.network_data`` as
OpenStack's network_data.json only, so such a document is given in
``node.extra['vmetal_network_config']`` (a mapping, or YAML/JSON text) and
:func:`convert` turns it into a network_data document that goes through
the same rules as one written by hand (:mod:`.network_data`): a network
without an address receives the node's allocation, a document whose
networks all have addresses is used as it is.

The mapping, one v2 interface at a time:

* ``ethernets.NAME`` -> a ``phy`` link (id ``NAME``) with
  ``match.macaddress`` as its MAC, ``set-name`` as its ``name`` (the name
  cloud-init gives it) and ``mtu``;
* ``bonds.NAME`` -> a ``bond`` link: ``interfaces`` -> ``bond_links``,
  ``parameters`` -> ``bond_mode``, ``bond_miimon``,
  ``bond_xmit_hash_policy``, ``bond_lacp_rate``, ``bond_updelay``,
  ``bond_downdelay``, ``bond_primary`` (the keys cloud-init reads back);
  its MAC is ``macaddress`` or that of its first member;
* ``vlans.NAME`` -> a ``vlan`` link on ``link`` with ``id``, the parent's
  MAC;
* each entry of ``addresses`` -> an ``ipv4``/``ipv6`` network on that
  link with its netmask; ``gateway4``/``gateway6`` and ``routes`` (``to``,
  ``via``) -> the routes of the first network of their family;
  ``dhcp4``/``dhcp6`` -> an ``ipv4_dhcp``/``ipv6_dhcp`` network;
  ``nameservers.addresses`` -> ``dns`` services (per network and top
  level);
* an interface with no address and no DHCP that is neither a bond member
  nor a VLAN's parent is where the allocation goes: it becomes a network
  without ``ip_address`` (a template network).

A key the format cannot carry (``nameservers.search``, route ``metric``,
``match.name``, ``wakeonlan``...) is an error naming the key: nothing is
dropped silently. ``renderer`` is accepted and ignored: which renderer
applies the configuration is the deployed image's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from typing import Any

import netaddr
import yaml

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

#: ``node.extra`` key of a version 2 document.
EXTRA_KEY = 'vmetal_network_config'
#: Larger text is refused before it is parsed.
MAX_TEXT = 64 * 1024

_TOP_KEYS = frozenset(('version', 'ethernets', 'bonds', 'vlans', 'renderer'))
_COMMON_KEYS = frozenset(('addresses', 'dhcp4', 'dhcp6', 'gateway4',
                          'gateway6', 'routes', 'nameservers', 'mtu'))
_ETHERNET_KEYS = _COMMON_KEYS | {'match', 'set-name'}
_BOND_KEYS = _COMMON_KEYS | {'interfaces', 'parameters', 'macaddress'}
_VLAN_KEYS = _COMMON_KEYS | {'id', 'link'}
_ROUTE_KEYS = frozenset(('to', 'via'))
_NAMESERVER_KEYS = frozenset(('addresses',))
# v2 bond parameter -> network_data key (cloud-init turns bond_X back
# into bond-X when it reads network_data.json).
_BOND_PARAMETERS = {
    'mode': 'bond_mode',
    'mii-monitor-interval': 'bond_miimon',
    'transmit-hash-policy': 'bond_xmit_hash_policy',
    'lacp-rate': 'bond_lacp_rate',
    'up-delay': 'bond_updelay',
    'down-delay': 'bond_downdelay',
    'primary': 'bond_primary',
}
_BOND_MODES = ('802.3ad', 'balance-rr', 'active-backup', 'balance-xor',
               'broadcast', 'balance-tlb', 'balance-alb')
_DEFAULTS = ('default', '0.0.0.0/0', '::/0')


def _error(where: str, reason: str) -> exception.InvalidInput:
    return exception.InvalidInput(
        reason=_('network-config v2: %(where)s: %(reason)s')
        % {'where': where, 'reason': reason})


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _error(where, _('expected a mapping, got %s')
                     % type(value).__name__)
    for key in value:
        if not isinstance(key, str):
            raise _error(where, _('key %r is not a string') % (key,))
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _error(where, _('expected a list, got %s')
                     % type(value).__name__)
    return value


def _keys(value: Mapping[str, Any], allowed: frozenset[str],
          where: str) -> None:
    for key in value:
        if key not in allowed:
            raise _error('%s.%s' % (where, key),
                         _('not supported: OpenStack network_data cannot '
                           'carry it (supported here: %s)')
                         % ', '.join(sorted(allowed)))


def is_v2(document: Any) -> bool:
    """True for a (possibly ``network:``-wrapped) version 2 mapping."""
    if isinstance(document, Mapping) and isinstance(
            document.get('network'), Mapping):
        document = document['network']
    return isinstance(document, Mapping) and document.get('version') == 2


def load(value: Any) -> Mapping[str, Any]:
    """The v2 mapping of ``node.extra['vmetal_network_config']``.

    :param value: a mapping, or YAML (JSON is YAML) text of one.
    :raises: InvalidInput: not parseable, too large, or not version 2.
    """
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_TEXT:
            raise _error(EXTRA_KEY, _('larger than %d bytes') % MAX_TEXT)
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise _error(EXTRA_KEY, _('not YAML or JSON: %s')
                         % str(e).replace('\n', ' '))
    value = _mapping(value, EXTRA_KEY)
    if set(value) == {'network'}:
        value = _mapping(value['network'], 'network')
    if value.get('version') != 2:
        raise _error('version', _('must be 2, got %r')
                     % (value.get('version'),))
    return value


class _Converter:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        _keys(doc, _TOP_KEYS, '<top>')
        self.sections = {
            kind: dict(_mapping(doc.get(kind) or {}, kind))
            for kind in ('ethernets', 'bonds', 'vlans')}
        self.kind_of: dict[str, str] = {}
        for kind, entries in self.sections.items():
            for name in entries:
                if name in self.kind_of:
                    raise _error('%s.%s' % (kind, name),
                                 _('the name is also used in %s')
                                 % self.kind_of[name])
                self.kind_of[name] = kind
        self.macs: dict[str, str] = {}
        self.links: list[dict[str, Any]] = []
        self.networks: list[dict[str, Any]] = []
        self.dns: list[str] = []
        self.members: set[str] = set()
        self.parents: set[str] = set()

    # -- links -------------------------------------------------------------

    def convert(self) -> dict[str, Any]:
        for name, spec in self.sections['ethernets'].items():
            self._ethernet(name, _mapping(spec or {}, 'ethernets.' + name))
        for name, spec in self.sections['bonds'].items():
            self._bond(name, _mapping(spec or {}, 'bonds.' + name))
        # VLANs may stack (a VLAN on a VLAN): resolve parents first.
        pending = dict(self.sections['vlans'])
        while pending:
            ready = [n for n, s in pending.items()
                     if _mapping(s or {}, 'vlans.' + n).get('link')
                     in self.macs or
                     _mapping(s or {}, 'vlans.' + n).get('link')
                     not in pending]
            if not ready:
                raise _error('vlans', _('the VLANs %s form a loop')
                             % ', '.join(sorted(pending)))
            for name in ready:
                self._vlan(name, pending.pop(name))
        for kind, entries in self.sections.items():
            for name, spec in entries.items():
                self._layer3(kind, name, spec or {})
        services = [{'type': 'dns', 'address': a} for a in self.dns]
        return {'links': self.links, 'networks': self.networks,
                'services': services}

    def _mac(self, value: Any, where: str) -> str:
        try:
            mac = netaddr.EUI(str(value), dialect=netaddr.mac_unix_expanded)
        except (netaddr.AddrFormatError, TypeError, ValueError):
            raise _error(where, _('%r is not a MAC address') % (value,))
        return str(mac).lower()

    def _mtu(self, link: dict[str, Any], spec: Mapping[str, Any],
             where: str) -> None:
        if 'mtu' in spec:
            mtu = spec['mtu']
            if isinstance(mtu, bool) or not isinstance(mtu, int) \
                    or not 68 <= mtu <= 65535:
                raise _error(where + '.mtu',
                             _('%r is not an MTU (68-65535)') % (mtu,))
            link['mtu'] = mtu

    def _ethernet(self, name: str, spec: Mapping[str, Any]) -> None:
        where = 'ethernets.' + name
        _keys(spec, _ETHERNET_KEYS, where)
        match = _mapping(spec.get('match') or {}, where + '.match')
        _keys(match, frozenset(('macaddress',)), where + '.match')
        if 'macaddress' not in match:
            raise _error(where + '.match.macaddress',
                         _('required: network_data links are matched to '
                           'the NICs by MAC'))
        mac = self._mac(match['macaddress'], where + '.match.macaddress')
        if mac in self.macs.values():
            raise _error(where + '.match.macaddress',
                         _('%s is used by another interface') % mac)
        link: dict[str, Any] = {'id': name, 'type': 'phy',
                                'ethernet_mac_address': mac}
        if 'set-name' in spec:
            if not isinstance(spec['set-name'], str) or \
                    not spec['set-name']:
                raise _error(where + '.set-name', _('not a name'))
            link['name'] = spec['set-name']
        self._mtu(link, spec, where)
        self.macs[name] = mac
        self.links.append(link)

    def _bond(self, name: str, spec: Mapping[str, Any]) -> None:
        where = 'bonds.' + name
        _keys(spec, _BOND_KEYS, where)
        members = _list(spec.get('interfaces') or [], where + '.interfaces')
        if not members:
            raise _error(where + '.interfaces',
                         _('a bond needs at least one interface'))
        for member in members:
            if self.kind_of.get(member) != 'ethernets':
                raise _error(where + '.interfaces',
                             _('%r is not one of the ethernets') % (member,))
            if member in self.members:
                raise _error(where + '.interfaces',
                             _('%s is a member of another bond') % member)
            self.members.add(member)
        params = _mapping(spec.get('parameters') or {}, where + '.parameters')
        _keys(params, frozenset(_BOND_PARAMETERS), where + '.parameters')
        mode = params.get('mode')
        if mode not in _BOND_MODES:
            raise _error(where + '.parameters.mode',
                         _('required, one of %s') % ', '.join(_BOND_MODES))
        if 'primary' in params and params['primary'] not in members:
            raise _error(where + '.parameters.primary',
                         _('%r is not one of the bond\'s interfaces')
                         % (params['primary'],))
        mac = (self._mac(spec['macaddress'], where + '.macaddress')
               if 'macaddress' in spec else self.macs[members[0]])
        link: dict[str, Any] = {'id': name, 'type': 'bond',
                                'ethernet_mac_address': mac,
                                'bond_links': list(members)}
        for key, value in params.items():
            link[_BOND_PARAMETERS[key]] = value
        self._mtu(link, spec, where)
        self.macs[name] = mac
        self.links.append(link)

    def _vlan(self, name: str, spec: Any) -> None:
        where = 'vlans.' + name
        spec = _mapping(spec or {}, where)
        _keys(spec, _VLAN_KEYS, where)
        parent = spec.get('link')
        if parent not in self.macs:
            raise _error(where + '.link',
                         _('%r is not an ethernet, bond or VLAN of this '
                           'document') % (parent,))
        vlan_id = spec.get('id')
        if isinstance(vlan_id, bool) or not isinstance(vlan_id, int) \
                or not 0 <= vlan_id <= 4094:
            raise _error(where + '.id',
                         _('%r is not a VLAN id (0-4094)') % (vlan_id,))
        link: dict[str, Any] = {'id': name, 'type': 'vlan',
                                'vlan_link': parent, 'vlan_id': vlan_id,
                                'vlan_mac_address': self.macs[parent]}
        self._mtu(link, spec, where)
        self.parents.add(parent)
        self.macs[name] = self.macs[parent]
        self.links.append(link)

    # -- layer 3 -----------------------------------------------------------

    def _new_network(self, link: str, kind: str) -> dict[str, Any]:
        network_id = 'network%d' % len(self.networks)
        network = {'id': network_id, 'type': kind, 'link': link,
                   'network_id': network_id}
        self.networks.append(network)
        return network

    def _layer3(self, kind: str, name: str, spec: Mapping[str, Any]) -> None:
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

    def _is_template(self, name: str) -> bool:
        """Neither a bond member nor a VLAN's parent: a leaf interface."""
        return name not in self.members and name not in self.parents

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


def convert(document: Any) -> dict[str, Any]:
    """The network_data document of a v2 network-config.

    :param document: the v2 mapping or its YAML/JSON text (optionally
        wrapped in ``network:``).
    :returns: a network_data dict; template networks (no ``ip_address``,
        no ``type``) are filled by :func:`.network_data.merge`.
    :raises: InvalidInput naming the offending key.
    """
    return _Converter(load(document)).convert()


def to_json(document: Any) -> str:
    """:func:`convert`, as canonical JSON text (for the CLI and docs)."""
    return json.dumps(convert(document), indent=2, sort_keys=True)
