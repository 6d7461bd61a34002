"""network-config v2 interfaces to network_data links (pure).

``ethernets`` -> ``phy`` links, ``bonds`` -> ``bond`` links, ``vlans`` ->
``vlan`` links (parents first); see :mod:`vmetal_ironic.network.netconfig_v2`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import netaddr

from vmetal_ironic.i18n import _
from vmetal_ironic.network.netconfig_v2 import checks

_error = checks.error
_mapping = checks.mapping
_list = checks.listing
_keys = checks.keys

_TOP_KEYS = frozenset(('version', 'ethernets', 'bonds', 'vlans', 'renderer'))
# The keys of every interface (its layer 3 is read by :mod:`.layer3`).
_COMMON_KEYS = frozenset(('addresses', 'dhcp4', 'dhcp6', 'gateway4',
                          'gateway6', 'routes', 'nameservers', 'mtu'))
_ETHERNET_KEYS = _COMMON_KEYS | {'match', 'set-name'}
_BOND_KEYS = _COMMON_KEYS | {'interfaces', 'parameters', 'macaddress'}
_VLAN_KEYS = _COMMON_KEYS | {'id', 'link'}
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


class Links:
    """The links of a document, and which interfaces carry others."""

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
        self.members: set[str] = set()
        self.parents: set[str] = set()

    def convert(self) -> list[dict[str, Any]]:
        """The network_data links of the document's interfaces."""
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
        return self.links

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

    def is_template(self, name: str) -> bool:
        """Neither a bond member nor a VLAN's parent: a leaf interface."""
        return name not in self.members and name not in self.parents
