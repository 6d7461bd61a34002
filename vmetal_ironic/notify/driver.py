"""oslo.messaging notification driver: release a node's addresses on delete.

Deleting a node in Ironic runs no driver code, so the network interface
never hears of it. Ironic emits the versioned notification
``baremetal.node.delete.end`` from its API process; with

    [oslo_messaging_notifications]
    driver = log
    driver = vmetal
    [DEFAULT]
    notification_level = info

this driver runs inside that process, sees the notification and releases
the node's allocations and reservations. It runs in Ironic's request path:
``notify`` only parses the message and queues the node UUID; a single
background worker does the release. Nothing it does ever raises into
Ironic. The interface's periodic reconcile is the safety net for what is
missed (a process that stops with work queued, notifications switched off).
"""

import queue
import threading

from oslo_log import log
from oslo_messaging.notify import notifier

from vmetal_ironic.conf import CONF

LOG = log.getLogger(__name__)

DELETE_END = 'baremetal.node.delete.end'


def node_uuid_of(message):
    """The node UUID of a ``baremetal.node.delete.end`` message, else None.

    Accepts the versioned payload (``ironic_object.data``) and a plain one.
    """
    if not isinstance(message, dict):
        return None
    if message.get('event_type') != DELETE_END:
        return None
    payload = message.get('payload')
    if not isinstance(payload, dict):
        return None
    data = payload.get('ironic_object.data', payload)
    if not isinstance(data, dict):
        return None
    uuid = data.get('uuid')
    return uuid if isinstance(uuid, str) and uuid else None


class Releaser(object):
    """A queue and one daemon thread that release deleted nodes."""

    def __init__(self, release):
        self._release = release
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def submit(self, node_uuid):
        """Queue a node for release; starts the worker on first use."""
        self._queue.put(node_uuid)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name='vmetal-release', daemon=True)
                self._thread.start()

    def _run(self):
        while True:
            node_uuid = self._queue.get()
            try:
                self._release(node_uuid)
            except Exception:
                LOG.exception('vmetal: releasing the addresses of deleted '
                              'node %s failed; the periodic reconcile will '
                              'retry', node_uuid)
            finally:
                self._queue.task_done()

    def join(self):
        """Wait until the queue is empty (tests)."""
        self._queue.join()


def release_node(node_uuid):
    """Release every allocation, claim, pin and reservation of a node.

    The manager's forget() never loads or records pools: this process
    (Ironic's API) only deletes what belonged to the node.
    """
    from vmetal_ironic.ipam import manager
    released = manager.get_manager().forget(node_uuid)
    LOG.info('vmetal: node %(node)s was deleted; released %(addrs)s and '
             'its reservations', {'node': node_uuid,
                                  'addrs': [a.address for a in released]})


class VmetalNotifyDriver(notifier.Driver):
    """Releases a node's addresses when Ironic deletes the node."""

    def __init__(self, conf, topics, transport):
        super().__init__(conf, topics, transport)
        self.releaser = Releaser(release_node)

    def _enabled(self):
        # vmetal_ironic.conf registered [vmetal] on the global CONF, the
        # one Ironic hands its notifier.
        return CONF.vmetal.release_on_delete_notification

    def notify(self, ctxt, message, priority, retry):
        """Queue the release of a deleted node; never raises.

        :param ctxt: the request context (unused).
        :param message: the notification (a dict with ``event_type`` and
            ``payload``).
        :param priority: the priority (unused).
        :param retry: retry settings (unused).
        """
        try:
            node_uuid = node_uuid_of(message)
            if node_uuid and self._enabled():
                LOG.debug('vmetal: node %s deleted, release queued',
                          node_uuid)
                self.releaser.submit(node_uuid)
        except Exception:
            LOG.exception('vmetal notify driver: ignoring a notification '
                          'it could not handle')
