"""The local snapshot of the IPAM reservations, for serving without a database.

The IPAM source writes what it serves (the pools and live reservation
records, and the generation they are at) to ``<state_dir>/``
:data:`FILE_NAME`; an agent that starts while the database is down serves
from it and catches up from its generation once the database is back.

The file is one header line and a JSON body::

    vmetal-ipam-snapshot 1 <length> <sha256 of the body>\\n
    {"generation": N, "pools": [...], "reservations": [...]}

It is written atomically (a temporary file in the same directory, fsync,
rename, fsync of the directory). A file that is truncated, altered or of
another format is refused as a whole (:class:`SnapshotError`): the agent
then serves nothing until a full read of the database, never a wrong answer.

Neither side holds the whole table as JSON objects: :func:`save` encodes
and writes :data:`BATCH` reservations at a time (the header's length is
zero-padded to a fixed width and written last), and ``load(stream=True)``
checks the whole body's digest, then decodes one reservation at a time as
the caller compiles it.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
import hashlib
import json
import os
import re
import tempfile
import time
from typing import Any

from oslo_log import log

from vmetal_ironic.agent import metrics
from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import records

LOG = log.getLogger(__name__)

FILE_NAME = 'ipam-snapshot.json'
MAGIC = 'vmetal-ipam-snapshot'
FORMAT = 1
#: A snapshot bigger than this is refused (a million hosts fit).
MAX_SIZE = 1 << 30


class SnapshotError(exception.VmetalError):
    msg_fmt = _('IPAM snapshot %(path)s is not usable: %(reason)s')


#: Reservations encoded (and written) at once by :func:`save`.
BATCH = 1000
_DUMPS = json.JSONEncoder(sort_keys=True, separators=(',', ':')).encode
_FIELDS = tuple(records.Reservation.__dataclass_fields__)


def _record(r: records.Reservation, profiles: dict[int, Any]) -> str:
    """``r.to_dict()`` encoded; profiles (shared objects) encoded once."""
    d = {f: getattr(r, f) for f in _FIELDS}
    profile = d['boot_profile']
    d['boot_profile'] = None
    held = profiles.get(id(profile))
    if held is None or held[0] is not profile:
        held = profiles[id(profile)] = (profile, _DUMPS(profile.to_dict()))
    # the profile's encoding in place of its key's null, as json.dumps
    # of the whole dict would write it (keys sorted, no spaces)
    return _DUMPS(d).replace('"boot_profile":null',
                             '"boot_profile":' + held[1], 1)


def _body(generation: int, pools: Iterable[records.Pool],
          reservations: Iterable[records.Reservation]) -> Iterator[bytes]:
    """The body in pieces: what ``json.dumps`` of the whole would give.

    One batch of reservations is encoded at a time, so a snapshot of
    100,000 never exists as 100,000 dicts or one string of all.
    """
    yield ('{"generation":%d,"pools":%s,"reservations":[' % (
        int(generation), _DUMPS([p.to_dict() for p in pools]))).encode()
    profiles: dict[int, Any] = {}
    batch: list[str] = []
    first = True
    for r in reservations:
        batch.append(_record(r, profiles))
        if len(batch) == BATCH:
            yield (('' if first else ',') + ','.join(batch)).encode()
            batch, first = [], False
    if batch:
        yield (('' if first else ',') + ','.join(batch)).encode()
    yield b']}'


def _header(length: int, digest: str, width: int = 0) -> bytes:
    line = '%s %d %0*d %s\n' % (MAGIC, FORMAT, width, length, digest)
    return line.encode()


def encode(generation: int, pools: Iterable[records.Pool],
           reservations: Iterable[records.Reservation]) -> bytes:
    """The file content of a snapshot."""
    body = b''.join(_body(generation, pools, reservations))
    return _header(len(body), hashlib.sha256(body).hexdigest()) + body


#: Digits of the length in a written header: its width is known before
#: the body (zero-padded; any reader's int() takes it).
LENGTH_WIDTH = 12


def save(path: str, generation: int, pools: Iterable[records.Pool],
         reservations: Iterable[records.Reservation]) -> None:
    """Write the snapshot to ``path`` atomically, streaming the body.

    The body is written as it is encoded (hashed and counted on the
    way); the header, of fixed width, is written over its place last.

    :raises OSError: the directory is not writable (nothing is replaced).
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.ipam-snapshot.', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            placeholder = _header(0, '0' * 64, LENGTH_WIDTH)
            f.write(placeholder)
            digest, length = hashlib.sha256(), 0
            for piece in _body(generation, pools, reservations):
                digest.update(piece)
                length += len(piece)
                f.write(piece)
            f.seek(0)
            f.write(_header(length, digest.hexdigest(), LENGTH_WIDTH))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _pool(d: dict[str, Any]) -> records.Pool:
    d = dict(d)
    d['dns_servers'] = tuple(d['dns_servers'])
    d['ntp_servers'] = tuple(d.get('ntp_servers') or ())
    d['resource_classes'] = tuple(d['resource_classes'])
    d['routes'] = tuple(records.Route(**r) for r in d['routes'])
    return records.Pool(**d)


def _reservation(d: dict[str, Any],
                 profiles: dict[Any, BootProfile]) -> records.Reservation:
    """A record of the snapshot.

    ``profiles`` caches decoded profiles by their fields (hosts mostly
    share one: decoded once, one object in memory).
    """
    d = dict(d)
    raw = d['boot_profile']
    try:
        key = tuple(sorted(raw.items())) if isinstance(raw, dict) else raw
        profile = profiles.get(key)
    except TypeError:           # an unhashable value: decode it alone
        key, profile = None, None
    if profile is None:
        profile = BootProfile.from_dict(raw)
        if key is not None and len(profiles) < 4096:
            profiles[key] = profile
    d['boot_profile'] = profile
    if d.get('deleted'):
        raise ValueError('a deleted reservation')
    return records.Reservation(**d)


def _checked_body(data: bytes, path: str) -> bytes:
    """The body of a snapshot file whose header, length and digest hold.

    :raises SnapshotError: they do not.
    """
    head, sep, body = data.partition(b'\n')
    try:
        magic, fmt, length, digest = head.decode('ascii').split(' ')
        fmt_n, length_n = int(fmt), int(length)
    except (UnicodeDecodeError, ValueError):
        raise SnapshotError(path=path, reason=_('no snapshot header'))
    if not sep or magic != MAGIC or fmt_n != FORMAT:
        raise SnapshotError(path=path, reason=_('unknown format %r')
                            % head[:64])
    if len(body) != length_n:
        raise SnapshotError(path=path, reason=_(
            'truncated or extended: %(got)d bytes of %(want)d')
            % {'got': len(body), 'want': length_n})
    if hashlib.sha256(body).hexdigest() != digest:
        raise SnapshotError(path=path, reason=_('checksum mismatch'))
    return body


def _generation(value: Any) -> int:
    if not isinstance(value, int) or value < 1:
        raise ValueError('bad generation %r' % (value,))
    return value


_SPACE = re.compile(r'[ \t\n\r]*')


def _skip(text: str, at: int) -> int:
    """The index of the first non-blank character from ``at``."""
    m = _SPACE.match(text, at)
    return m.end() if m else at


def _records(text: str, at: int, path: str
             ) -> Iterator[records.Reservation]:
    """The reservations of the array that starts at ``text[at]``.

    Decoded one object at a time (json's ``raw_decode``): 100,000 of them
    never exist as dicts all at once.

    :raises SnapshotError: anything is wrong with one.
    """
    raw = json.JSONDecoder().raw_decode
    profiles: dict[Any, BootProfile] = {}
    try:
        at = _skip(text, at + 1)
        if text[at] == ']':
            return
        while True:
            d, at = raw(text, at)
            yield _reservation(d, profiles)
            at = _skip(text, at)
            if text[at] == ']':
                return
            if text[at] != ',':
                raise ValueError('expected , or ] at %d' % at)
            at = _skip(text, at + 1)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError,
            exception.VmetalError) as e:
        raise SnapshotError(path=path, reason=_('bad content: %s') % e)


def _streamed(text: str, path: str) -> records.ChangeSet | None:
    """The snapshot with its reservations as an iterator.

    If the body is laid out as :func:`save` writes it (generation, pools,
    reservations); None: another layout (then it is decoded whole).
    """
    prefix = re.match(r'\{"generation":(\d+),"pools":', text)
    if prefix is None:
        return None
    pools, at = json.JSONDecoder().raw_decode(text, prefix.end())
    key = ',"reservations":['
    if not text.startswith(key, at) or not text.endswith(']}'):
        return None
    return records.ChangeSet(
        generation=_generation(int(prefix.group(1))), full=True,
        pools=[_pool(p) for p in pools],
        reservations=_records(text, at + len(key) - 1,  # type: ignore
                              path))


def decode(data: bytes, path: str = '-',
           stream: bool = False) -> records.ChangeSet:
    """The full :class:`~records.ChangeSet` a snapshot holds.

    :param stream: its ``reservations`` an iterator, decoded as it is read
        (it raises SnapshotError for a bad record); else a list.
    :raises SnapshotError: anything is wrong with it.
    """
    body = _checked_body(data, path)
    try:
        if stream:
            text = body.decode('utf-8')
            del body
            cs = _streamed(text, path)
            if cs is not None:
                return cs
            body = text.encode()
        doc = json.loads(body)
        generation = _generation(doc['generation'])
        pools = [_pool(p) for p in doc['pools']]
        profiles: dict[Any, BootProfile] = {}
        reservations = [_reservation(r, profiles)
                        for r in doc['reservations']]
    except (ValueError, KeyError, TypeError, AttributeError,
            exception.VmetalError) as e:
        raise SnapshotError(path=path, reason=_('bad content: %s') % e)
    return records.ChangeSet(generation=generation, full=True, pools=pools,
                             reservations=reservations)


def load(path: str, stream: bool = False) -> records.ChangeSet | None:
    """The snapshot at ``path``; None when there is none.

    :param stream: see :func:`decode` (the agent's start-up: a snapshot of
        100,000 reservations is compiled as it is decoded).
    :raises SnapshotError: it exists and is not usable.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_SIZE + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SnapshotError(path=path, reason=str(e))
    if len(data) > MAX_SIZE:
        raise SnapshotError(path=path, reason=_('too big'))
    return decode(data, path, stream)


def path_in(state_dir: str | None) -> str | None:
    """The snapshot's path in ``state_dir``.

    None (logged) when it is not a writable directory: the agent then runs
    without a snapshot.
    """
    if not state_dir:
        return None
    if not os.path.isdir(state_dir) or not os.access(state_dir, os.W_OK):
        LOG.warning('[dhcp_agent]state_dir %s is not a writable directory: '
                    'no IPAM snapshot, the agent cannot serve across a '
                    'restart while the database is down', state_dir)
        return None
    return os.path.join(state_dir, FILE_NAME)


class Writer:
    """Writes a source's snapshot when its changes have settled.

    A write costs CPU in proportion to the table, and every thread of the
    agent waits for it (the GIL): it is never done in the middle of a burst
    of changes, whose syncs it would delay. :meth:`due` is the time the
    next write may happen: ``quiet`` seconds after the last change, or at
    the latest ``max_delay`` seconds after the first unsaved one (a stream
    of changes that never pauses), and never sooner than ``interval``
    seconds after the previous write. A failure is logged once until the
    next success.

    :param path: the snapshot file.
    """

    def __init__(self, path: str, interval: float = 1.0,
                 quiet: float = 0.5, max_delay: float = 10.0) -> None:
        self.path = path
        self.interval = interval
        self.quiet = quiet
        self.max_delay = max_delay
        self.saved_at = 0.0
        self._first_change: float | None = None
        self._last_change = 0.0
        self._failed = False

    def changed(self, now: float) -> None:
        """The source applied a change at monotonic time ``now``."""
        if self._first_change is None:
            self._first_change = now
        self._last_change = now

    def clean(self) -> None:
        """What the source serves is what the file holds (just loaded)."""
        self._first_change = None

    def due(self) -> float:
        """The monotonic time the next write may happen."""
        settled = self._last_change + self.quiet
        if self._first_change is not None:
            settled = min(settled, self._first_change + self.max_delay)
        return max(self.saved_at + self.interval, settled)

    def save(self, generation: int, pools: Iterable[records.Pool],
             reservations: Iterable[records.Reservation]) -> bool:
        """Write now; False (logged once) if it failed. Never raises."""
        try:
            save(self.path, generation, pools, reservations)
        except OSError as e:
            if not self._failed:
                LOG.warning('Cannot write the IPAM snapshot %s: %s',
                            self.path, e)
            self._failed = True
            return False
        self.saved_at = time.monotonic()
        self._first_change = None
        self._failed = False
        metrics.snapshot_written()
        return True
