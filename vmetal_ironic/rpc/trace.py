"""Stage timestamps of the push path (for ``benchmarks/push_latency.py``).

Off, and free, unless the environment variable :data:`ENV` names a file:
then every :func:`record` keeps ``(stage, generation, CLOCK_MONOTONIC ns,
extra)`` in memory and a daemon thread appends them to that file as text
lines ``stage generation ns extra`` every :data:`FLUSH_INTERVAL` seconds
(and at exit). Recording never does I/O on the traced path, so it does not
add the wake-ups it is meant to measure. :func:`watch_gc` also records
every garbage collection pause longer than :data:`GC_MIN_NS` (``gc``
stage, the generation collected, its start, its duration in ``extra``).

All processes on one machine share CLOCK_MONOTONIC, so the benchmark
merges the files of the Ironic side and the agents by generation.
"""

from __future__ import annotations

import atexit
import gc
import os
import threading
import time
from typing import Any

#: The environment variable naming the trace file.
ENV = 'VMETAL_PUSH_TRACE'
#: Seconds between two appends to the file.
FLUSH_INTERVAL = 0.5
#: GC pauses shorter than this (ns) are not recorded.
GC_MIN_NS = 200_000

_records: list[tuple[str, int, int, int]] = []
_path: str | None = os.environ.get(ENV) or None
_started = False
_lock = threading.Lock()
_gc_start = [0]


def enabled() -> bool:
    """Whether tracing is on (:data:`ENV` is set)."""
    return _path is not None


def record(stage: str, generation: int, extra: int = 0) -> None:
    """Keep one timestamp of ``stage`` for ``generation``; no I/O."""
    if _path is None:
        return
    _records.append((stage, int(generation), time.monotonic_ns(),
                     int(extra)))
    if not _started:
        _start()


def records() -> list[tuple[str, int, int, int]]:
    """What this process recorded and has not flushed yet."""
    return list(_records)


def flush() -> None:
    """Append what was recorded to the file; never raises."""
    if _path is None:
        return
    with _lock:
        n = len(_records)
        if not n:
            return
        batch = _records[:n]
        del _records[:n]
        try:
            with open(_path, 'a') as f:
                f.writelines('%s %d %d %d\n' % r for r in batch)
        except OSError:
            pass


def _flush_loop() -> None:
    while True:
        time.sleep(FLUSH_INTERVAL)
        flush()


def _start() -> None:
    global _started
    with _lock:
        if _started:
            return
        _started = True
    atexit.register(flush)
    threading.Thread(target=_flush_loop, name='vmetal-push-trace',
                     daemon=True).start()


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if _path is None:
        return
    now = time.monotonic_ns()
    if phase == 'start':
        _gc_start[0] = now
    elif _gc_start[0] and now - _gc_start[0] >= GC_MIN_NS:
        _records.append(('gc', info.get('generation', -1), _gc_start[0],
                         now - _gc_start[0]))


def watch_gc() -> None:
    """Record the garbage collector's long pauses (when tracing)."""
    if _path is not None and _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
        if not _started:
            _start()


def watch_delivery() -> None:
    """Record when the rabbit driver hands a notice to the listener.

    Wraps oslo.messaging's AMQP listener callback, which the driver's poll
    thread calls as soon as a message is read from the socket (before the
    RPC server's executor runs the endpoint). Only when tracing; a driver
    without that class is left alone.
    """
    if _path is None:
        return
    try:
        from oslo_messaging._drivers import amqpdriver
    except ImportError:
        return
    cls: Any = amqpdriver.AMQPListener
    if getattr(cls, '_vmetal_traced', False):
        return
    original = cls.__call__

    def __call__(self: Any, message: Any) -> Any:
        try:
            gen = int(message['args']['notice']['generation'])
        except Exception:
            gen = -1
        record('delivered', gen)
        return original(self, message)

    cls.__call__ = __call__
    cls._vmetal_traced = True
