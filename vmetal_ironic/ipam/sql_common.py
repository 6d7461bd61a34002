"""Helpers shared by the SQL modules of the IPAM store."""

import datetime

import sqlalchemy as sa

from vmetal_ironic.db import models
from vmetal_ironic.ipam import records


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def bump_generation(session):
    """Increment the global generation; returns the new value.

    The row lock taken by the UPDATE orders concurrent writers, so
    generations become visible in increasing order.
    """
    counter = models.Counter
    session.execute(sa.update(counter).where(counter.name == 'generation')
                    .values(value=counter.value + 1))
    return session.execute(sa.select(counter.value).where(
        counter.name == 'generation')).scalar_one()


def counters(session):
    rows = session.execute(sa.select(models.Counter.name,
                                     models.Counter.value)).all()
    return dict(rows)


def pool_record(row):
    """A :class:`records.Pool` from a ``vmetal_pools`` row."""
    return records.Pool(
        name=row.name, version=row.version, cidr=row.cidr,
        prefixlen=row.prefixlen, netmask=row.netmask, gateway=row.gateway,
        dns_servers=tuple(row.dns_servers), mtu=row.mtu,
        routes=tuple(records.Route(**r) for r in row.routes),
        vlan_id=row.vlan_id, domain=row.domain,
        resource_classes=tuple(row.resource_classes),
        size=int(row.size), generation=row.generation,
        ntp_servers=tuple(row.ntp_servers or ()))


def pools_generation(session):
    """The newest generation of any pool: it changes when pools do."""
    return session.execute(sa.select(sa.func.max(
        models.PoolRecord.generation))).scalar() or 0
