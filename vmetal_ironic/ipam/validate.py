"""Input checks every caller of the IPAM manager gets (pure).

Node identifiers are printable and bounded (a newline or an ANSI escape
is refused, never stored and echoed to a terminal later), a scope is one
of :class:`~vmetal_ironic.ipam.scope.Scope`, and an address must lie in
the network of a pool of its own IP version.
"""

from __future__ import annotations

from typing import Any

import netaddr

from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import pools as pools_mod
from vmetal_ironic.ipam import scope as scope_mod

#: Longest node identifier (a UUID is 36 characters; the column holds 36).
MAX_NODE_LENGTH = 36
#: Longest hostname or client id (the columns hold 255).
MAX_TEXT_LENGTH = 255


def printable(what: str, value: Any, limit: int = MAX_TEXT_LENGTH) -> None:
    """Refuse a value that is not printable text of at most ``limit``.

    None passes (not given).
    """
    if value is None:
        return
    if (not isinstance(value, str) or not value.isprintable()
            or len(value) > limit):
        raise exception.InvalidInput(
            reason=_('%(what)s %(value)r is not printable text of at most '
                     '%(n)d characters') % {'what': what, 'value': value,
                                            'n': limit})


def node(node_uuid: Any) -> str:
    """The node identifier, checked."""
    if not node_uuid or not isinstance(node_uuid, str):
        raise exception.InvalidInput(
            reason=_('%r is not a node UUID') % (node_uuid,))
    printable('node', node_uuid, MAX_NODE_LENGTH)
    if node_uuid != node_uuid.strip():
        raise exception.InvalidInput(
            reason=_('node %r has surrounding blanks') % node_uuid)
    return node_uuid


def hostname(value: Any) -> None:
    printable('hostname', value)


def scope(value: Any) -> scope_mod.Scope:
    """The :class:`Scope` of ``value``; InvalidInput naming the choices."""
    try:
        return scope_mod.parse(value)
    except ValueError as exc:
        raise exception.InvalidInput(reason=str(exc)[:200])


def address(value: Any) -> netaddr.IPAddress:
    try:
        return netaddr.IPAddress(str(value).strip())
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise exception.InvalidAddress(address=value,
                                       reason=_('not an IP address'))


def pool_for(config: pools_mod.PoolConfig, ip: netaddr.IPAddress,
             pool: str | None = None) -> pools_mod.PoolSpec:
    """The pool ``ip`` belongs to.

    ``pool`` if named, else the first whose network holds it.

    :raises: UnknownPool; InvalidAddress when the address is of another IP
        version or outside the pool's network (or every pool's).
    """
    if pool:
        spec = config.get(pool)
        if ip.version != spec.version or ip not in spec.network:
            raise exception.InvalidAddress(
                address=ip, reason=_('not in the IPv%(v)d network %(net)s '
                                     'of pool "%(pool)s"')
                % {'v': spec.version, 'net': spec.network.cidr,
                   'pool': spec.name})
        return spec
    candidates = config.containing(ip)
    if not candidates:
        raise exception.InvalidAddress(address=ip,
                                       reason=_('in no pool\'s network'))
    return candidates[0]
