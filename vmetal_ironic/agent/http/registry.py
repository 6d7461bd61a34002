"""The callback path's ramdisks by id, kept across agent restarts.

A heartbeat accepted by Ironic registers ``id -> ramdisk`` (address, port,
scheme, node, MAC, the pinned certificate); the callback listener resolves
every conductor request through it, and checks each time that the address
is still a reservation of that node.

The registry is written to ``<state_dir>/callback-ramdisks.json``
(atomically: a temporary file renamed over the old one) whenever an entry
is added or changes, and loaded when the agent starts, so a restart of the
agent is invisible to a running deploy: the conductor's next call finds
its ramdisk without waiting for the next heartbeat. The file is bounded
(:data:`MAX_STATE_BYTES`; the least recently seen entries are left out
first); a file that is too large or unreadable is ignored with a warning
and the ramdisks register again with their next heartbeat.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import socket
import ssl
import threading
import time
from typing import Callable

from oslo_log import log

from vmetal_ironic.agent import clientkey
from vmetal_ironic.agent.http import heartbeat as hb
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import tls

LOG = log.getLogger(__name__)

MAX_ENTRIES = 65536
MAX_STATE_BYTES = 16 * 1024 * 1024
INDEX_REBUILD_INTERVAL = 1.0
STATE_FILE = 'callback-ramdisks.json'
STATE_VERSION = 1

ContextFor = Callable[[hb.Target], 'ssl.SSLContext | None']


@dataclasses.dataclass
class Entry:
    """A registered ramdisk: where to go and how to verify it."""

    target: hb.Target
    context: ssl.SSLContext | None
    seen: float


def _record(rid: str, t: hb.Target) -> dict:
    return {'id': rid, 'node_uuid': t.node_uuid, 'ip': t.ip, 'port': t.port,
            'scheme': t.scheme, 'mac': t.mac.hex(),
            'pinned_pem': t.pinned_pem}


def _target(doc: dict) -> tuple[str, hb.Target]:
    """(id, target) of one record; raises ValueError/KeyError/TypeError."""
    rid = doc['id']
    if hb.split_target('%s/%s' % (hb.PREFIX, rid)) is None:
        raise ValueError('bad id %r' % (rid,))
    host = str(doc['ip'])
    scheme, ip, port = hb.parse_callback('%s://%s:%d' % (
        doc['scheme'], '[%s]' % host if ':' in host else host,
        int(doc['port'])))
    pinned = doc.get('pinned_pem')
    if pinned is not None and not isinstance(pinned, str):
        raise TypeError('pinned_pem is not a string')
    mac = bytes.fromhex(doc['mac'])
    if len(mac) != 6:
        raise ValueError('bad MAC')
    return rid, hb.Target(str(doc['node_uuid']), ip, port, scheme, mac,
                          pinned)


class Registry:
    """Ramdisks by id, checked against the reservation table at each use.

    :param table: the agent's reservation table.
    :param max_entries: at most this many; the least recently seen goes
        first.
    :param state_dir: where to keep :data:`STATE_FILE`; None keeps the
        registry in memory only.
    :param context_for: the TLS client context of a target (used for the
        entries loaded from the file).
    """

    def __init__(self, table, max_entries: int = MAX_ENTRIES,
                 state_dir: str | None = None,
                 context_for: ContextFor | None = None) -> None:
        self.table = table
        self.max_entries = max_entries
        self.path = (os.path.join(state_dir, STATE_FILE)
                     if state_dir else None)
        self.context_for = context_for or (lambda target: None)
        self._entries: collections.OrderedDict[str, Entry] = \
            collections.OrderedDict()
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._index: dict[bytes, bytes] = {}
        self._indexed_at = 0.0
        self._reserved6 = clientkey.Reserved6(table)
        # Active-active (see _reload_for): set by the callback bridge.
        self.shared = False
        self._loaded_mtime: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, rid: str) -> bool:
        return rid in self._entries

    def reservation(self, ip: str) -> tuple[bytes, str | None] | None:
        """(mac, node uuid) of the reservation holding ``ip``, or None.

        An IPv6 ``ip`` is looked up in the table's IPv6 reservations
        (``by_mac6``): a dual-stack node heartbeats from either address.
        """
        if ':' in ip:
            packed6 = clientkey.pack6(ip)
            host6 = self._reserved6.host(packed6) if packed6 else None
            return (host6.mac, host6.node_uuid) if host6 is not None \
                else None
        try:
            packed = socket.inet_aton(ip)
        except OSError:
            return None
        host = self._host(packed)
        if host is None and (time.monotonic() - self._indexed_at
                             >= INDEX_REBUILD_INTERVAL):
            self._index = {h.ip: h.mac for h in
                           list(self.table.by_mac.values())}
            self._indexed_at = time.monotonic()
            host = self._host(packed)
        return (host.mac, host.node_uuid) if host is not None else None

    def _host(self, packed: bytes):
        mac = self._index.get(packed)
        host = self.table.by_mac.get(mac) if mac is not None else None
        return host if host is not None and host.ip == packed else None

    def register(self, rid: str, target: hb.Target,
                 context: ssl.SSLContext | None) -> None:
        """Record (or refresh) a ramdisk; saved when new or changed."""
        if self.shared and rid not in self._entries:
            # Active-active: keep what the previous holder wrote.
            self._refresh()
        with self._lock:
            old = self._entries.get(rid)
            self._entries[rid] = Entry(target, context, time.monotonic())
            self._entries.move_to_end(rid)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        if old is None or old.target != target:
            self.save()

    def resolve(self, rid: str) -> Entry | routes.Refusal:
        """The entry of ``rid`` if its reservation still holds."""
        entry = self._entries.get(rid)
        if entry is None:
            entry = self._reload_for(rid)
        if entry is None:
            return routes.Refusal(404, 'unknown ramdisk')
        t = entry.target
        reason = self._held_elsewhere(t)
        if reason is not None:
            with self._lock:
                gone = self._entries.pop(rid, None) is not None
            if gone:
                self.save()
            return routes.Refusal(403, reason)
        return entry

    def _held_elsewhere(self, t: hb.Target) -> str | None:
        """Why ``t``'s address may no longer be its ramdisk's, or None.

        The MAC reserved for another address or node, or the address
        reserved for another MAC: the conductor's call could reach
        another machine. A MAC with no reservation at all, its address
        given to nobody else, is still the same ramdisk: Ironic drops and
        re-creates a node's reservation between the phases of one fast
        track (cleaning's network is removed, the deploy's added) while
        the ramdisk runs on, and its commands arrive in that gap.
        """
        if ':' in t.ip:
            hosts, packed = self.table.by_mac6, clientkey.pack6(t.ip)
        else:
            hosts, packed = self.table.by_mac, socket.inet_aton(t.ip)
        host = hosts.get(t.mac)
        if host is None:
            if any(h.ip == packed for h in hosts.values()):
                return ('%s is reserved for another machine now'
                        % t.ip)
            return None
        if host.ip != packed or host.node_uuid != t.node_uuid:
            return ('%s is no longer a reservation of node %s'
                    % (t.ip, t.node_uuid))
        return None

    def _reload_for(self, rid: str) -> Entry | None:
        """Active-active: ``rid`` as another replica registered it.

        Replicas sharing ``state_dir`` share this file; the one holding the
        shared address writes it. After a failover the new holder does
        not know the ramdisks the old one registered: on a miss it re-reads
        the file once it changed, so the conductor's next call finds its
        ramdisk without waiting for the next heartbeat.
        """
        if not self.shared or not self._refresh():
            return None
        return self._entries.get(rid)

    def _refresh(self) -> bool:
        """Merge the shared file in if it changed since; True if read.

        Before a new entry is saved too: the new holder's first write
        must not drop the ramdisks the previous holder registered.
        """
        if self.path is None:
            return False
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            return False
        if mtime == self._loaded_mtime:
            return False
        self._loaded_mtime = mtime
        self.load()
        return True

    # --- the state file

    def _document(self) -> bytes:
        """The file's bytes: the most recent entries within the bound."""
        with self._lock:
            items = list(self._entries.items())
        records: list[str] = []
        size = 64
        for rid, entry in reversed(items):
            line = json.dumps(_record(rid, entry.target),
                              separators=(',', ':'))
            size += len(line) + 1
            if size > MAX_STATE_BYTES:
                LOG.warning('Callback: %s would exceed %d bytes; the %d '
                            'least recently seen ramdisks are not kept',
                            self.path, MAX_STATE_BYTES,
                            len(items) - len(records))
                break
            records.append(line)
        records.reverse()
        return ('{"version":%d,"entries":[\n%s\n]}\n' % (
            STATE_VERSION, ',\n'.join(records))).encode()

    def save(self) -> None:
        """Write the state file atomically (no-op in memory only)."""
        if self.path is None:
            return
        with self._save_lock:
            data = self._document()
            tmp = '%s.%d.tmp' % (self.path, threading.get_ident())
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                             0o600)
                with os.fdopen(fd, 'wb') as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except OSError as e:
                LOG.warning('Callback: cannot write %s: %s; a restart of '
                            'the agent loses the registered ramdisks until '
                            'their next heartbeat', self.path, e)
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def load(self) -> int:
        """Read the state file; returns the number of entries loaded.

        Records that do not parse are skipped; every entry is still
        checked against the reservation table when it is used.
        """
        if self.path is None:
            return 0
        try:
            with open(self.path, 'rb') as f:
                data = f.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return 0
        except OSError as e:
            LOG.warning('Callback: cannot read %s: %s', self.path, e)
            return 0
        if len(data) > MAX_STATE_BYTES:
            LOG.warning('Callback: %s is larger than %d bytes; ignored',
                        self.path, MAX_STATE_BYTES)
            return 0
        try:
            doc = json.loads(data.decode('utf-8'))
            records = doc['entries'] if doc.get('version') == \
                STATE_VERSION else None
            if not isinstance(records, list):
                raise ValueError('not a version %d registry' % STATE_VERSION)
        except (ValueError, UnicodeDecodeError, AttributeError,
                KeyError) as e:
            LOG.warning('Callback: %s is not a valid registry (%s); '
                        'ignored', self.path, e)
            return 0
        loaded = 0
        now = time.monotonic()
        for record in records[-self.max_entries:]:
            try:
                rid, target = _target(record)
                context = (self.context_for(target)
                           if target.scheme == 'https' else None)
            except (ValueError, KeyError, TypeError, tls.TLSError,
                    ssl.SSLError) as e:
                LOG.warning('Callback: %s: skipped a record: %s',
                            self.path, e)
                continue
            with self._lock:
                self._entries[rid] = Entry(target, context, now)
                self._entries.move_to_end(rid)
            loaded += 1
        LOG.info('Callback: %d ramdisks loaded from %s', loaded, self.path)
        return loaded
