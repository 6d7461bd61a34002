"""Stage timestamps of the push path: free when off, no I/O when on."""

import gc

import pytest

from vmetal_ironic.rpc import trace


@pytest.fixture
def traced(tmp_path, monkeypatch):
    path = tmp_path / 'trace.txt'
    monkeypatch.setattr(trace, '_path', str(path))
    monkeypatch.setattr(trace, '_started', True)    # no flush thread
    monkeypatch.setattr(trace, '_records', [])
    yield path
    if trace._on_gc in gc.callbacks:
        gc.callbacks.remove(trace._on_gc)


def test_off_records_nothing(monkeypatch):
    monkeypatch.setattr(trace, '_path', None)
    monkeypatch.setattr(trace, '_records', [])
    trace.record('commit', 5)
    trace.watch_gc()
    trace.flush()
    assert not trace.enabled() and trace.records() == []
    assert trace._on_gc not in gc.callbacks


def test_records_are_kept_in_memory_until_flushed(traced):
    trace.record('commit', 7)
    trace.record('snapshot', 7, 1500)
    assert not traced.exists()
    (s1, g1, t1, e1), (s2, g2, t2, e2) = trace.records()
    assert (s1, g1, e1, s2, g2, e2) == ('commit', 7, 0, 'snapshot', 7, 1500)
    assert t2 >= t1 > 0
    trace.flush()
    assert trace.records() == []
    lines = traced.read_text().splitlines()
    assert [line.split()[:2] for line in lines] == [['commit', '7'],
                                                    ['snapshot', '7']]
    assert lines[1].split()[3] == '1500'


def test_long_collections_are_recorded(traced, monkeypatch):
    monkeypatch.setattr(trace, 'GC_MIN_NS', 0)
    trace.watch_gc()
    trace.watch_gc()                    # once
    assert gc.callbacks.count(trace._on_gc) == 1
    gc.collect()
    pauses = [r for r in trace.records() if r[0] == 'gc']
    assert pauses and pauses[-1][1] == 2 and pauses[-1][3] >= 0
