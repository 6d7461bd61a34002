"""Client-triggered log lines, limited per source and reason."""

from unittest import mock

from vmetal_ironic.agent import ratelimit


def test_limited_per_source_and_reason_and_counted():
    log = mock.Mock(spec=['warning', 'info'])
    now = [0.0]
    rl = ratelimit.SourceLog(log, burst=2, period=100.0)
    rl.limiter.clock = lambda: now[0]
    for _ in range(5):
        rl.warning('10.0.0.1', 'refused', 'x %s', 1)
    rl.warning('10.0.0.2', 'refused', 'y')      # another source
    rl.info('10.0.0.1', 'malformed', 'z')       # another reason
    assert log.warning.call_count == 3
    assert log.info.call_count == 1
    assert rl.suppressed == 3
    now[0] = 1e6                                # the next window
    assert rl.warning('10.0.0.1', 'refused', 'x %s', 2)
    counted = [c for c in log.warning.call_args_list
               if 'were not logged' in c.args[0]]
    assert counted == [mock.call(
        '%d more messages like the above%s were not logged', 3,
        ' for %s' % (('10.0.0.1', 'refused'),))]


def test_keys_are_bounded():
    log = mock.Mock(spec=['warning', 'info'])
    rl = ratelimit.SourceLog(log, burst=1, period=100.0, max_keys=3)
    for i in range(100):
        rl.warning('10.0.0.%d' % i, 'r', 'm')
        rl.warning('10.0.0.%d' % i, 'r', 'm')   # held back
    # at most max_keys windows plus the one the overflow shares
    assert len(rl.limiter) <= 4
    assert rl.suppressed >= 100
