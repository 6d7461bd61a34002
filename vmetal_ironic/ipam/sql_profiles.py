"""Boot profiles in SQL: one per node, served by every MAC of the node.

A profile change takes a new generation for each live reservation of the
node in the same transaction, so that an agent reading "what changed since
N" gets every reservation whose profile changed.
"""

from __future__ import annotations

from collections.abc import Iterable
import datetime
import json
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import orm

from vmetal_ironic import boot_profile
from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import sql_common

Profile = models.BootProfileRecord
Res = models.ReservationRecord


def parse(value: Any) -> boot_profile.BootProfile | None:
    """A BootProfile from a BootProfile, a dict or None (None: keep).

    :raises: InvalidInput naming what is wrong.
    """
    if value is None or isinstance(value, boot_profile.BootProfile):
        return value
    if not isinstance(value, dict):
        raise exception.InvalidInput(
            reason=_('a boot profile is a JSON object, not %s')
            % type(value).__name__)
    try:
        return boot_profile.BootProfile.from_dict(value)
    except boot_profile.InvalidBootProfile as exc:
        raise exception.InvalidInput(reason=str(exc))


def decode(node_uuid: str, data: Any) -> boot_profile.BootProfile:
    try:
        return boot_profile.BootProfile.from_dict(data)
    except boot_profile.InvalidBootProfile:
        # Written by hand or by a newer version: serve without it.
        return boot_profile.EMPTY


_P = cast(sa.Table, Profile.__table__)
_R = cast(sa.Table, Res.__table__)
_GET = sa.select(_P.c.profile).where(_P.c.node_uuid == sa.bindparam('node'))
_LIVE_IDS = (sa.select(_R.c.id).where(_R.c.node_uuid == sa.bindparam('node'),
                                      _R.c.deleted.is_(False))
             .order_by(_R.c.id))
# Built once (building costs more than executing). SET columns: the
# parameters named like columns.
_INSERT = sa.insert(_P)
_UPDATE = sa.update(_P).where(_P.c.node_uuid == sa.bindparam('node'))
_DELETE = sa.delete(_P).where(_P.c.node_uuid == sa.bindparam('node'))
_SET_GENERATION = sa.update(_R).where(_R.c.id == sa.bindparam('b_id'))


def for_nodes(session: orm.Session, node_uuids: Iterable[str] | None
              ) -> dict[str, boot_profile.BootProfile]:
    """node UUID -> profile, for the given nodes (None: all of them)."""
    if node_uuids is None:
        return _every_profile(session)
    query: Any = sa.select(_P.c.node_uuid, _P.c.profile)
    if node_uuids is not None:
        wanted = sorted({n for n in node_uuids if n})
        if not wanted:
            return {}
        query = query.where(_P.c.node_uuid.in_(wanted))
    return {node: decode(node, data) for node, data in
            sql_common.connection(session).execute(query).all()}


def _every_profile(session: orm.Session
                   ) -> dict[str, boot_profile.BootProfile]:
    """Every node's profile, each distinct stored text decoded once.

    The agent's full read: nodes mostly share one profile, and decoding
    100,000 equal JSON objects into 100,000 equal profiles was most of
    its start-up time (and they would each stay in memory).
    """
    raw = sa.type_coerce(Profile.profile, sa.Text)
    decoded: dict[str, boot_profile.BootProfile] = {}
    result: dict[str, boot_profile.BootProfile] = {}
    rows: Any = session.execute(sa.select(Profile.node_uuid, raw))
    for node, text in rows:
        profile = decoded.get(text)
        if profile is None:
            try:
                data = json.loads(text)
            except (TypeError, ValueError):
                data = None
            profile = decoded[text] = (
                decode(node, data) if isinstance(data, dict)
                else boot_profile.EMPTY)
        result[node] = profile
    return result


def get(session: orm.Session, node_uuid: str) -> boot_profile.BootProfile:
    data = sql_common.connection(session).execute(
        _GET, {'node': node_uuid}).scalar_one_or_none()
    if data is None:
        return boot_profile.EMPTY
    return decode(node_uuid, data)


_UNREAD: Any = object()


def put(session: orm.Session, node_uuid: str,
        profile: boot_profile.BootProfile, now: datetime.datetime,
        stored: Any = _UNREAD, live_ids: list[int] | None = None,
        generations: dict[int, int] | None = None) -> bool:
    """Store the node's profile (EMPTY deletes it); True if it changed.

    Reads the stored profile first: nothing is written when it is the
    same. Each live reservation of the node takes a new generation.

    :param stored: the stored profile's data (None: no row) and
    :param live_ids: the ids of the node's live reservations, when the
        caller read them in this transaction already.
    :param generations: filled with reservation id -> new generation.
    """
    conn = sql_common.connection(session)
    data = (conn.execute(_GET, {'node': node_uuid}).scalar_one_or_none()
            if stored is _UNREAD else stored)
    current = (decode(node_uuid, data) if data is not None
               else boot_profile.EMPTY)
    if current == profile:
        return False
    if not profile:
        conn.execute(_DELETE, {'node': node_uuid})
    elif data is None:
        conn.execute(_INSERT, {'node_uuid': node_uuid,
                               'profile': profile.to_dict(),
                               'updated_at': now})
    else:
        conn.execute(_UPDATE, {'node': node_uuid,
                               'profile': profile.to_dict(),
                               'updated_at': now})
    ids = (sorted(live_ids) if live_ids is not None else
           conn.execute(_LIVE_IDS, {'node': node_uuid}).scalars().all())
    if ids:
        top = sql_common.bump_generation(session, len(ids))
        for offset, res_id in enumerate(ids):
            generation = top - len(ids) + 1 + offset
            conn.execute(_SET_GENERATION, {
                'b_id': res_id, 'updated_at': now,
                'generation': generation})
            if generations is not None:
                generations[res_id] = generation
    sql_common.core_changed(session)
    return True


def delete(session: orm.Session, node_uuid: str) -> None:
    """Forget the node's profile (the node is gone)."""
    sql_common.connection(session).execute(_DELETE, {'node': node_uuid})
    sql_common.core_changed(session)
