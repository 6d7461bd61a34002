"""Allocation scopes: how long an allocation lives (pure).

One enum, used by the options (``[vmetal_ipam]allocation_scope``), the node
key ``driver_info['vmetal_allocation_scope']``, the IPAM manager and the
SQL that ranks scopes.
"""

from __future__ import annotations

import enum


class Scope(str, enum.Enum):
    """The scope of an allocation; its value is what the database stores."""

    #: Allocated when a deployment starts, released at tear down.
    DEPLOYMENT = 'deployment'
    #: Kept until the node is deleted.
    NODE = 'node'
    # Phases: a node without an allocation gets one for the phase only.
    CLEANING = 'cleaning'
    RESCUE = 'rescue'
    INSPECTION = 'inspection'
    SERVICING = 'servicing'

    def __str__(self) -> str:
        return self.value

    @property
    def is_phase(self) -> bool:
        """A phase reuses any allocation the node has (its deployment's)."""
        return self not in DEPLOYMENT_SCOPES

    @property
    def rank(self) -> int:
        """A longer-lived scope replaces a shorter one on an allocation."""
        return _RANK.get(self, 1)


#: The scopes a deployment's allocation may have.
DEPLOYMENT_SCOPES = (Scope.DEPLOYMENT, Scope.NODE)

#: The phase scopes.
PHASES = tuple(s for s in Scope if s not in DEPLOYMENT_SCOPES)

_RANK = {Scope.NODE: 3, Scope.DEPLOYMENT: 2}


def parse(value: str | Scope) -> Scope:
    """The scope named ``value``.

    :raises ValueError: for anything else, naming the choices.
    """
    try:
        return Scope(value)
    except ValueError:
        raise ValueError('scope %r is not one of %s' % (
            value, ', '.join(s.value for s in Scope))) from None
