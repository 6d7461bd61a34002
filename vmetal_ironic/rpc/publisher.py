"""Publishing change notices after commit, off the request path.

:class:`Publisher` hands each notice to one background thread through a
bounded queue; the thread casts it with oslo.messaging to a fanout topic
(no retries: a lost notice is caught up by generation). An Ironic hook
only appends to the queue: it never waits for, nor fails because of, the
broker. Failures are logged once until the next success and counted.

Without ``[vmetal_rpc]transport_url`` the publisher is a no-op.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from oslo_config import cfg
from oslo_log import log

from vmetal_ironic.conf import rpc as rpc_conf
from vmetal_ironic.rpc import notice as notice_mod
from vmetal_ironic.rpc import trace

LOG = log.getLogger(__name__)


def target(conf: Any, fanout: bool = False, server: str | None = None
           ) -> Any:
    """The oslo.messaging Target of the notices."""
    import oslo_messaging as messaging
    return messaging.Target(topic=conf[rpc_conf.GROUP].topic,
                            version=notice_mod.NOTICE_VERSION,
                            fanout=fanout, server=server)


def transport(conf: Any) -> Any:
    """The RPC transport of ``[vmetal_rpc]transport_url``.

    oslo.messaging's own options (driver tuning, tracing, metrics) come
    from the global CONF, where oslo.messaging registers them: in Ironic
    and in the agent that is also where ``conf`` lives.
    """
    import oslo_messaging as messaging
    return messaging.get_rpc_transport(
        cfg.CONF, url=conf[rpc_conf.GROUP].transport_url)


class Publisher:
    """Sends notices in the background; see the module docstring.

    :param conf: ConfigOpts with ``[vmetal_rpc]`` registered.
    :param client: an RPC client with ``prepare()`` and ``cast()`` (tests);
        default: one on the configured transport, made on first use.
    """

    def __init__(self, conf: Any, client: Any = None) -> None:
        try:
            group = conf[rpc_conf.GROUP]
        except cfg.NoSuchOptError:      # a configuration without the group
            conf.register_opts(rpc_conf.opts, group=rpc_conf.GROUP)
            group = conf[rpc_conf.GROUP]
        self.enabled = bool(group.transport_url) or client is not None
        self.timeout = group.publish_timeout
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._conf = conf
        self._client = client
        self._queue: collections.deque = collections.deque(
            maxlen=group.queue_size)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._closed = False

    def publish(self, notice: notice_mod.Notice | None) -> None:
        """Queue ``notice`` for sending; returns at once."""
        if notice is None or not self.enabled or self._closed:
            return
        trace.record('commit', notice.generation)
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(notice)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name='vmetal-notice-publisher',
                    daemon=True)
                self._thread.start()
            self._cond.notify()
        trace.record('enqueued', notice.generation)

    def _cast(self, notice: notice_mod.Notice) -> None:
        if self._client is None:
            import oslo_messaging as messaging
            self._client = messaging.get_rpc_client(
                transport(self._conf), target(self._conf))
        cctxt = self._client.prepare(fanout=True, retry=0,
                                     timeout=self.timeout)
        cctxt.cast({}, notice_mod.METHOD, notice=notice.to_dict())

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                notice = self._queue.popleft()
            trace.record('cast_start', notice.generation)
            try:
                self._cast(notice)
            except Exception as e:
                self.failed += 1
                if not self._failing:
                    LOG.warning('Change notice of generation %(gen)d not '
                                'published (%(err)s); agents catch up by '
                                'their periodic sync. Logged once until '
                                'the broker is back.',
                                {'gen': notice.generation, 'err': e})
                    self._failing = True
                continue
            self.sent += 1
            trace.record('cast_done', notice.generation)
            if self._failing:
                LOG.info('Change notices are published again '
                         '(generation %d)', notice.generation)
                self._failing = False

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (up to ``timeout`` seconds), then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
