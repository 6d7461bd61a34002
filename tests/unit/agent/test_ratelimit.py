"""Client-triggered log lines, limited per source and reason."""

from unittest import mock

from vmetal_ironic.agent import ratelimit


def test_limited_per_source_and_reason_and_counted():
    log = mock.Mock(spec=['warning', 'info'])
    rl = ratelimit.SourceLog(log, burst=2, period=100.0)
    for _ in range(5):
        rl.warning('10.0.0.1', 'refused', 'x %s', 1)
    rl.warning('10.0.0.2', 'refused', 'y')      # another source
    rl.info('10.0.0.1', 'malformed', 'z')       # another reason
    assert log.warning.call_count == 3
    assert log.info.call_count == 1
    with mock.patch('time.monotonic', return_value=1e12):
        assert rl.warning('10.0.0.1', 'refused', 'x %s', 2)
    counted = [c for c in log.warning.call_args_list
               if 'were not logged' in c.args[0]]
    assert counted == [mock.call('%s: %d more lines (%s) were not logged',
                                 '10.0.0.1', 3, 'refused')]


def test_keys_are_bounded():
    log = mock.Mock(spec=['warning', 'info'])
    rl = ratelimit.SourceLog(log, burst=1, period=100.0, max_keys=3)
    for i in range(100):
        rl.warning('10.0.0.%d' % i, 'r', 'm')
        rl.warning('10.0.0.%d' % i, 'r', 'm')   # held back
    assert len(rl._keys) == 3
    # evicted keys report what they held back
    assert any('were not logged' in c.args[0]
               for c in log.warning.call_args_list)
