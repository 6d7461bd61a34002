"""Log lines a client can trigger, limited per source and reason.

A hostile client may make the agent log as fast as it can send. Each
(source, reason) key may log ``burst`` lines per ``period`` seconds; what
is held back is counted and reported in one line when the key's next
period begins (or when it is evicted). At most ``max_keys`` keys are
tracked, the least recently used go first, so memory is bounded too.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any


class _Window:
    __slots__ = ('start', 'count', 'dropped')

    def __init__(self, start: float) -> None:
        self.start = start
        self.count = 0
        self.dropped = 0


class SourceLog:
    """A logger limited per (source, reason).

    :param logger: the logger to write to.
    :param burst: lines per key and period.
    :param period: seconds.
    :param max_keys: keys tracked at most.
    """

    def __init__(self, logger: Any, burst: int = 5, period: float = 10.0,
                 max_keys: int = 4096) -> None:
        self.logger = logger
        self.burst = burst
        self.period = period
        self.max_keys = max_keys
        self._keys: collections.OrderedDict[tuple[str, str], _Window] = \
            collections.OrderedDict()
        self._lock = threading.Lock()

    def log(self, level: str, source: str, reason: str, msg: str,
            *args: Any) -> bool:
        """Log ``msg % args`` at ``level`` unless over the key's limit.

        :param level: a logger method name ("warning", "info", ...).
        :param source: the client's address.
        :param reason: a short fixed string naming the kind of event.
        :returns: whether the line was written.
        """
        now = time.monotonic()
        evicted = []
        with self._lock:
            key = (source, reason)
            w = self._keys.get(key)
            if w is not None and now - w.start >= self.period:
                if w.dropped:
                    evicted.append((key, w.dropped))
                w = None
            if w is None:
                w = self._keys[key] = _Window(now)
                while len(self._keys) > self.max_keys:
                    old, ow = self._keys.popitem(last=False)
                    if ow.dropped:
                        evicted.append((old, ow.dropped))
            self._keys.move_to_end(key)
            allowed = w.count < self.burst
            if allowed:
                w.count += 1
            else:
                w.dropped += 1
        for (src, why), n in evicted:
            self.logger.warning('%s: %d more lines (%s) were not logged',
                                src, n, why)
        if allowed:
            getattr(self.logger, level)(msg, *args)
        return allowed

    def warning(self, source: str, reason: str, msg: str,
                *args: Any) -> bool:
        """:meth:`log` at WARNING."""
        return self.log('warning', source, reason, msg, *args)

    def info(self, source: str, reason: str, msg: str, *args: Any) -> bool:
        """:meth:`log` at INFO."""
        return self.log('info', source, reason, msg, *args)
