"""The reconcile runs once per interval across the two conductors.

Both conductors have the periodic (every ``INTERVAL`` s); only the holder
of the ``reconcile`` lease in the IPAM database does the work, which its
log shows as one "vmetal reconcile run by" line per run and the lease row
as ``runs``. When the holder is killed (SIGKILL, no clean stop), the other
conductor takes the lease over once its term (interval + grace) has run
out and releases what the dead one left behind.
"""

import re
import time

from vmetal_ironic.ipam import lease as lease_mod

from tests.fixtures import ironic_helpers as helpers
from tests.functional.network.production import conftest

RUN = re.compile(r'vmetal reconcile run by (\S+):')
STRAY = '00000000-0000-4000-8000-0000000c0ffe'


def _lease(env):
    return lease_mod.Lease(env.ipam.database, lease_mod.RECONCILE,
                           'test').state()


def _runs(env, marks):
    """{conductor process name: the holders named in its run lines}."""
    return {name: RUN.findall(text)
            for name, text in env.logs(marks).items() if name != 'api'}


def test_one_run_per_interval_then_takeover(ironic_prod, record_property):
    env = ironic_prod
    interval = conftest.INTERVAL
    before = _lease(env)
    marks = env.marks()
    window = 6 * interval
    time.sleep(window)
    after = _lease(env)
    runs = _runs(env, marks)
    holder = after['holder']
    # Every run of the window by one conductor; about one per interval
    # (each conductor's periodic fired about window / interval times, so
    # without the lease there would be twice as many).
    by = {name: lines for name, lines in runs.items() if lines}
    assert len(by) == 1, runs
    [(holder_proc, lines)] = by.items()
    assert set(lines) == {holder}
    counted = after['runs'] - before['runs']
    assert 2 <= counted <= window / interval + 1, (counted, runs)
    assert abs(len(lines) - counted) <= 1, (lines, counted)

    # The holder dies; a node the IPAM store knows but Ironic does not
    # waits for the reconcile.
    [dead] = [p for p in env.conductors if p.name == holder_proc]
    [other] = [p for p in env.conductors if p is not dead]
    marks = env.marks()
    dead.kill()
    t_kill = time.monotonic()
    last = _lease(env)                  # the dead holder's last term
    try:
        env.ipam.allocate(STRAY, pool='storage', scope='node')
        state = helpers.wait_for(
            lambda: (lambda s: s if s['holder'] != holder else None)(
                _lease(env)),
            timeout=60, interval=0.2, what='lease taken over')
        takeover = time.monotonic() - t_kill
        helpers.wait_for(lambda: not helpers.node_allocations(env, STRAY),
                         timeout=30, what='stray allocation released by the '
                                          'new holder')
        text = other.log(marks[other.name])
        assert 'vmetal reconcile: node %s no longer exists' % STRAY in text
        assert set(RUN.findall(text)) == {state['holder']}
        assert env.errors(marks, [other.name]) == []
        record_property('takeover_s', round(takeover, 1))
        print('reconcile lease: %d runs in %ds by %s; takeover %.1fs after '
              'SIGKILL (term %ds)' % (counted, window, holder, takeover,
                                      interval + conftest.GRACE))
        # Not before the dead holder's term was over.
        assert state['taken_at'] >= last['expires_at']
    finally:
        dead.start(env._environ())
        helpers.wait_for(
            lambda: len([c for c in env.api('GET', '/conductors')[
                'conductors'] if c['alive']]) == 2 and dead.running(),
            timeout=90, interval=1, what='killed conductor back')
