"""Release the addresses of nodes that no longer exist in Ironic.

Run by the interface's conductor periodic (``[vmetal]reconcile_interval``).
Every conductor has the periodic, but the work is done once per interval
for the whole cluster: the run first takes the ``reconcile`` lease in the
IPAM database (:mod:`vmetal_ironic.ipam.lease`); the conductors that do not
hold it return after that one UPDATE.

A run is cheap whatever the number of nodes: it pages through the node
UUIDs the IPAM store knows (an index-only query per page) and asks Ironic
which of each page still exist (one indexed ``uuid IN (...)`` query); it
never lists all of Ironic's nodes nor reads every allocation. The IPAM page
is read *before* Ironic is asked, and a node's addresses are written only
by hooks of a node that exists, so a node Ironic does not know at that
moment is gone for good (UUIDs are never reused) and a node enrolled while
the task runs is never touched. The same run purges old reservation
tombstones (deleted reservations kept for the agents' incremental sync).
"""

from ironic.common import metrics_utils
# Registers Ironic's options ([metrics] among them), as in every module of
# Ironic that has a metrics logger.
from ironic import conf as ironic_conf  # noqa: F401
from ironic import objects
from oslo_log import log

from vmetal_ironic.conf import CONF
from vmetal_ironic import exception
from vmetal_ironic.ipam import lease as lease_mod
from vmetal_ironic.ipam import sql_nodes

LOG = log.getLogger(__name__)
METRICS = metrics_utils.get_metrics_logger(__name__)

#: At most this many node UUIDs in the summary line of a run.
LOGGED_NODES = 100


def _gone(context, mgr, page_size):
    """(how many nodes the IPAM store knows, those Ironic does not)."""
    after, checked, gone = '', 0, []
    while True:
        page = mgr.database.read(
            lambda session: sql_nodes.known_nodes(session, after, page_size))
        checked += len(page)
        if page:
            live = {n.uuid for n in objects.Node.list(
                context, filters={'uuid_in': page}, fields=['uuid'])}
            gone.extend(u for u in page if u not in live)
        if len(page) < page_size:
            return checked, gone
        after = page[-1]


class _Term:
    """This run's hold on the lease: taken, kept alive, finished.

    A run that takes long (a burst of deletions to forget) extends its term
    every third of it, so no other conductor takes over while it works; a
    run that finds the lease taken over stops (the other conductor goes on).
    """

    def __init__(self, mgr, holder, duration):
        self.lease = lease_mod.Lease(mgr.database, lease_mod.RECONCILE,
                                     holder, clock=mgr.clock)
        self.duration = duration
        self.clock = mgr.clock
        self._extended = None

    def take(self):
        if not self.lease.take(self.duration):
            LOG.debug('vmetal reconcile: another conductor holds the '
                      'lease; %s skips this interval', self.lease.holder)
            return False
        self._extended = self.clock()
        return True

    def keep(self):
        """False when the lease was lost (the run must stop)."""
        if self.clock() - self._extended < self.duration / 3:
            return True
        self._extended = self.clock()
        if self.lease.extend(self.duration):
            return True
        LOG.warning('vmetal reconcile: %s lost the lease during its run; '
                    'it stops, the new holder goes on', self.lease.holder)
        return False

    def finish(self, released):
        if not self.lease.finish(self.duration, released):
            LOG.warning('vmetal reconcile: %s lost the lease during its run',
                        self.lease.holder)


class _Always:
    """No lease (``reconcile_lease = False``): every conductor runs."""

    def keep(self):
        return True

    def finish(self, released):
        pass


def _release(context, mgr, page_size, term):
    checked, gone = _gone(context, mgr, page_size)
    released = []
    for node_uuid in gone:
        if not term.keep():
            break
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
    return checked, released


def run(context, mgr=None, holder=None):
    """Forget the allocations/reservations of vanished nodes.

    :param context: an Ironic request context (admin).
    :param mgr: the IPAM manager (default: the process-wide one).
    :param holder: the name this conductor takes the lease under
        (default ``[DEFAULT]host``).
    :returns: the UUIDs of the nodes that were released (an empty list
        when another conductor holds the lease).
    """
    if mgr is None:
        from vmetal_ironic.ipam import manager
        mgr = manager.get_manager()
    conf = CONF.vmetal
    holder = holder or CONF.host
    duration = lease_mod.term(conf.reconcile_interval,
                              conf.reconcile_lease_grace)
    try:
        if conf.reconcile_lease:
            term = _Term(mgr, holder, duration)
            if not term.take():
                return []
        else:
            term = _Always()
        checked, released = _release(context, mgr, conf.reconcile_page_size,
                                     term)
    except exception.VmetalError as e:
        LOG.warning('vmetal reconcile: cannot read the IPAM store: %s', e)
        return []
    try:
        purged = mgr.purge_tombstones()
        if purged:
            LOG.debug('vmetal reconcile: purged %d reservation tombstones',
                      purged)
    except exception.VmetalError as e:
        LOG.warning('vmetal reconcile: cannot purge tombstones: %s', e)
    _report(holder, checked, released)
    try:
        term.finish(len(released))
    except exception.VmetalError as e:
        LOG.warning('vmetal reconcile: cannot record the run: %s', e)
    return released


def _report(holder, checked, released):
    """One INFO line per run: what was checked, the count and the nodes."""
    METRICS.send_counter('reconcile.runs', 1)
    METRICS.send_counter('reconcile.released_nodes', len(released))
    shown = released[:LOGGED_NODES]
    LOG.info('vmetal reconcile run by %(holder)s: %(checked)d node(s) known '
             'to the IPAM store, released %(count)d deleted node(s)%(nodes)s'
             '%(more)s',
             {'holder': holder, 'checked': checked, 'count': len(released),
              'nodes': (': ' + ', '.join(shown)) if shown else '',
              'more': (' and %d more' % (len(released) - len(shown))
                       if len(released) > len(shown) else '')})
