"""The shape checks of a network-config v2 document (pure).

Each raises InvalidInput naming where in the document it failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmetal_ironic import exception
from vmetal_ironic.i18n import _


def error(where: str, reason: str) -> exception.InvalidInput:
    """The error of ``where`` (a dotted path in the document)."""
    return exception.InvalidInput(
        reason=_('network-config v2: %(where)s: %(reason)s')
        % {'where': where, 'reason': reason})


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value``, a mapping with string keys."""
    if not isinstance(value, Mapping):
        raise error(where, _('expected a mapping, got %s')
                    % type(value).__name__)
    for key in value:
        if not isinstance(key, str):
            raise error(where, _('key %r is not a string') % (key,))
    return value


def listing(value: Any, where: str) -> list[Any]:
    """``value``, a list."""
    if not isinstance(value, list):
        raise error(where, _('expected a list, got %s')
                    % type(value).__name__)
    return value


def keys(value: Mapping[str, Any], allowed: frozenset[str],
         where: str) -> None:
    """Refuse a key that is not ``allowed`` (nothing is dropped)."""
    for key in value:
        if key not in allowed:
            raise error('%s.%s' % (where, key),
                        _('not supported: OpenStack network_data cannot '
                          'carry it (supported here: %s)')
                        % ', '.join(sorted(allowed)))
