"""The read-only reservation feed: what the DHCP agent reads.

:class:`ReservationFeed` answers "what changed since generation N" from
the IPAM database. It never writes, never loads or records pool
configuration and needs none of the manager: an agent's configuration
has a ``[vmetal_database]`` group and nothing else of the IPAM engine.

``changes_since`` reads through a plain SQLAlchemy Core engine
(:class:`~vmetal_ironic.db.lazy.LazyReader`), in one read transaction, with
the statements below: the same answer as
:func:`~vmetal_ironic.ipam.sql_reservations.changes_since` (a test checks
both on every backend) without oslo.db, alembic or the ORM. A *full* read
does not build a list: its ``reservations`` is a :class:`Stream` that
fetches rows in batches (a server-side cursor on PostgreSQL and MySQL) as
the agent compiles them into its table, so 100,000 reservations never
exist as records all at once. The pool gauges' reads (``pool_usage``,
``allocation_failures``) are rare and use the store's full Database,
imported on first use.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any, Iterator

import sqlalchemy as sa

from vmetal_ironic import boot_profile
from vmetal_ironic.db import lazy
from vmetal_ironic.ipam import records

#: How often opening a read is tried again after a lost connection.
READ_RETRIES = 5
#: Rows fetched at once by a streamed full read.
BATCH = 1000

# A streamed full read hands out these rows: read like a Reservation (the
# same fields and defaults), built ~5x faster than the frozen dataclass.
_FIELDS = records.Reservation.__dataclass_fields__
_DEFAULTS = tuple(f.default for f in _FIELDS.values()
                  if f.default is not dataclasses.MISSING)
_namedtuple: Any = collections.namedtuple
Row: Any = _namedtuple('Row', list(_FIELDS), defaults=_DEFAULTS)

_COUNTERS = sa.text('SELECT name, value FROM vmetal_counters')
_POOL_NAMES = sa.text('SELECT id, name FROM vmetal_pools')
_POOLS = ('SELECT name, version, cidr, prefixlen, netmask, gateway, '
          'dns_servers, mtu, routes, vlan_id, domain, resource_classes, '
          'size, generation, ntp_servers FROM vmetal_pools '
          'WHERE retired = :no%s ORDER BY id')
_RESERVATIONS = ('SELECT r.mac, r.node_uuid, r.pool_id, r.address, '
                 'r.hostname, r.client_id, r.generation, r.deleted, '
                 'p.profile FROM vmetal_reservations r '
                 'LEFT OUTER JOIN vmetal_boot_profiles p '
                 'ON p.node_uuid = r.node_uuid WHERE %s '
                 'ORDER BY r.generation')
_FULL = sa.text(_RESERVATIONS % 'r.deleted = :no').bindparams(no=False)
_SINCE = sa.text(_RESERVATIONS % 'r.generation > :gen').bindparams(
    sa.bindparam('gen', type_=sa.BigInteger))
_TOP = sa.text('SELECT max(generation) FROM vmetal_reservations '
               'WHERE deleted = :no').bindparams(no=False)


def _json_list(value: Any) -> list:
    return json.loads(value) if value is not None else []


def _pool(row: Any) -> records.Pool:
    """A :class:`records.Pool` of a ``_POOLS`` row (JSON lists as text)."""
    return records.Pool(
        name=row.name, version=row.version, cidr=row.cidr,
        prefixlen=row.prefixlen, netmask=row.netmask, gateway=row.gateway,
        dns_servers=tuple(_json_list(row.dns_servers)), mtu=row.mtu,
        routes=tuple(records.Route(**r) for r in _json_list(row.routes)),
        vlan_id=row.vlan_id, domain=row.domain,
        resource_classes=tuple(_json_list(row.resource_classes)),
        size=int(row.size), generation=row.generation,
        ntp_servers=tuple(_json_list(row.ntp_servers)))


class _Profiles:
    """Stored profile text -> BootProfile, each distinct text decoded once.

    What :mod:`~vmetal_ironic.ipam.sql_profiles` decodes: a text that is
    not a valid profile is served as no profile (EMPTY).
    """

    def __init__(self) -> None:
        self._decoded: dict[str, boot_profile.BootProfile] = {}

    def __call__(self, text: Any) -> boot_profile.BootProfile:
        if text is None:
            return boot_profile.EMPTY
        profile = self._decoded.get(text)
        if profile is None:
            try:
                data = json.loads(text)
                profile = (boot_profile.BootProfile.from_dict(data)
                           if isinstance(data, dict) else boot_profile.EMPTY)
            except (TypeError, ValueError):
                profile = boot_profile.EMPTY
            if len(self._decoded) < 4096:
                self._decoded[text] = profile
        return profile


class Stream:
    """The live reservations of a full read, fetched as they are iterated.

    Iterate it once; it holds its read transaction until exhausted or
    :meth:`close`\\ d (also on garbage collection).

    :raises: StoreError while iterating (a lost connection: the read is
        not resumed, the caller reads again).
    """

    def __init__(self, connection: sa.engine.Connection,
                 names: dict[int, str]) -> None:
        self._connection: sa.engine.Connection | None = connection
        self._names = names

    def __iter__(self) -> Iterator[Any]:
        connection = self._connection
        if connection is None:
            raise RuntimeError('a reservation stream is read once')
        names, profile = self._names, _Profiles()
        make: Any = Row
        empty = boot_profile.EMPTY
        try:
            result = connection.execution_options(
                stream_results=True, max_row_buffer=BATCH).execute(_FULL)
            for rows in result.partitions(BATCH):
                for (mac, node, pool_id, address, hostname, client_id, gen,
                     deleted, text) in rows:
                    yield make(mac, node, names.get(pool_id), address,
                               hostname, client_id,
                               empty if text is None else profile(text),
                               gen, False)
        except sa.exc.SQLAlchemyError as exc:
            raise lazy.store_error(connection, exc)
        finally:
            self.close()

    def close(self) -> None:
        """End the read transaction (what is not read is not read)."""
        connection, self._connection = self._connection, None
        lazy.close_quietly(connection)

    def __del__(self) -> None:
        self.close()


def read_changes(connection: sa.engine.Connection,
                 generation: int) -> records.ChangeSet:
    """What :func:`sql_reservations.changes_since` answers, in Core SQL.

    A full answer's reservations are a :class:`Stream` that takes over
    ``connection``; otherwise the caller closes it.
    """
    counters: dict[str, int] = dict(
        connection.execute(_COUNTERS).tuples().all())
    current = counters.get('generation', 0)
    purged = counters.get('purged_generation', 0)
    full = generation <= 0 or generation < purged or generation > current
    if full:
        pools = [_pool(r) for r in connection.execute(
            sa.text(_POOLS % ''), {'no': False})]
    else:
        pools = [_pool(r) for r in connection.execute(
            sa.text(_POOLS % ' AND generation > :gen'),
            {'no': False, 'gen': generation})]
    names: dict[int, str] = dict(
        connection.execute(_POOL_NAMES).tuples().all())
    seen = max([current] + [p.generation for p in pools])
    if full:
        top = connection.execute(_TOP).scalar()
        return records.ChangeSet(
            generation=max(seen, top or 0), full=True, pools=pools,
            reservations=Stream(connection, names))  # type: ignore[arg-type]
    profile = _Profiles()
    changed = [records.Reservation(
        mac=mac, node_uuid=node, pool=names.get(pool_id), address=address,
        hostname=hostname, client_id=client_id,
        boot_profile=boot_profile.EMPTY if deleted else profile(text),
        generation=gen, deleted=bool(deleted))
        for (mac, node, pool_id, address, hostname, client_id, gen, deleted,
             text) in connection.execute(_SINCE, {'gen': generation})]
    seen = max([seen] + [r.generation for r in changed])
    return records.ChangeSet(generation=seen, full=False, pools=pools,
                             reservations=changed)


class ReservationFeed:
    """Reservations and pools of the IPAM database, for reading.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``).
    :param database: an open :class:`~vmetal_ironic.db.api.Database`
        (tests): read through its reader engine.
    The database is opened, and its schema checked, on first use.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 database: Any = None) -> None:
        if conf is None and url is None and database is None:
            from vmetal_ironic import conf as vmetal_conf
            conf = vmetal_conf.CONF
        self._conf = conf
        self._reader = lazy.LazyReader(
            conf, url, database.reader if database is not None else None,
            retries=READ_RETRIES)
        self._lazy = lazy.LazyDatabase(conf, url, database,
                                       conf_retries=READ_RETRIES)

    def _db(self) -> Any:
        return self._lazy.get()

    def changes_since(self, generation: int) -> records.ChangeSet:
        """Everything after ``generation`` (0, too old or too new: all).

        :returns: a :class:`~vmetal_ironic.ipam.records.ChangeSet`;
            ``full`` says the reader replaces what it has, and then its
            ``reservations`` is a :class:`Stream` (iterate it once).
        :raises: StoreError, SchemaNotCurrent.
        """
        generation = int(generation)
        connection = self._reader.begin()
        try:
            cs = read_changes(connection, generation)
        except sa.exc.SQLAlchemyError as exc:
            lazy.close_quietly(connection)
            raise lazy.store_error(connection, exc)
        except BaseException:
            lazy.close_quietly(connection)
            raise
        if not cs.full:
            lazy.close_quietly(connection)
        return cs

    def pool_usage(self, quarantine: int | None = None,
                   now: Any = None) -> list[records.PoolUsage]:
        """Size, used, quarantined and held counts of every live pool.

        The manager's :meth:`~vmetal_ironic.ipam.manager.IPAMManager.usage`
        query; without the pool configuration, pins outside a pool's
        ranges are not told apart (``outside`` is 0).

        :param quarantine: seconds a released address waits; default
            ``[vmetal_ipam]quarantine`` of the feed's configuration.
        :param now: naive UTC now (default: the clock's).
        :raises: StoreError, SchemaNotCurrent.
        """
        from vmetal_ironic.ipam import sql_allocations
        from vmetal_ironic.ipam import sql_common
        if quarantine is None:
            quarantine = self._quarantine()
        now = now or sql_common.utcnow()
        return self._db().read(lambda s: sql_allocations.usage(
            s, quarantine, None, now))

    def allocation_failures(self) -> dict[str, int]:
        """Allocation failures so far, by reason (see :mod:`.failures`).

        :raises: StoreError, SchemaNotCurrent.
        """
        from vmetal_ironic.ipam import failures
        return self._db().read(failures.read)

    def _quarantine(self) -> int:
        from oslo_config import cfg

        from vmetal_ironic.conf import ipam as ipam_conf
        conf = self._conf
        if conf is None:
            from vmetal_ironic import conf as vmetal_conf
            conf = vmetal_conf.CONF
        try:
            return int(conf[ipam_conf.GROUP].quarantine)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            return next(int(o.default) for o in ipam_conf.opts
                        if o.dest == 'quarantine')

    def close(self) -> None:
        """Close the database connections (the feed may be used again)."""
        self._reader.dispose()
        self._lazy.dispose()
