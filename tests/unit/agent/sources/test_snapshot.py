"""The local IPAM snapshot: atomic, checked, refused as a whole when bad."""

import os

import pytest

from tests.fixtures import agent_packets as helpers
from tests.unit.agent.sources.test_ipam import POOL
from tests.unit.agent.sources.test_ipam import res
from vmetal_ironic.agent.sources import ipam as ipam_source
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic.agent.sources import snapshot
from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic.ipam import records

PROFILE = BootProfile(bootfile='snponly.efi', tftp_server='172.22.0.9')
RECS = [res(helpers.MAC1, '172.22.0.50', 3, hostname='node-1',
            boot_profile=PROFILE),
        res(helpers.MAC2, '172.22.0.51', 4)]


def test_round_trip(tmp_path):
    path = str(tmp_path / snapshot.FILE_NAME)
    snapshot.save(path, 9, [POOL], RECS)
    cs = snapshot.load(path)
    assert cs == records.ChangeSet(9, True, [POOL], RECS)
    assert os.listdir(tmp_path) == [snapshot.FILE_NAME]   # no temp left


def test_missing_is_none(tmp_path):
    assert snapshot.load(str(tmp_path / 'none')) is None


def _corrupt(data):
    head, _, body = data.partition(b'\n')
    return {
        'truncated': data[:len(data) // 2],
        'empty': b'',
        'header only': head,
        'flipped byte': head + b'\n' + body.replace(b'172.22.0.50',
                                                    b'172.22.0.59'),
        'extended': data + b' ',
        'other format': data.replace(b'snapshot 1 ', b'snapshot 2 ', 1),
        'garbage': b'\x00\xff' * 100,
    }


@pytest.mark.parametrize('kind', sorted(_corrupt(b'a\nb')))
def test_corrupt_is_refused(tmp_path, kind):
    data = snapshot.encode(9, [POOL], RECS)
    with pytest.raises(snapshot.SnapshotError):
        snapshot.decode(_corrupt(data)[kind])


def test_valid_checksum_of_bad_content_is_refused():
    import hashlib
    import json
    body = json.dumps({'generation': 1, 'pools': [],
                       'reservations': [{'mac': 'x'}]}).encode()
    data = ('%s 1 %d %s\n' % (snapshot.MAGIC, len(body),
                              hashlib.sha256(body).hexdigest())).encode()
    with pytest.raises(snapshot.SnapshotError, match='bad content'):
        snapshot.decode(data + body)


def test_path_in(tmp_path):
    assert snapshot.path_in(str(tmp_path)) == str(
        tmp_path / snapshot.FILE_NAME)
    assert snapshot.path_in(str(tmp_path / 'missing')) is None
    assert snapshot.path_in(None) is None


def _source(feed, path):
    table = reservations.Table()
    return ipam_source.IpamSource(table, feed, 3600, helpers.BOOT_DEFAULTS,
                                  60, snapshot_path=path), table


def test_source_starts_from_the_snapshot_when_the_database_is_down(
        fake_feed, tmp_path):
    path = str(tmp_path / snapshot.FILE_NAME)
    fake_feed.sets.append(records.ChangeSet(9, True, [POOL], RECS))
    first, _ = _source(fake_feed, path)
    first.start()
    first.stop()
    assert snapshot.load(path).generation == 9
    fake_feed.sets.append(ConnectionError('database down'))
    fake_feed.sets.append(records.ChangeSet(10, False, [], [
        res(helpers.MAC2, None, 10, deleted=True)]))
    second, table = _source(fake_feed, path)
    second.start()                      # does not raise: the snapshot
    assert second.generation == 9 and len(table) == 2
    h = table.by_mac[bytes.fromhex(helpers.MAC1.replace(':', ''))]
    assert h.address == '172.22.0.50' and h.boot.tftp_server
    assert second.sync() == 1           # the database is back
    second.stop()
    assert fake_feed.calls[-2:] == [9, 9]
    assert len(table) == 1 and snapshot.load(path).generation == 10
    assert [r.mac for r in snapshot.load(path).reservations] == [
        helpers.MAC1]


def test_corrupt_snapshot_is_logged_and_a_full_sync_follows(
        fake_feed, tmp_path, caplog):
    path = tmp_path / snapshot.FILE_NAME
    path.write_bytes(snapshot.encode(9, [POOL], RECS)[:-10])
    fake_feed.sets.append(records.ChangeSet(12, True, [POOL], RECS[:1]))
    src, table = _source(fake_feed, str(path))
    src.start()
    src.stop()
    assert fake_feed.calls == [0]
    assert len(table) == 1 and src.generation == 12
    assert any('not usable: truncated' in r.getMessage()
               for r in caplog.records)
    assert snapshot.load(str(path)).generation == 12   # rewritten


def test_corrupt_snapshot_and_no_database_raises(fake_feed, tmp_path):
    path = tmp_path / snapshot.FILE_NAME
    path.write_bytes(b'junk')
    fake_feed.sets.append(ConnectionError('database down'))
    src, table = _source(fake_feed, str(path))
    with pytest.raises(ConnectionError):
        src.start()
    assert len(table) == 0


def test_notice_wakes_the_sync_thread(fake_feed):
    import threading
    synced = threading.Event()
    fake_feed.sets.append(records.ChangeSet(5, True, [POOL], []))
    src, table = _source(fake_feed, None)
    src.start()
    fake_feed.sets.append(records.ChangeSet(6, False, [], RECS[:1]))
    orig = src._sync

    def _sync():
        n = orig()
        synced.set()
        return n
    src._sync = _sync
    src.notify(type('N', (), {'generation': 5})())   # not newer: ignored
    assert not src._wake.is_set()
    src.notify(type('N', (), {'generation': 6})())
    assert synced.wait(10)              # long before the 60 s interval
    src.stop()
    assert fake_feed.calls == [0, 5] and len(table) == 1


def test_save_streams_what_encode_gives(tmp_path, monkeypatch):
    """The written file: encode's body under a fixed-width header."""
    monkeypatch.setattr(snapshot, 'BATCH', 2)
    recs = RECS * 3
    path = tmp_path / snapshot.FILE_NAME
    snapshot.save(str(path), 9, [POOL], iter(recs))
    head, _, body = path.read_bytes().partition(b'\n')
    assert body == snapshot.encode(9, [POOL], recs).partition(b'\n')[2]
    magic, fmt, length, digest = head.decode().split(' ')
    assert (magic, fmt, len(length), int(length)) == (
        snapshot.MAGIC, '1', snapshot.LENGTH_WIDTH, len(body))
    assert snapshot.load(str(path)) == records.ChangeSet(9, True, [POOL],
                                                         recs)
    snapshot.save(str(path), 9, [POOL], [])
    assert snapshot.load(str(path)).reservations == []


def test_encode_is_json_dumps_of_the_whole():
    import json
    body = snapshot.encode(9, [POOL], RECS).partition(b'\n')[2]
    assert body == json.dumps(
        {'generation': 9, 'pools': [POOL.to_dict()],
         'reservations': [r.to_dict() for r in RECS]},
        sort_keys=True, separators=(',', ':')).encode()


def _with_body(body):
    import hashlib
    return ('%s 1 %d %s\n' % (snapshot.MAGIC, len(body),
                              hashlib.sha256(body).hexdigest())).encode() \
        + body


def test_streamed_load_is_the_same_snapshot(tmp_path):
    import json
    path = str(tmp_path / snapshot.FILE_NAME)
    snapshot.save(path, 9, [POOL], RECS)
    cs = snapshot.load(path, stream=True)
    assert not isinstance(cs.reservations, list)
    assert (cs.generation, cs.pools, list(cs.reservations)) == (9, [POOL],
                                                                RECS)
    # another layout (spaces, other key order) is decoded whole
    body = json.dumps({'reservations': [r.to_dict() for r in RECS],
                       'pools': [POOL.to_dict()], 'generation': 9}).encode()
    cs = snapshot.decode(_with_body(body), stream=True)
    assert (cs.generation, cs.pools, cs.reservations) == (9, [POOL], RECS)
    empty = snapshot.decode(snapshot.encode(9, [POOL], []), stream=True)
    assert list(empty.reservations) == []


def test_a_bad_record_late_in_a_streamed_snapshot_refuses_it_whole(
        fake_feed, tmp_path, caplog):
    bad = dict(RECS[1].to_dict(), deleted=True)
    data = snapshot.encode(9, [POOL], RECS[:1])
    body = data.partition(b'\n')[2].replace(
        b']}', b',' + snapshot._DUMPS(bad).encode() + b']}')
    path = tmp_path / snapshot.FILE_NAME
    path.write_bytes(_with_body(body))
    with pytest.raises(snapshot.SnapshotError, match='bad content'):
        list(snapshot.load(str(path), stream=True).reservations)
    fake_feed.sets.append(records.ChangeSet(12, True, [POOL], RECS[:1]))
    src, table = _source(fake_feed, str(path))
    src.start()                 # nothing of the snapshot is served
    src.stop()
    assert fake_feed.calls == [0] and src.generation == 12
    assert any('bad content' in r.getMessage() for r in caplog.records)
