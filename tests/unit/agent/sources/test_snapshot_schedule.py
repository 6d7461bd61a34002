"""When the IPAM snapshot is written: after a burst of changes, not in it."""

import json

from tests.unit.agent.sources.test_ipam import POOL
from tests.unit.agent.sources.test_snapshot import _source
from tests.unit.agent.sources.test_snapshot import RECS
from vmetal_ironic.agent.sources import snapshot
from vmetal_ironic.ipam import records


def test_record_is_the_records_dict():
    for r in RECS:
        assert json.loads(snapshot._record(r, {})) == r.to_dict()
    body = snapshot.encode(3, [POOL], RECS).split(b'\n', 1)[1]
    assert json.loads(body)['reservations'] == [r.to_dict() for r in RECS]


def _writer(tmp_path):
    return snapshot.Writer(str(tmp_path / snapshot.FILE_NAME), interval=1.0,
                           quiet=0.5, max_delay=10.0)


def test_due_waits_for_the_changes_to_settle(tmp_path):
    w = _writer(tmp_path)
    w.saved_at = 100.0
    w.changed(100.2)
    assert w.due() == 101.0             # the interval since the last write
    w.changed(100.9)
    assert w.due() == 101.4             # half a second after the last change


def test_due_of_a_stream_that_never_pauses_is_bounded(tmp_path):
    w = _writer(tmp_path)
    w.saved_at = 50.0
    t = 100.0
    while t < 130.0:                    # a change every 20 ms for 30 s
        w.changed(t)
        t += 0.02
    assert w.due() == 110.0             # max_delay after the first change


def test_a_write_starts_a_new_period(tmp_path):
    w = _writer(tmp_path)
    w.changed(100.0)
    assert w.save(1, [POOL], RECS)
    w.changed(w.saved_at + 0.1)
    assert w.due() == w.saved_at + 1.0
    assert w._first_change == w.saved_at + 0.1


def test_the_source_does_not_write_in_the_middle_of_a_burst(
        fake_feed, tmp_path):
    path = str(tmp_path / snapshot.FILE_NAME)
    fake_feed.sets.append(records.ChangeSet(5, True, [POOL], []))
    src, _ = _source(fake_feed, path)
    src.load_snapshot()
    src.sync()
    src.save_snapshot(force=True)
    assert snapshot.load(path).generation == 5
    src._writer.saved_at -= 5.0         # long after the last write
    fake_feed.sets.append(records.ChangeSet(6, False, [], RECS[:1]))
    src.sync()
    src.save_snapshot()                 # the change is a few µs old
    assert snapshot.load(path).generation == 5
    src._writer._last_change -= 1.0     # settled
    src.save_snapshot()
    assert snapshot.load(path).generation == 6


def test_a_loaded_snapshot_does_not_start_the_delay(fake_feed, tmp_path):
    path = str(tmp_path / snapshot.FILE_NAME)
    snapshot.save(path, 5, [POOL], RECS)
    src, _ = _source(fake_feed, path)
    assert src.load_snapshot()
    assert src._writer._first_change is None
