"""SQLAlchemy models of the IPAM store.

Uniqueness lives here, never in Python: one record per (pool, address) and
per (pool, node); one reservation per (MAC, IP version). The schema itself
is created and upgraded by the alembic migrations in
``vmetal_ironic/db/migrations``.
"""

from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa
from sqlalchemy import orm

# A decimal string is enough for an IPv6 pool size (up to 2**128).
SIZE_LEN = 40
ADDRESS_LEN = 64


class Base(orm.DeclarativeBase):
    pass


class PoolRecord(Base):
    __tablename__ = 'vmetal_pools'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    name = sa.Column(sa.String(64), nullable=False, unique=True)
    version = sa.Column(sa.SmallInteger, nullable=False)
    cidr = sa.Column(sa.String(ADDRESS_LEN), nullable=False)
    prefixlen = sa.Column(sa.SmallInteger, nullable=False)
    netmask = sa.Column(sa.String(ADDRESS_LEN), nullable=False)
    gateway = sa.Column(sa.String(ADDRESS_LEN), nullable=True)
    dns_servers = sa.Column(db_types.JsonEncodedList, nullable=False,
                            default=list)
    mtu = sa.Column(sa.Integer, nullable=True)
    routes = sa.Column(db_types.JsonEncodedList, nullable=False, default=list)
    vlan_id = sa.Column(sa.Integer, nullable=True)
    domain = sa.Column(sa.String(255), nullable=True)
    resource_classes = sa.Column(db_types.JsonEncodedList, nullable=False,
                                 default=list)
    # The address ranges and exclusions as configured (None: recorded
    # before schema 0002; the next pool sync fills them).
    ranges = sa.Column(db_types.JsonEncodedList, nullable=True)
    exclude = sa.Column(db_types.JsonEncodedList, nullable=True)
    # "FIRST-LAST" leased to unknown MACs by the agents (None: off).
    discovery_range = sa.Column(sa.String(2 * ADDRESS_LEN + 1),
                                nullable=True)
    size = sa.Column(sa.String(SIZE_LEN), nullable=False)
    # Digest of the address space; the cursors restart when it changes.
    space_fingerprint = sa.Column(sa.String(64), nullable=False)
    # The single cursor of schema 0001-0006: superseded by the pool's
    # stripes (PoolCursorRecord, schema 0007), kept so that a conductor
    # of an older version still finds the column during an upgrade.
    next_index = sa.Column(sa.BigInteger, nullable=False, default=0)
    # NTP servers (None: recorded before schema 0003, read as none).
    ntp_servers = sa.Column(db_types.JsonEncodedList, nullable=True)
    retired = sa.Column(sa.Boolean, nullable=False, default=False)
    generation = sa.Column(sa.BigInteger, nullable=False, default=0)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)


class PoolCursorRecord(Base):
    """One stripe of a pool's allocation cursor.

    A pool has :data:`vmetal_ironic.ipam.allocator.STRIPES` of them;
    stripe ``s`` hands out the fresh indices ``s, s + STRIPES, ...`` of the
    pool's address space and ``next_index`` is the next one it will try.
    Concurrent allocators each lock a different stripe (``FOR UPDATE SKIP
    LOCKED``), so they do not wait for each other's commit.
    """

    __tablename__ = 'vmetal_pool_cursors'
    __table_args__ = (
        sa.Index('vmetal_pool_cursors_next_idx', 'pool_id', 'next_index'),
    )

    pool_id = sa.Column(sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                        primary_key=True, autoincrement=False)
    stripe = sa.Column(sa.SmallInteger, primary_key=True,
                       autoincrement=False)
    next_index = sa.Column(sa.BigInteger, nullable=False)


class AllocationRecord(Base):
    """An address of a pool and the node that holds or last held it.

    ``state`` is 'active' while the node holds it and 'released' after;
    a released record keeps its ``node_uuid`` so that the node gets the
    same address back (sticky) and ``released_at`` for the quarantine.
    A pinned record is never given to another node.
    """

    __tablename__ = 'vmetal_allocations'
    __table_args__ = (
        sa.UniqueConstraint('pool_id', 'address',
                            name='uniq_vmetal_allocations0pool_address'),
        sa.UniqueConstraint('pool_id', 'node_uuid',
                            name='uniq_vmetal_allocations0pool_node'),
        # The recycling order (released_at, id) in full (schema 0008).
        sa.Index('vmetal_allocations_recycle_order_idx',
                 'pool_id', 'state', 'pinned', 'released_at', 'id'),
        sa.Index('vmetal_allocations_node_idx', 'node_uuid'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    pool_id = sa.Column(sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                        nullable=False)
    node_uuid = sa.Column(sa.String(36), nullable=True)
    address = sa.Column(sa.String(ADDRESS_LEN), nullable=False)
    state = sa.Column(sa.String(16), nullable=False)
    scope = sa.Column(sa.String(32), nullable=False)
    pinned = sa.Column(sa.Boolean, nullable=False, default=False)
    allocated_at = sa.Column(sa.DateTime, nullable=True)
    released_at = sa.Column(sa.DateTime, nullable=True)


class ReservationRecord(Base):
    """A DHCP reservation (MAC -> address); the boot profile is the node's.

    A MAC has at most one reservation per IP version (``ip_version``, 4 or
    6, the family of ``address``): a dual-stack node's port is served its
    IPv4 address over DHCPv4 and its IPv6 address over DHCPv6.
    A deleted reservation stays as a tombstone (``deleted``) so that agents
    asking "what changed since generation N" learn of the deletion.
    """

    __tablename__ = 'vmetal_reservations'
    __table_args__ = (
        sa.UniqueConstraint('mac', 'ip_version',
                            name='uniq_vmetal_reservations0mac_version'),
        sa.Index('vmetal_reservations_generation_idx', 'generation'),
        sa.Index('vmetal_reservations_node_idx', 'node_uuid'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    mac = sa.Column(sa.String(17), nullable=False)
    ip_version = sa.Column(sa.SmallInteger, nullable=False, default=4,
                           server_default='4')
    node_uuid = sa.Column(sa.String(36), nullable=True)
    pool_id = sa.Column(sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                        nullable=True)
    address = sa.Column(sa.String(ADDRESS_LEN), nullable=True)
    hostname = sa.Column(sa.String(255), nullable=True)
    client_id = sa.Column(sa.String(255), nullable=True)
    generation = sa.Column(sa.BigInteger, nullable=False)
    deleted = sa.Column(sa.Boolean, nullable=False, default=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)


class BootProfileRecord(Base):
    """The boot profile of a node (one per node, whatever its MACs).

    Written by the Ironic DHCP provider; every reservation of the node
    serves it. ``profile`` holds the fields of
    :class:`vmetal_ironic.boot_profile.BootProfile`.
    """

    __tablename__ = 'vmetal_boot_profiles'

    node_uuid = sa.Column(sa.String(36), primary_key=True)
    profile = sa.Column(db_types.JsonEncodedDict, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)


class Counter(Base):
    """Named counters: 'generation' and 'purged_generation'."""

    __tablename__ = 'vmetal_counters'

    name = sa.Column(sa.String(32), primary_key=True)
    value = sa.Column(sa.BigInteger, nullable=False, default=0)


class DiscoveryLeaseRecord(Base):
    """A short lease of a pool's discovery range to an unknown MAC.

    Written by the DHCP agents (the one write path they have), so that
    several agents agree on who holds which address. One row per address
    ever leased: a free or expired row (``mac`` NULL or ``expires_at``
    past) is reused before a new address is taken, so the table never
    holds more rows than the range has addresses. ``slot`` is the
    address's position in the range (the next fresh one is max + 1).
    """

    __tablename__ = 'vmetal_discovery_leases'
    __table_args__ = (
        sa.UniqueConstraint('pool_id', 'address',
                            name='uniq_vmetal_discovery_leases0pool_address'),
        sa.UniqueConstraint('pool_id', 'slot',
                            name='uniq_vmetal_discovery_leases0pool_slot'),
        sa.UniqueConstraint('mac', name='uniq_vmetal_discovery_leases0mac'),
        sa.Index('vmetal_discovery_leases_expiry_idx',
                 'pool_id', 'expires_at'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    pool_id = sa.Column(sa.Integer, sa.ForeignKey('vmetal_pools.id'),
                        nullable=False)
    slot = sa.Column(sa.Integer, nullable=False)
    address = sa.Column(sa.String(ADDRESS_LEN), nullable=False)
    # The discovery range ``slot`` counts in: a row of an older range of
    # the pool is stale and dropped by the next take.
    span = sa.Column(sa.String(2 * ADDRESS_LEN + 1), nullable=False)
    mac = sa.Column(sa.String(17), nullable=True)
    expires_at = sa.Column(sa.DateTime, nullable=False)


class LeaseRecord(Base):
    """A named lease: which process does a cluster-wide job, until when.

    The conductors' reconcile periodic takes the ``reconcile`` lease with a
    conditional UPDATE (see :mod:`vmetal_ironic.ipam.sql_lease`), so one
    conductor runs it per interval. ``runs`` counts the terms granted.
    """

    __tablename__ = 'vmetal_leases'

    name = sa.Column(sa.String(64), primary_key=True)
    holder = sa.Column(sa.String(255), nullable=True)
    taken_at = sa.Column(sa.DateTime, nullable=True)
    expires_at = sa.Column(sa.DateTime, nullable=True)
    runs = sa.Column(sa.BigInteger, nullable=False, default=0)
    finished_at = sa.Column(sa.DateTime, nullable=True)
    last_released = sa.Column(sa.Integer, nullable=False, default=0)
