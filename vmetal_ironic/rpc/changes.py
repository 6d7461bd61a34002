"""What a write transaction changed, read inside it, for its notice.

The manager reads :func:`generation` when a write transaction starts and
:func:`notice_since` just before it commits: the rows with a newer
generation are the transaction's own (and, rarely, those of a writer that
committed meanwhile, which is harmless in a hint).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from vmetal_ironic.db import models
from vmetal_ironic.rpc import notice as notice_mod


def generation(session: Any) -> int:
    """The current value of the global generation counter."""
    counter = models.Counter
    value = session.execute(sa.select(counter.value).where(
        counter.name == 'generation')).scalar()
    return int(value or 0)


def notice_since(session: Any, before: int) -> notice_mod.Notice | None:
    """The notice of the changes after ``before``, or None if none."""
    now = generation(session)
    if now <= before:
        return None
    res: Any = models.ReservationRecord
    # A dual-stack MAC has a row per IP version: named once, where it
    # first changed (the cap counts MACs, not rows).
    macs = session.execute(
        sa.select(res.mac).where(res.generation > before)
        .group_by(res.mac)
        .order_by(sa.func.min(res.generation))
        .limit(notice_mod.MAX_MACS + 1)).scalars().all()
    if len(macs) > notice_mod.MAX_MACS:
        macs = []
    return notice_mod.Notice(now, tuple(macs))
