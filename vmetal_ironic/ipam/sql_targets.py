"""Where a reservation points: an address and a pool, from the allocations.

A reservation names an address and a pool; both default to the node's
active allocation (in the named pool, or of the address's IP version).
"""

import collections

import netaddr
import sqlalchemy as sa

from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import records
from vmetal_ironic.ipam import sql_common

_A_T = models.AllocationRecord.__table__
_POOL_T = models.PoolRecord.__table__


def version_of(address):
    """The IP version (4 or 6) of an address text (None: 4)."""
    return 6 if address and ':' in address else 4


_Target = collections.namedtuple('_Target', 'address pool_id')
# The pool's id and the node's allocation in it: one statement.
_POOL_AND_ALLOCATION = (
    sa.select(_POOL_T.c.id, _A_T.c.address)
    .select_from(_POOL_T.outerjoin(_A_T, sa.and_(
        _A_T.c.pool_id == _POOL_T.c.id,
        _A_T.c.node_uuid == sa.bindparam('node'),
        _A_T.c.state == records.ACTIVE)))
    .where(_POOL_T.c.name == sa.bindparam('pool')))
_NODE_ALLOCATION = (
    sa.select(_A_T.c.address, _A_T.c.pool_id)
    .where(_A_T.c.node_uuid == sa.bindparam('node'),
           _A_T.c.state == records.ACTIVE)
    .order_by(_A_T.c.id).limit(1))
_NODE_ALLOCATION_OF_VERSION = (
    sa.select(_A_T.c.address, _A_T.c.pool_id)
    .join(_POOL_T, _POOL_T.c.id == _A_T.c.pool_id)
    .where(_A_T.c.node_uuid == sa.bindparam('node'),
           _A_T.c.state == records.ACTIVE,
           _POOL_T.c.version == sa.bindparam('version'))
    .order_by(_A_T.c.id).limit(1))


def resolve(session, node_uuid, address, pool):
    """(address, pool id) a reservation of the node points at.

    Default: the node's active allocation (in ``pool`` if given; for an
    explicit address without a pool, the allocation of its IP version).
    """
    conn = sql_common.connection(session)
    pool_id = None
    if pool:
        found = conn.execute(_POOL_AND_ALLOCATION,
                             {'node': node_uuid, 'pool': pool}).first()
        if found is None:
            raise exception.UnknownPool(pool=pool)
        pool_id = found.id
        allocation = None
        if found.address is not None:
            allocation = _Target(found.address, pool_id)
    else:
        if address is not None:
            # A dual-stack node: the allocation of the address's family.
            allocation = conn.execute(_NODE_ALLOCATION_OF_VERSION, {
                'node': node_uuid,
                'version': version_of(str(address))}).first()
        else:
            allocation = conn.execute(_NODE_ALLOCATION,
                                      {'node': node_uuid}).first()
    if address is None:
        if allocation is None:
            raise exception.AllocationNotFound(
                node=node_uuid, where=(' in pool "%s"' % pool) if pool else '')
        return allocation.address, allocation.pool_id
    try:
        address = str(netaddr.IPAddress(str(address).strip()))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise exception.InvalidAddress(address=address,
                                       reason=_('not an IP address'))
    if allocation is not None:
        pool_id = allocation.pool_id
    return address, pool_id
