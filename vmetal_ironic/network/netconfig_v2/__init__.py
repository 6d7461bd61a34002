"""cloud-init network-config version 2 to OpenStack network_data (pure).

Operators who come from vMetal (or write netplan) describe a node's
network as cloud-init's network-config version 2: ``ethernets``, ``bonds``,
``vlans``, each with ``addresses``, ``gateway4``/``gateway6``, ``routes``
and ``nameservers``. Ironic stores and validates ``node.network_data`` as
OpenStack's network_data.json only, so such a document is given in
``node.extra['vmetal_network_config']`` (a mapping, or YAML/JSON text) and
:func:`convert` turns it into a network_data document that goes through
the same rules as one written by hand
(:mod:`vmetal_ironic.network.network_data`): a network
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

import yaml

from vmetal_ironic.i18n import _
from vmetal_ironic.network.netconfig_v2 import checks
from vmetal_ironic.network.netconfig_v2 import layer3
from vmetal_ironic.network.netconfig_v2 import links as links_mod

#: ``node.extra`` key of a version 2 document.
EXTRA_KEY = 'vmetal_network_config'
#: Larger text is refused before it is parsed.
MAX_TEXT = 64 * 1024

_error = checks.error
_mapping = checks.mapping


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


def convert(document: Any) -> dict[str, Any]:
    """The network_data document of a v2 network-config.

    :param document: the v2 mapping or its YAML/JSON text (optionally
        wrapped in ``network:``).
    :returns: a network_data dict; template networks (no ``ip_address``,
        no ``type``) are filled by :func:`.network_data.merge`.
    :raises: InvalidInput naming the offending key.
    """
    doc = load(document)
    links = links_mod.Links(doc)
    result: dict[str, Any] = {'links': links.convert()}
    networks = layer3.Layer3(links.is_template)
    for kind, entries in links.sections.items():
        for name, spec in entries.items():
            networks.add(kind, name, spec or {})
    result['networks'] = networks.networks
    result['services'] = [{'type': 'dns', 'address': a}
                          for a in networks.dns]
    return result


def to_json(document: Any) -> str:
    """:func:`convert`, as canonical JSON text (for the CLI and docs)."""
    return json.dumps(convert(document), indent=2, sort_keys=True)
