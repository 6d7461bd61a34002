"""The nodes the IPAM store knows, one page at a time.

The reconcile compares them with Ironic's nodes. A node is known while it
holds or claims an allocation, has a live reservation or a boot profile.
Each branch of the query reads only the ``node_uuid`` index of its table
(keyset paging: ``node_uuid > after``), so a page costs the same however
large the tables are.
"""

import sqlalchemy as sa

from vmetal_ironic.db import models


def known_nodes(session, after='', limit=500):
    """Up to ``limit`` node UUIDs greater than ``after``, in order."""
    alloc = models.AllocationRecord
    res = models.ReservationRecord
    prof = models.BootProfileRecord
    union = sa.union(
        sa.select(alloc.node_uuid.label('node_uuid')).where(
            alloc.node_uuid.is_not(None), alloc.node_uuid > after),
        sa.select(res.node_uuid.label('node_uuid')).where(
            res.node_uuid.is_not(None), res.deleted.is_(False),
            res.node_uuid > after),
        sa.select(prof.node_uuid.label('node_uuid')).where(
            prof.node_uuid > after)).subquery()
    return list(session.execute(
        sa.select(union.c.node_uuid).order_by(union.c.node_uuid)
        .limit(limit)).scalars())
