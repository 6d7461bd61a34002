"""The boot profile: what Ironic wants a node's DHCP replies to carry (pure).

The contract between the two halves of vmetal-ironic. The Ironic DHCP
provider (:mod:`vmetal_ironic.dhcp`) produces it from Ironic's DHCP option
list; the IPAM store keeps one per node; the DHCP agent reads it with every
reservation of that node and lets it win over the agent's own defaults.

It imports neither Ironic nor sockets nor the database: both sides import
it.

Only what the agent acts on is kept: the DHCPv4 fields and, for its
DHCPv6 server, Ironic's option 59 by client class (``ipxe6_url``,
``bootfile6_url``), and ``dhcp = 'off'`` for a node that boots without
DHCP (virtual media: its address comes from the boot ISO's
``network_data``), which the agent then never answers.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Any

#: The fields of a profile, in the order they are documented.
FIELDS = ('bootfile', 'ipxe_script_url', 'http_boot_url', 'tftp_server',
          'ipxe6_url', 'bootfile6_url', 'dhcp')

#: The one value of the ``dhcp`` field (None: DHCP answered, the default).
DHCP_OFF = 'off'

#: The longest value a field may hold: a DHCP option carries at most 255
#: bytes, and the bootfile of a BOOTP header 128.
MAX_LENGTH = 255


class InvalidBootProfile(ValueError):
    """A stored or translated profile is not valid; the message says why."""


@dataclasses.dataclass(frozen=True)
class BootProfile:
    """The boot settings Ironic chose for a node.

    :ivar bootfile: what a PXE (not iPXE) client loads first: Ironic's
        ``tag:!ipxe,67`` (``undionly.kpxe``, ``snponly.efi``) or plain 67.
    :ivar ipxe_script_url: the script iPXE chains to: ``tag:ipxe,67``.
    :ivar http_boot_url: the URL a UEFI HTTP boot client (vendor class
        ``HTTPClient``) loads: 67 sent with ``60=HTTPClient``.
    :ivar tftp_server: the TFTP server (options 150, 255 or 66).
    :ivar ipxe6_url: DHCPv6 option 59 for iPXE: ``tag:ipxe6,59``.
    :ivar bootfile6_url: DHCPv6 option 59 for other clients (a URL):
        ``tag:!ipxe6,59`` or plain 59.
    :ivar dhcp: ``'off'``: the agent does not answer the node's DHCP
        (it keeps the reservation: the node's address still identifies
        it to the proxy and the callback listener); None: it does.
    """

    bootfile: str | None = None
    ipxe_script_url: str | None = None
    http_boot_url: str | None = None
    tftp_server: str | None = None
    ipxe6_url: str | None = None
    bootfile6_url: str | None = None
    dhcp: str | None = None

    def __post_init__(self) -> None:
        if self.dhcp not in (None, DHCP_OFF):
            raise InvalidBootProfile('boot profile dhcp: %r is not %r'
                                     % (self.dhcp, DHCP_OFF))
        for name in FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise InvalidBootProfile(
                    'boot profile %s: %r is not a string' % (name, value))
            if not value or len(value.encode('utf-8')) > MAX_LENGTH:
                raise InvalidBootProfile(
                    'boot profile %s: %d bytes, not 1 to %d'
                    % (name, len(value.encode('utf-8')), MAX_LENGTH))
            if not value.isprintable():
                raise InvalidBootProfile(
                    'boot profile %s: %r has a control character'
                    % (name, value))

    def __bool__(self) -> bool:
        return any(getattr(self, name) is not None for name in FIELDS)

    @property
    def answers_dhcp(self) -> bool:
        """False when the node boots without DHCP (``dhcp = 'off'``)."""
        return self.dhcp != DHCP_OFF

    def to_dict(self) -> dict[str, str]:
        """The set fields as a JSON-able dict (``{}`` when empty)."""
        return {name: getattr(self, name) for name in FIELDS
                if getattr(self, name) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BootProfile:
        """The profile of a stored dict (``None`` or ``{}``: empty).

        :raises InvalidBootProfile: an unknown key or a bad value.
        """
        if not data:
            return EMPTY
        if not isinstance(data, Mapping):
            raise InvalidBootProfile('boot profile: %r is not a mapping'
                                     % (data,))
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise InvalidBootProfile('boot profile: unknown keys %s'
                                     % ', '.join(map(repr, unknown)))
        return cls(**{name: data.get(name) for name in FIELDS})


#: The profile of a node Ironic has given no boot options.
EMPTY = BootProfile()
