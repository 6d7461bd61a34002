"""The change notice: what the Ironic side tells the agents after a commit.

A notice is a hint, never data to serve: the agents read what changed from
the database (``changes_since``). Its payload is a plain JSON-able dict::

    {"version": "1.0",            # NOTICE_VERSION, "major.minor"
     "generation": 1234,          # the reservation generation committed
     "macs": ["52:54:00:..."]}    # the MACs whose reservation changed

A reader accepts any minor version of its major one (fields are only ever
added in a minor version) and ignores unknown keys.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

#: Version of the payload (and of the RPC target).
NOTICE_VERSION = '1.0'
#: The RPC method the agents' endpoint implements.
METHOD = 'reservations_changed'
#: At most this many MACs are named; a bigger change names none.
MAX_MACS = 256


class InvalidNotice(exception.VmetalError):
    msg_fmt = _('Invalid change notice: %(reason)s')


@dataclasses.dataclass(frozen=True)
class Notice:
    """A committed change: its generation and the MACs it touched."""

    generation: int
    macs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        macs = list(self.macs) if len(self.macs) <= MAX_MACS else []
        return {'version': NOTICE_VERSION, 'generation': self.generation,
                'macs': macs}

    @classmethod
    def from_dict(cls, payload: Any) -> Notice:
        """The notice of a payload.

        :raises InvalidNotice: not a dict, another major version, or a
            field of the wrong type.
        """
        if not isinstance(payload, dict):
            raise InvalidNotice(reason=_('not an object'))
        version = payload.get('version')
        if (not isinstance(version, str)
                or version.split('.')[0] != NOTICE_VERSION.split('.')[0]):
            raise InvalidNotice(reason=_('unsupported version %r')
                                % (version,))
        generation = payload.get('generation')
        if (not isinstance(generation, int) or isinstance(generation, bool)
                or generation < 0):
            raise InvalidNotice(reason=_('bad generation %r')
                                % (generation,))
        macs = payload.get('macs', [])
        if (not isinstance(macs, list)
                or not all(isinstance(m, str) for m in macs)):
            raise InvalidNotice(reason=_('macs must be a list of strings'))
        return cls(generation, tuple(macs))
