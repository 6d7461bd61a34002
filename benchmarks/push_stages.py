"""Stage breakdown of benchmarks/push_latency.py (see its docstring).

Merges, per change, the benchmark's own timestamps, the prober's, the
trace files (``vmetal_ironic/rpc/trace.py``) of the benchmark process (the
Ironic side: commit, publisher) and of the agent, and the scheduler's
statistics (``/proc/PID/task/*/schedstat``: CPU time and time spent
runnable but waiting for a CPU) of the server process.
"""

import os

#: (name, from, to): consecutive stages of the push path.
STAGES = (
    ('publisher wake', 'enqueued', 'cast_start'),
    ('cast', 'cast_start', 'cast_done'),
    ('broker+bridge', 'cast_done', 'delivered'),
    ('executor hop', 'delivered', 'received'),
    ('sync wake', 'received', 'woken'),
    ('to sync start', 'woken', 'sync_start'),
    ('changes_since', 'sync_start', 'read_done'),
    ('table apply', 'read_done', 'applied'),
    ('to OFFER', 'applied', 'offer_rx'),
)


def schedstat(pid):
    """(CPU ns, run-queue wait ns) summed over the threads of ``pid``."""
    cpu = wait = 0
    base = '/proc/%d/task' % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return 0, 0
    for tid in tids:
        try:
            with open('%s/%s/schedstat' % (base, tid)) as f:
                a, b, _ = f.read().split()
        except (OSError, ValueError):
            continue
        cpu += int(a)
        wait += int(b)
    return cpu, wait


def read_trace(path):
    """The records of a trace file: [(stage, generation, ns, extra)]."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4:
                out.append((parts[0], int(parts[1]), int(parts[2]),
                            int(parts[3])))
    out.sort(key=lambda r: r[2])
    return out


def _first(records, stage, pred):
    for r in records:
        if r[0] == stage and pred(r):
            return r
    return None


def _overlap(intervals, lo, hi):
    return sum(max(0, min(b, hi) - max(a, lo)) for a, b in intervals)


def merge(samples, bench_trace, agent_trace):
    """Add the stage times (ms) of each push sample (dicts, in place)."""
    commits = [r for r in bench_trace if r[0] == 'commit']
    by_stage = {}
    for r in bench_trace + agent_trace:
        by_stage.setdefault(r[0], []).append(r)
    gcs = {'bench': [(r[2], r[2] + r[3]) for r in bench_trace
                     if r[0] == 'gc'],
           'agent': [(r[2], r[2] + r[3]) for r in agent_trace
                     if r[0] == 'gc']}
    snaps = [(r[2] - r[3], r[2]) for r in agent_trace if r[0] == 'snapshot']
    for s in samples:
        lo, hi = int(s['t_start'] * 1e9), int(s['t0'] * 1e9)
        mine = [r for r in commits if lo <= r[2] <= hi]
        if not mine:
            continue
        gen = mine[-1][1]
        t = {'commit': mine[-1][2], 'offer_rx': int(s['kernel'] * 1e9)}
        for stage in ('enqueued', 'cast_start', 'cast_done', 'delivered',
                      'received'):
            r = _first(by_stage.get(stage, ()), stage,
                       lambda r: r[1] == gen)
            if r:
                t[stage] = r[2]
        applied = _first(by_stage.get('applied', ()), 'applied',
                         lambda r: r[1] >= gen and r[2] >= lo)
        if applied:
            t['applied'] = applied[2]
            for stage in ('read_done', 'sync_start', 'woken'):
                before = [r for r in by_stage.get(stage, ())
                          if lo <= r[2] <= t.get('read_done', applied[2])]
                if before:
                    t[stage] = before[-1][2]
        s['gen'] = gen
        s['stages'] = {}
        for name, a, b in STAGES:
            if a in t and b in t:
                s['stages'][name] = (t[b] - t[a]) / 1e6
        end = t['offer_rx']
        s['gc_agent_ms'] = _overlap(gcs['agent'], t['commit'], end) / 1e6
        s['gc_bench_ms'] = _overlap(gcs['bench'], t['commit'], end) / 1e6
        s['snapshot_ms'] = _overlap(snaps, t['commit'], end) / 1e6
    return samples


def pct(values, p):
    values = sorted(values)
    if not values:
        return float('nan')
    k = min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))
    return values[k]


def report(name, samples, out=print):
    """Print the distribution of each stage and the tail's breakdown."""
    cols = ('p50', 'p90', 'p99', 'max')
    rows = [(n, [s['stages'][n] for s in samples
                 if n in s.get('stages', {})]) for n, _a, _b in STAGES]
    rows += [
        ('DISCOVER->OFFER', [s['kernel'] * 1e3 - s['disc_sent'] * 1e3
                             for s in samples]),
        ('prober read', [(s['user'] - s['kernel']) * 1e3 for s in samples]),
        ('prober send gap', [s['send_gap_ms'] for s in samples]),
        ('server runq wait', [s['runq_ms'] for s in samples]),
        ('bench runq wait', [s['bench_runq_ms'] for s in samples]),
        ('prober runq wait', [s['prober_runq_ms'] for s in samples]),
        ('server CPU', [s['cpu_ms'] for s in samples]),
        ('total (rx)', [s['ms'] for s in samples]),
    ]
    out('\n%s: stage (ms) %s' % (name, ' '.join('%8s' % c for c in cols)))
    for label, vals in rows:
        if vals:
            out('  %-22s %s' % (label, ' '.join(
                '%8.2f' % (max(vals) if c == 'max' else pct(vals, int(c[1:])))
                for c in cols)))
    tail = sorted(samples, key=lambda s: s['ms'])[-10:]
    out('  the 10 slowest changes (ms): total | run-queue wait of the '
        'server, bench, prober; server CPU | gc agent/bench, snapshot | '
        'stages >= 1 ms')
    for s in reversed(tail):
        st = s.get('stages', {})
        out('  %7.1f | %6.1f %6.1f %6.1f %6.1f | %5.1f %5.1f %5.1f | %s' % (
            s['ms'], s['runq_ms'], s['bench_runq_ms'], s['prober_runq_ms'],
            s['cpu_ms'], s.get('gc_agent_ms', 0),
            s.get('gc_bench_ms', 0), s.get('snapshot_ms', 0),
            ' '.join('%s=%.1f' % (k.replace(' ', '_'), v)
                     for k, v in st.items() if v >= 1.0)))
