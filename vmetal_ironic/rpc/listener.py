"""Receiving change notices: an oslo.messaging RPC server on the fanout topic.

Each agent runs its own server (``server`` unique per process), so every
agent gets every notice cast with ``fanout=True``. The endpoint checks the
payload (:meth:`~vmetal_ironic.rpc.notice.Notice.from_dict`) and hands a
valid notice to ``callback``; an invalid one is logged and dropped. The
oslo.messaging driver reconnects by itself after a broker outage; notices
sent meanwhile are lost, and the next one (or the periodic sync) catches
up by generation.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Callable

from oslo_log import log

from vmetal_ironic.rpc import notice as notice_mod
from vmetal_ironic.rpc import publisher
from vmetal_ironic.rpc import trace

LOG = log.getLogger(__name__)


class NoticeEndpoint:
    """The RPC endpoint: method :data:`~notice.METHOD`."""

    def __init__(self, callback: Callable[[notice_mod.Notice], None]
                 ) -> None:
        import oslo_messaging as messaging
        self.target = messaging.Target(version=notice_mod.NOTICE_VERSION)
        self.callback = callback
        self.received = 0
        self.invalid = 0

    def reservations_changed(self, ctxt: Any, notice: Any) -> None:
        try:
            parsed = notice_mod.Notice.from_dict(notice)
        except notice_mod.InvalidNotice as e:
            self.invalid += 1
            LOG.warning('%s: dropped', e)
            return
        trace.record('received', parsed.generation)
        self.received += 1
        LOG.debug('Change notice: generation %d, %d MACs',
                  parsed.generation, len(parsed.macs))
        self.callback(parsed)


def server_name() -> str:
    """A name unique to this process (its own fanout queue)."""
    return '%s.%d' % (socket.gethostname(), os.getpid())


class Listener:
    """Start/stop an RPC server that calls ``callback`` for each notice."""

    def __init__(self, conf: Any,
                 callback: Callable[[notice_mod.Notice], None]) -> None:
        self.conf = conf
        self.endpoint = NoticeEndpoint(callback)
        self._server: Any = None
        self._transport: Any = None

    def start(self) -> None:
        """Connect and listen (the driver retries a broker that is down)."""
        import oslo_messaging as messaging
        trace.watch_delivery()
        trace.watch_gc()
        self._transport = publisher.transport(self.conf)
        self._server = messaging.get_rpc_server(
            self._transport,
            publisher.target(self.conf, server=server_name()),
            [self.endpoint], executor='threading')
        self._server.start()

    def stop(self) -> None:
        """Stop listening and close the connection. Never raises."""
        try:
            if self._server is not None:
                self._server.stop()
                self._server.wait()
            if self._transport is not None:
                self._transport.cleanup()
        except Exception as e:
            LOG.warning('Stopping the change-notice listener: %s', e)
        self._server = self._transport = None
