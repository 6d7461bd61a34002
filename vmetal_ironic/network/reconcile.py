"""Release the addresses of nodes that no longer exist in Ironic.

Run by the interface's conductor periodic (``[vmetal]reconcile_interval``).
A node is released only when Ironic confirms, after the listing, that it
is gone (``NodeNotFound``), so a node enrolled while the task runs is never
touched. The same run purges old reservation tombstones (deleted
reservations kept for the agents' incremental sync).
"""

from ironic.common import exception as ironic_exc
from ironic import objects
from oslo_log import log

from vmetal_ironic import exception

LOG = log.getLogger(__name__)


def _candidates(mgr, live):
    # Every allocation still tied to a node: active ones, the sticky claims
    # of released ones and pins; forget() drops all of them.
    nodes = {a.node_uuid for a in mgr.list_allocations() if a.node_uuid}
    nodes.update(r.node_uuid for r in mgr.list_reservations()
                 if r.node_uuid)
    return nodes - live


def run(context, mgr=None):
    """Forget the allocations/reservations of vanished nodes.

    :param context: an Ironic request context (admin).
    :param mgr: the IPAM manager (default: the process-wide one).
    :returns: the UUIDs of the nodes that were released.
    """
    if mgr is None:
        from vmetal_ironic.ipam import manager
        mgr = manager.get_manager()
    try:
        live = {n.uuid for n in objects.Node.list(context, fields=['uuid'])}
        gone = _candidates(mgr, live)
    except exception.VmetalError as e:
        LOG.warning('vmetal reconcile: cannot read the IPAM store: %s', e)
        return []
    released = []
    for node_uuid in sorted(gone):
        try:
            objects.Node.get_by_uuid(context, node_uuid)
            continue                    # enrolled meanwhile: not ours
        except ironic_exc.NodeNotFound:
            pass
        try:
            allocations = mgr.forget(node_uuid)
        except exception.VmetalError as e:
            LOG.warning('vmetal reconcile: cannot release deleted node '
                        '%(node)s: %(err)s', {'node': node_uuid, 'err': e})
            continue
        released.append(node_uuid)
        LOG.info('vmetal reconcile: node %(node)s no longer exists; '
                 'released %(addrs)s and its reservations',
                 {'node': node_uuid,
                  'addrs': [a.address for a in allocations]})
    try:
        purged = mgr.purge_tombstones()
        if purged:
            LOG.debug('vmetal reconcile: purged %d reservation tombstones',
                      purged)
    except exception.VmetalError as e:
        LOG.warning('vmetal reconcile: cannot purge tombstones: %s', e)
    return released
