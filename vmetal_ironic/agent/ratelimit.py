"""Rate limits for what clients on the provisioning segment can trigger.

One mechanism for the whole agent (DHCP, TFTP, the HTTP proxy and the
callback listener).

Anything a client can make the agent do once per packet (a log line, a
NAK) is limited per source and per reason, so a flood costs the agent a
bounded amount of log and of traffic. What was suppressed is counted and
reported once the window of its key ends.

:class:`Limiter` is the mechanism (fixed windows per key, the key table
bounded so that random sources cannot make it grow); :class:`RateLimitedLog`
uses it for log lines. ``RateLimitedLog(burst, period).warning(msg, *args)``
keeps its original meaning: at most ``burst`` lines per ``period``.
"""

from __future__ import annotations

import time
import types
from typing import Any, Callable, Hashable

from oslo_log import log

LOG = log.getLogger(__name__)

# Keys beyond this share one window (a flood of random sources).
MAX_KEYS = 4096
OVERFLOW: tuple = ('*',)


class Limiter:
    """At most ``burst`` events per ``period`` seconds for each key.

    :param burst: events allowed per window and key.
    :param period: window length in seconds.
    :param max_keys: keys tracked at once; past it, new keys share one
        window.
    :param clock: monotonic time source (tests pass their own).
    """

    def __init__(self, burst: int = 10, period: float = 1.0,
                 max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.period = period
        self.max_keys = max_keys
        self.clock = clock
        # key -> [window start, events allowed, events suppressed]
        self._windows: dict[Hashable, list] = {}
        self.suppressed = 0

    def __len__(self) -> int:
        return len(self._windows)

    def allow(self, key: Hashable = None) -> tuple[bool, int]:
        """Count one event of ``key``.

        :returns: (allowed, suppressed): whether the event may happen, and
            how many events of this key were suppressed in the window that
            just ended (to report once; 0 otherwise).
        """
        now = self.clock()
        w = self._windows.get(key)
        if w is None:
            if len(self._windows) >= self.max_keys:
                self._expire(now)
                if len(self._windows) >= self.max_keys:
                    key = OVERFLOW
                    w = self._windows.get(key)
            if w is None:
                w = self._windows[key] = [now, 0, 0]
        reported = 0
        if now - w[0] >= self.period:
            reported = w[2]
            w[0], w[1], w[2] = now, 0, 0
        if w[1] < self.burst:
            w[1] += 1
            return True, reported
        w[2] += 1
        self.suppressed += 1
        return False, reported

    def _expire(self, now: float) -> None:
        """Forget the keys whose window ended (their counts are lost)."""
        old = [k for k, w in self._windows.items()
               if now - w[0] >= self.period]
        for k in old:
            dropped = self._windows.pop(k)[2]
            if dropped:
                LOG.warning('%d more messages like the above for %s were '
                            'not logged', dropped, k)


class RateLimitedLog:
    """Log at most ``burst`` messages per ``period`` seconds and key.

    ``logger``: a logger, or a function returning one (default: this
    module's). Without a ``key`` every message shares one window (the
    original behaviour). With one, e.g. ``key=(source, reason)``, each
    source and reason has its own window, within :data:`MAX_KEYS`.
    """

    def __init__(self, burst: int = 10, period: float = 1.0,
                 max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic,
                 logger: Any = None) -> None:
        self.limiter = Limiter(burst, period, max_keys, clock)
        self._logger = logger
        self.burst = burst
        self.period = period

    @property
    def log(self) -> Any:
        """The logger written to.

        ``logger``, or what it returns when it is a function (looked up at
        each line, so tests may patch a module's LOG).
        """
        if self._logger is None:
            return LOG
        if isinstance(self._logger, types.FunctionType):
            return self._logger()
        return self._logger

    @property
    def suppressed(self) -> int:
        """Messages not logged so far."""
        return self.limiter.suppressed

    def _log(self, level: str, msg: str, args: tuple[Any, ...],
             key: Hashable) -> bool:
        allowed, dropped = self.limiter.allow(key)
        emit = getattr(self.log, level)
        if dropped:
            emit('%d more messages like the above%s were not logged',
                 dropped, '' if key is None else ' for %s' % (key,))
        if allowed:
            emit(msg, *args)
        return allowed

    def warning(self, msg: str, *args: Any, key: Hashable = None) -> bool:
        """LOG.warning unless over the limit; returns whether logged."""
        return self._log('warning', msg, args, key)

    def info(self, msg: str, *args: Any, key: Hashable = None) -> bool:
        """LOG.info unless over the limit; returns whether logged."""
        return self._log('info', msg, args, key)


class SourceLog(RateLimitedLog):
    """A :class:`RateLimitedLog` keyed by (source, reason) in its calls.

    ``SourceLog(LOG).warning(client, 'refused', msg, *args)`` is
    ``RateLimitedLog(logger=LOG).warning(msg, *args, key=(client,
    'refused'))``: the spelling the HTTP proxy's call sites read best in.
    """

    def __init__(self, logger: Any, burst: int = 5, period: float = 10.0,
                 max_keys: int = MAX_KEYS) -> None:
        super().__init__(burst, period, max_keys, logger=logger)

    def at(self, level: str, source: str, reason: str, msg: str,
           *args: Any) -> bool:
        """Log ``msg % args`` at ``level`` unless over the key's limit.

        :returns: whether the line was written.
        """
        return self._log(level, msg, args, (source, reason))

    def warning(self, source: str, reason: str,  # type: ignore[override]
                msg: str, *args: Any) -> bool:
        """:meth:`at` WARNING."""
        return self.at('warning', source, reason, msg, *args)

    def info(self, source: str, reason: str,  # type: ignore[override]
             msg: str, *args: Any) -> bool:
        """:meth:`at` INFO."""
        return self.at('info', source, reason, msg, *args)
