"""The read-only reservation feed: what the DHCP agent reads.

:class:`ReservationFeed` answers "what changed since generation N" from
the IPAM database. It never writes, never loads or records pool
configuration and needs none of the manager: an agent's configuration
has a ``[vmetal_database]`` group and nothing else of the IPAM engine.

``changes_since`` reads through the database's DB-API driver (or a
SQLAlchemy Core engine for other drivers:
:class:`~vmetal_ironic.db.lazy.LazyReader`), in one read transaction, with
the statements below: the same answer as
:func:`~vmetal_ironic.ipam.sql_changes.changes_since` (a test checks
both on every backend) without oslo.db, alembic, the ORM or SQLAlchemy.
A *full* read does not build a list: its ``reservations`` is a
:class:`Stream` that fetches rows in batches (a server-side cursor on
PostgreSQL and MySQL) as the agent compiles them into its table, so
100,000 reservations never exist as records all at once. The pool
gauges' reads (``pool_usage``, ``allocation_failures``) are rare and use
the store's full Database, imported on first use.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any, Iterator

from vmetal_ironic import boot_profile
from vmetal_ironic.db import lazy
from vmetal_ironic.db import lazy_database
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

_COUNTERS = 'SELECT name, value FROM vmetal_counters'
_POOL_NAMES = 'SELECT id, name FROM vmetal_pools'
_POOLS = ('SELECT name, version, cidr, prefixlen, netmask, gateway, '
          'dns_servers, mtu, routes, vlan_id, domain, resource_classes, '
          'size, generation, ntp_servers FROM vmetal_pools '
          'WHERE retired = :no%s ORDER BY id')
_RESERVATIONS = ('SELECT r.mac, r.node_uuid, r.pool_id, r.address, '
                 'r.hostname, r.client_id, r.generation, r.deleted, '
                 'p.profile, r.ip_version FROM vmetal_reservations r '
                 'LEFT OUTER JOIN vmetal_boot_profiles p '
                 'ON p.node_uuid = r.node_uuid WHERE %s '
                 'ORDER BY r.generation')
_FULL = _RESERVATIONS % 'r.deleted = :no'
_SINCE = _RESERVATIONS % 'r.generation > :gen'
_TOP = ('SELECT max(generation) FROM vmetal_reservations '
        'WHERE deleted = :no')


def _json_list(value: Any) -> list:
    return json.loads(value) if value is not None else []


def _pool(row: tuple) -> records.Pool:
    """A :class:`records.Pool` of a ``_POOLS`` row (JSON lists as text)."""
    (name, version, cidr, prefixlen, netmask, gateway, dns, mtu, routes,
     vlan_id, domain, classes, size, generation, ntp) = row
    return records.Pool(
        name=name, version=version, cidr=cidr, prefixlen=prefixlen,
        netmask=netmask, gateway=gateway, dns_servers=tuple(_json_list(dns)),
        mtu=mtu, routes=tuple(records.Route(**r) for r in _json_list(routes)),
        vlan_id=vlan_id, domain=domain,
        resource_classes=tuple(_json_list(classes)), size=int(size),
        generation=generation, ntp_servers=tuple(_json_list(ntp)))


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

    def __init__(self, reader: lazy.LazyReader, conn: Any,
                 names: dict[int, str]) -> None:
        self._reader = reader
        self._conn = conn
        self._names = names

    def __iter__(self) -> Iterator[Any]:
        conn = self._conn
        if conn is None:
            raise RuntimeError('a reservation stream is read once')
        names, profile = self._names, _Profiles()
        make: Any = Row
        empty = boot_profile.EMPTY
        broken = True
        try:
            for rows in conn.stream(_FULL, {'no': False}, BATCH):
                for (mac, node, pool_id, address, hostname, client_id, gen,
                     deleted, text, version) in rows:
                    yield make(mac, node, names.get(pool_id), address,
                               hostname, client_id,
                               empty if text is None else profile(text),
                               gen, False, version)
            broken = False
        except self._reader.failures(conn) as exc:
            raise self._reader.error(conn, exc)
        finally:
            self._close(broken)

    def _close(self, broken: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._reader.release(conn, broken)

    def close(self) -> None:
        """End the read transaction (what is not read is not read)."""
        # a cursor left open midway: the connection is not reused
        self._close(True)

    def __del__(self) -> None:
        self.close()


def read_changes(reader: lazy.LazyReader, conn: Any,
                 generation: int) -> records.ChangeSet:
    """What :func:`sql_changes.changes_since` answers, in plain SQL.

    ``conn`` is in a read transaction of ``reader``; a full answer's
    reservations are a :class:`Stream` that takes it over, otherwise the
    caller releases it.
    """
    counters: dict[str, int] = dict(conn.rows(_COUNTERS))
    current = counters.get('generation', 0)
    purged = counters.get('purged_generation', 0)
    full = generation <= 0 or generation < purged or generation > current
    if full:
        pools = [_pool(r) for r in conn.rows(_POOLS % '', {'no': False})]
    else:
        pools = [_pool(r) for r in conn.rows(
            _POOLS % ' AND generation > :gen',
            {'no': False, 'gen': generation})]
    names: dict[int, str] = dict(conn.rows(_POOL_NAMES))
    seen = max([current] + [p.generation for p in pools])
    if full:
        top = conn.rows(_TOP, {'no': False})[0][0]
        return records.ChangeSet(
            generation=max(seen, top or 0), full=True, pools=pools,
            reservations=Stream(reader, conn, names))  # type: ignore
    profile = _Profiles()
    changed = [records.Reservation(
        mac=mac, node_uuid=node, pool=names.get(pool_id), address=address,
        hostname=hostname, client_id=client_id,
        boot_profile=boot_profile.EMPTY if deleted else profile(text),
        generation=gen, deleted=bool(deleted), ip_version=version)
        for (mac, node, pool_id, address, hostname, client_id, gen, deleted,
             text, version) in conn.rows(_SINCE, {'gen': generation})]
    seen = max([seen] + [r.generation for r in changed])
    return records.ChangeSet(generation=seen, full=False, pools=pools,
                             reservations=changed)


class ReservationFeed:
    """Reservations and pools of the IPAM database, for reading.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``).
    :param database: an open :class:`~vmetal_ironic.db.api.Database`
        (tests): read through its reader engine.
    :param driver: False: read through SQLAlchemy Core even where the
        DB-API driver would do (tests of the fallback).
    The database is opened, and its schema checked, on first use.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 database: Any = None, driver: bool = True) -> None:
        if conf is None and url is None and database is None:
            from vmetal_ironic import conf as vmetal_conf
            conf = vmetal_conf.CONF
        self._conf = conf
        self._reader = lazy.LazyReader(
            conf, url, database.reader if database is not None else None,
            retries=READ_RETRIES, driver=driver)
        self._lazy = lazy_database.LazyDatabase(conf, url, database,
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
        reader = self._reader
        conn = reader.begin()
        try:
            cs = read_changes(reader, conn, generation)
        except reader.failures(conn) as exc:
            reader.release(conn, broken=True)
            raise reader.error(conn, exc)
        except BaseException:
            reader.release(conn, broken=True)
            raise
        if not cs.full:
            reader.release(conn)
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
