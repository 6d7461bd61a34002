"""The IPAM store: pools, allocations and reservations in SQL.

:class:`Store` is the facade the manager and the DHCP agent use. The SQL of
allocations and reservations lives in :mod:`.sql_allocations` and
:mod:`.sql_reservations`; this module opens the database, checks the schema
and records the pools.
"""

import datetime
import json

from oslo_log import log
import sqlalchemy as sa

from vmetal_ironic.conf import database as db_conf
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.db import models
from vmetal_ironic import exception
from vmetal_ironic.ipam import sql_allocations
from vmetal_ironic.ipam import sql_common
from vmetal_ironic.ipam import sql_reservations

LOG = log.getLogger(__name__)


def _pool_values(spec):
    rec = spec.record()
    return {
        'version': rec.version, 'cidr': rec.cidr, 'prefixlen': rec.prefixlen,
        'netmask': rec.netmask, 'gateway': rec.gateway,
        'dns_servers': json.dumps(list(rec.dns_servers)), 'mtu': rec.mtu,
        'routes': json.dumps([r.to_dict() for r in rec.routes]),
        'vlan_id': rec.vlan_id, 'domain': rec.domain,
        'resource_classes': json.dumps(list(rec.resource_classes)),
        'size': str(rec.size),
        'space_fingerprint': spec.space.fingerprint(),
    }


class Store:
    """The IPAM database.

    :param url: SQLAlchemy URL.
    :param clock: callable returning naive UTC now (tests move time).
    """

    def __init__(self, url, max_retries=20, engine_options=None,
                 clock=sql_common.utcnow):
        self.db = db_api.Database(url, max_retries=max_retries,
                                  engine_options=engine_options)
        self.clock = clock

    @classmethod
    def from_conf(cls, conf, **kwargs):
        group = conf[db_conf.GROUP]
        options = {
            'max_pool_size': group.max_pool_size,
            'max_overflow': group.max_overflow,
            'pool_timeout': group.pool_timeout,
            'connection_recycle_time': group.connection_recycle_time,
            'max_retries': group.max_retries,
            'retry_interval': group.retry_interval,
            'sqlite_synchronous': group.sqlite_synchronous,
            'mysql_sql_mode': group.mysql_sql_mode,
        }
        return cls(group.connection, engine_options=options, **kwargs)

    def close(self):
        self.db.dispose()

    # -- schema ----------------------------------------------------------

    def upgrade(self):
        """Create or upgrade the schema to the newest revision."""
        migration.upgrade(self.db.writer)

    def check_schema(self):
        """:raises: SchemaNotCurrent unless the schema is at the head."""
        current = migration.current(self.db.reader)
        head = migration.head()
        if current != head:
            raise exception.SchemaNotCurrent(current=current or 'none',
                                             expected=head)

    # -- pools -----------------------------------------------------------

    def sync_pools(self, specs):
        """Record the configured pools; retire the ones no longer there.

        A pool whose parameters changed gets a new generation (agents
        reload it). When its address space changed, the allocation cursor
        restarts and released addresses outside the new space are dropped.
        """
        by_name = {spec.name: spec for spec in specs}

        def _sync(session):
            now = self.clock()
            rows = {row.name: row for row in
                    session.execute(sa.select(models.PoolRecord)).scalars()}
            for name, spec in by_name.items():
                values = _pool_values(spec)
                row = rows.get(name)
                if row is None:
                    session.add(models.PoolRecord(
                        name=name, next_index=0, retired=False,
                        generation=sql_common.bump_generation(session),
                        created_at=now, updated_at=now, **values))
                    LOG.info('IPAM pool %(pool)s recorded (%(cidr)s, '
                             '%(size)s addresses)',
                             {'pool': name, 'cidr': values['cidr'],
                              'size': values['size']})
                    continue
                changed = {k: v for k, v in values.items()
                           if getattr(row, k) != v}
                if not changed and not row.retired:
                    continue
                if 'space_fingerprint' in changed:
                    row.next_index = 0
                    sql_allocations.drop_released_outside(
                        session, row, spec.space)
                for key, value in changed.items():
                    setattr(row, key, value)
                row.retired = False
                row.generation = sql_common.bump_generation(session)
                row.updated_at = now
                LOG.info('IPAM pool %(pool)s updated: %(keys)s',
                         {'pool': name, 'keys': ', '.join(sorted(changed))})
            for name, row in rows.items():
                if name not in by_name and not row.retired:
                    row.retired = True
                    row.generation = sql_common.bump_generation(session)
                    row.updated_at = now
                    LOG.warning('IPAM pool %s is no longer configured: '
                                'retired', name)

        self.db.write(_sync)

    def get_pools(self):
        """The pools in service (not retired)."""
        def _get(session):
            query = sa.select(models.PoolRecord).where(
                models.PoolRecord.retired.is_(False)).order_by(
                    models.PoolRecord.id)
            return [sql_common.pool_record(r)
                    for r in session.execute(query).scalars()]
        return self.db.read(_get)

    # -- allocations -----------------------------------------------------

    def allocate(self, spec, node_uuid, scope, quarantine):
        return self.db.write(lambda s: sql_allocations.allocate(
            s, spec, node_uuid, scope, quarantine, self.clock()))

    def allocate_and_reserve(self, spec, node_uuid, scope, quarantine,
                             ports, hostname):
        """allocate() and sync the node's reservations in one transaction."""
        def _run(session):
            now = self.clock()
            allocation = sql_allocations.allocate(
                session, spec, node_uuid, scope, quarantine, now)
            reservations = sql_reservations.sync_node(
                session, node_uuid, spec.name, allocation.address, ports,
                hostname, now)
            return allocation, reservations
        return self.db.write(_run)

    def node_state(self, node_uuid):
        """The node's active allocations and live reservations (one read)."""
        return self.db.read(lambda s: (
            sql_allocations.for_node(s, node_uuid, True),
            sql_reservations.listing(s, node_uuid)))

    def pin(self, spec, node_uuid, address, scope):
        return self.db.write(lambda s: sql_allocations.pin(
            s, spec, node_uuid, address, scope, self.clock()))

    def get_allocations(self, node_uuid, active_only=True):
        return self.db.read(lambda s: sql_allocations.for_node(
            s, node_uuid, active_only))

    def list_allocations(self, pool=None, states=None, pinned=None):
        return self.db.read(lambda s: sql_allocations.listing(
            s, pool, states, pinned))

    def release(self, node_uuid, scope=None, forget=False):
        return self.db.write(lambda s: sql_allocations.release(
            s, node_uuid, scope, forget, self.clock()))

    def reconcile(self, live_node_uuids, tombstone_ttl):
        return self.db.write(lambda s: sql_allocations.reconcile(
            s, set(live_node_uuids), self.clock(), tombstone_ttl))

    def purge_tombstones(self, older_than):
        return self.db.write(lambda s: sql_reservations.purge_tombstones(
            s, self.clock() - datetime.timedelta(seconds=older_than)))

    def usage(self, quarantine, pool=None):
        return self.db.read(lambda s: sql_allocations.usage(
            s, quarantine, pool, self.clock()))

    # -- reservations ----------------------------------------------------

    def upsert_reservation(self, mac, node_uuid, **fields):
        return self.db.write(lambda s: sql_reservations.upsert(
            s, mac, node_uuid, self.clock(), **fields))

    def set_boot_profile(self, node_uuid, profile):
        return self.db.write(lambda s: sql_reservations.set_boot_profile(
            s, node_uuid, profile, self.clock()))

    def delete_reservations(self, node_uuid=None, mac=None):
        return self.db.write(lambda s: sql_reservations.delete(
            s, self.clock(), node_uuid=node_uuid, mac=mac))

    def list_reservations(self, node_uuid=None):
        return self.db.read(lambda s: sql_reservations.listing(
            s, node_uuid))

    def changes_since(self, generation):
        return self.db.read(lambda s: sql_reservations.changes_since(
            s, generation))
