"""The stage breakdown of benchmarks/push_latency.py (pure merging)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'benchmarks'))
import push_stages  # noqa: E402

MS = 1_000_000


def test_one_change_is_split_into_its_stages():
    bench = [('commit', 7, 10 * MS, 0), ('commit', 8, 100 * MS, 0),
             ('enqueued', 8, 101 * MS, 0), ('cast_start', 8, 102 * MS, 0),
             ('cast_done', 8, 104 * MS, 0), ('gc', 0, 103 * MS, 2 * MS)]
    agent = [('delivered', 8, 105 * MS, 0), ('received', 8, 106 * MS, 0),
             ('woken', 7, 107 * MS, 0), ('sync_start', 7, 107 * MS, 0),
             ('read_done', 8, 110 * MS, 0), ('applied', 8, 111 * MS, 0),
             ('snapshot', 8, 200 * MS, 50 * MS)]
    sample = {'t_start': 0.099, 't0': 0.1001, 'kernel': 0.113}
    push_stages.merge([sample], sorted(bench, key=lambda r: r[2]),
                      sorted(agent, key=lambda r: r[2]))
    assert sample['gen'] == 8                  # not the earlier commit
    assert sample['stages'] == pytest.approx({
        'publisher wake': 1, 'cast': 2, 'broker+bridge': 1,
        'executor hop': 1, 'sync wake': 1, 'to sync start': 0,
        'changes_since': 3, 'table apply': 1, 'to OFFER': 2})
    assert sample['gc_bench_ms'] == pytest.approx(2)
    assert sample['gc_agent_ms'] == 0 and sample['snapshot_ms'] == 0


def test_a_change_without_its_commit_has_no_stages():
    sample = {'t_start': 1.0, 't0': 1.001, 'kernel': 1.01}
    push_stages.merge([sample], [], [])
    assert 'stages' not in sample


def test_percentiles():
    values = list(range(1, 101))
    assert push_stages.pct(values, 50) == 51
    assert push_stages.pct(values, 99) == 99
    assert push_stages.pct([], 50) != push_stages.pct([], 50)    # nan
