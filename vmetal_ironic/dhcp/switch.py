"""Whether the agent answers a node's DHCP (pure).

A node booted by virtual media needs no DHCP: Ironic builds its boot ISO
with the node's ``network_data`` (the vmetal address) as a ``config-2``
volume, the ramdisk's glean configures the address from it, and the
deployed OS does the same from its config drive. Its reservation stays
(the agent's proxy and callback listener know the node by that address),
but the agent must not answer its DHCP: the node's boot profile carries
``dhcp = 'off'`` (:data:`vmetal_ironic.boot_profile.DHCP_OFF`).

The default follows the node's boot interface: off for those that put
``network_data`` on the ISO (:data:`VIRTUAL_MEDIA_BOOT`), unless the ISO
is the operator's own (``deploy_iso``/``rescue_iso``: Ironic cannot add
the network data, the ramdisk needs DHCP) or Ironic skips the network
data (inspection with ``[inspector]force_dhcp``). ``driver_info
['vmetal_dhcp']`` (a boolean) overrides the default either way.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Any

from vmetal_ironic import boot_profile

#: driver_info key: true (the agent answers the node's DHCP) or false.
DHCP_KEY = 'vmetal_dhcp'

#: Boot interfaces whose ramdisk ISO carries the node's network_data
#: (Ironic's ``image_utils.prepare_deploy_iso``, then a virtual CD).
VIRTUAL_MEDIA_BOOT = frozenset({'redfish-virtual-media',
                                'idrac-redfish-virtual-media'})

#: driver_info keys (suffixes) of an operator's prebuilt ISO.
_PREBUILT_ISO = ('deploy_iso', 'rescue_iso')

_TRUE = frozenset({'1', 't', 'true', 'on', 'y', 'yes'})
_FALSE = frozenset({'0', 'f', 'false', 'off', 'n', 'no'})


def parse_flag(value: Any) -> bool | None:
    """driver_info ``vmetal_dhcp`` as a bool (None: not set).

    :raises ValueError: a value that is not a boolean.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError('driver_info %s must be a boolean, not %r'
                     % (DHCP_KEY, value))


def answers_dhcp(boot_interface: str | None,
                 driver_info: Mapping[str, Any] | None,
                 inspecting: bool = False, force_dhcp: bool = False) -> bool:
    """True when the agent should answer the node's DHCP (module doc).

    :param boot_interface: the node's boot interface name.
    :param driver_info: the node's driver_info.
    :param inspecting: the node is in inspection.
    :param force_dhcp: Ironic's ``[inspector]force_dhcp``.
    :raises ValueError: ``vmetal_dhcp`` is not a boolean.
    """
    info = driver_info or {}
    flag = parse_flag(info.get(DHCP_KEY))
    if flag is not None:
        return flag
    if boot_interface not in VIRTUAL_MEDIA_BOOT:
        return True
    if any(info.get(key) for key in info
           if key.endswith(_PREBUILT_ISO)):
        return True
    return inspecting and force_dhcp


def with_switch(profile: boot_profile.BootProfile | None, answers: bool
                ) -> boot_profile.BootProfile:
    """``profile`` (None: empty) with its ``dhcp`` field set to match."""
    profile = profile or boot_profile.EMPTY
    wanted = None if answers else boot_profile.DHCP_OFF
    if profile.dhcp == wanted:
        return profile
    return dataclasses.replace(profile, dhcp=wanted)
