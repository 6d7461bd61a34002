"""Ironic's DHCP option list -> the vmetal boot profile (pure).

Ironic hands a DHCP provider a list of ``{'opt_name', 'opt_value',
'ip_version'}`` dicts built by ``ironic.common.pxe_utils.
dhcp_options_for_instance``. Names are dnsmasq-flavoured: ``'67'``,
``'tag:!ipxe,67'``, ``'tag:ipxe6,59'``, ``'!175,67'``... The DHCP agent
does not speak dnsmasq, so :func:`to_boot_profile` turns the list into the
node's :class:`~vmetal_ironic.boot_profile.BootProfile` (``bootfile``,
``ipxe_script_url``, ``http_boot_url``, ``tftp_server``, and for DHCPv6
``ipxe6_url`` and ``bootfile6_url`` from option 59): what the agent acts
on.

Not kept: the verbatim option list. Every option is validated (name,
ip_version).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vmetal_ironic import boot_profile
from vmetal_ironic import exception
from vmetal_ironic.i18n import _

# Profile fields.
BOOTFILE = 'bootfile'
IPXE_SCRIPT_URL = 'ipxe_script_url'
TFTP_SERVER = 'tftp_server'
HTTP_BOOT_URL = 'http_boot_url'
IPXE6_URL = 'ipxe6_url'
BOOTFILE6_URL = 'bootfile6_url'

# dnsmasq option names Ironic (or an operator's hook) may use instead of
# the numbers.
_ALIASES = {
    'bootfile-name': '67',
    'tftp-server': '66',
    'server-ip-address': '255',
    'vendor-class': '60',
    'client-id': '61',
    'bootfile-url': '59',
}

# TFTP server sources, best first: 150 is an address, 255 is dnsmasq's
# siaddr, 66 is a server *name* (usually an address too in Ironic).
_TFTP_OPTIONS = ('150', '255', '66')

_HTTP_CLIENT = 'HTTPClient'


def _split(opt_name: str) -> tuple[frozenset[str], str]:
    """Split ``'tag:!ipxe,67'`` into ({'!ipxe'}, '67').

    dnsmasq's ``!175`` (the iPXE encapsulated option is absent: not iPXE)
    is the untagged spelling of ``tag:!ipxe`` and is folded into it.
    """
    parts = [p.strip() for p in opt_name.split(',')]
    number = parts[-1].lower()
    number = _ALIASES.get(number, number)
    tags = set()
    for part in parts[:-1]:
        if part.startswith('tag:'):
            tags.add(part[4:])
        elif part == '!175':
            tags.add('!ipxe')
        elif part == '175':
            tags.add('ipxe')
        else:
            tags.add(part)
    return frozenset(tags), number


def _normalise(option: Any, index: int) -> dict[str, Any]:
    if not isinstance(option, Mapping):
        raise exception.InvalidInput(
            reason=_('DHCP option #%(i)d is not a dict: %(opt)r')
            % {'i': index, 'opt': option})
    name = option.get('opt_name')
    if not isinstance(name, str) or not name.strip():
        raise exception.InvalidInput(
            reason=_('DHCP option #%(i)d has no opt_name: %(opt)r')
            % {'i': index, 'opt': dict(option)})
    value = option.get('opt_value')
    if value is not None and not isinstance(value, str):
        value = str(value)
    version = option.get('ip_version')
    if version is None:
        version = 6 if _split(name)[1] == '59' else 4
    try:
        version = int(version)
    except (TypeError, ValueError):
        version = 0
    if version not in (4, 6):
        raise exception.InvalidInput(
            reason=_('DHCP option %(name)s has an invalid ip_version '
                     '%(ver)r') % {'name': name,
                                   'ver': option.get('ip_version')})
    return {'opt_name': name.strip(), 'opt_value': value,
            'ip_version': version}


def to_boot_profile(options: Iterable[Mapping[str, Any]] | None
                    ) -> boot_profile.BootProfile:
    """Translate Ironic's DHCP option list into a boot profile.

    :param options: Ironic's list of ``opt_name``/``opt_value``/
        ``ip_version`` dicts (``None`` or empty: the empty profile).
    :returns: the :class:`~vmetal_ironic.boot_profile.BootProfile`.
    :raises: vmetal_ironic.exception.InvalidInput for an option that is not
        a dict, has no name or a bad ip_version, or a value a profile
        cannot hold (control characters, more than 255 bytes).
    """
    normalised = [_normalise(opt, i) for i, opt in enumerate(options or ())]
    v4: dict[tuple[frozenset[str], str], str] = {}
    v6: dict[tuple[frozenset[str], str], str] = {}
    for opt in normalised:
        if opt['opt_value'] is None:
            continue        # None: Neutron's "remove this option"
        (v4 if opt['ip_version'] == 4 else v6)[
            _split(opt['opt_name'])] = opt['opt_value']
    fields: dict[str, Any] = {}
    _translate_v4(v4, fields)
    _translate_v6(v6, fields)
    try:
        return boot_profile.BootProfile.from_dict(fields)
    except boot_profile.InvalidBootProfile as exc:
        raise exception.InvalidInput(reason=str(exc))


def _translate_v4(v4: dict[tuple[frozenset[str], str], str],
                  profile: dict[str, Any]) -> None:
    by_number: dict[str, dict[frozenset[str], str]] = {}
    for (tags, number), value in v4.items():
        by_number.setdefault(number, {})[tags] = value

    bootfiles = by_number.get('67', {})
    http_client = any(v == _HTTP_CLIENT
                      for v in by_number.get('60', {}).values())
    not_ipxe = frozenset({'!ipxe'})
    ipxe = frozenset({'ipxe'})
    plain: frozenset[str] = frozenset()
    if not_ipxe in bootfiles:
        profile[BOOTFILE] = bootfiles[not_ipxe]
    if ipxe in bootfiles:
        profile[IPXE_SCRIPT_URL] = bootfiles[ipxe]
    if plain in bootfiles:
        value = bootfiles[plain]
        if http_client:
            profile[HTTP_BOOT_URL] = value
        elif not_ipxe in bootfiles and IPXE_SCRIPT_URL not in profile:
            # No tag support: '!175,67' is the bootfile, plain 67 the
            # script iPXE chains to.
            profile[IPXE_SCRIPT_URL] = value
        elif BOOTFILE not in profile:
            profile[BOOTFILE] = value
    for number in _TFTP_OPTIONS:
        servers = by_number.get(number, {})
        if plain in servers:
            profile[TFTP_SERVER] = servers[plain]
            break


def _translate_v6(v6: dict[tuple[frozenset[str], str], str],
                  profile: dict[str, Any]) -> None:
    """Option 59 (RFC 5970) by client class, as Ironic's pxe_utils sends it.

    ``tag:ipxe6,59`` is the iPXE script, ``tag:!ipxe6,59`` the boot file
    URL of other clients; without tag support (``!175,59`` and plain 59)
    the first is the boot file and plain 59 the script.
    """
    urls = {tags: value for (tags, number), value in v6.items()
            if number == '59'}
    ipxe6, not_ipxe6 = frozenset({'ipxe6'}), frozenset({'!ipxe6'})
    not_ipxe = frozenset({'!ipxe'})
    plain: frozenset[str] = frozenset()
    if ipxe6 in urls:
        profile[IPXE6_URL] = urls[ipxe6]
    if not_ipxe6 in urls:
        profile[BOOTFILE6_URL] = urls[not_ipxe6]
    elif not_ipxe in urls:
        profile[BOOTFILE6_URL] = urls[not_ipxe]
        if plain in urls and IPXE6_URL not in profile:
            profile[IPXE6_URL] = urls[plain]
        return
    if plain in urls and BOOTFILE6_URL not in profile:
        profile[BOOTFILE6_URL] = urls[plain]
