"""What the agent's pool gauges read: the feed's usage and failure counts.

Allocation failures are counted in ``vmetal_counters`` by the process
that allocates; the read-only feed (what the agent has) reads them and
the same per-pool usage as the manager, on every database backend.
"""

import pytest

from vmetal_ironic import exception
from vmetal_ironic.ipam import failures
from vmetal_ironic.ipam import feed as feed_mod
from vmetal_ironic.ipam import node as node_mod

POOLS = """
[vmetal_ipam]
pools = small, other
quarantine = 300

[vmetal_pool:small]
cidr = 192.168.100.1/24
ranges = 192.168.100.10-192.168.100.13
resource_classes = small

[vmetal_pool:other]
cidr = 192.168.200.1/24
ranges = 192.168.200.10-192.168.200.19
resource_classes = other
"""


@pytest.fixture
def feed(db_url):
    f = feed_mod.ReservationFeed(url=db_url)
    yield f
    f.close()


def test_failures_are_counted_by_reason_and_read_by_the_feed(
        make_manager, feed):
    mgr = make_manager(POOLS)
    assert feed.allocation_failures() == {'exhausted': 0, 'no_pool': 0}
    for i in range(4):
        mgr.allocate('node-%d' % i, resource_class='small')
    for _ in range(2):
        with pytest.raises(exception.PoolExhausted):
            mgr.allocate('late', resource_class='small')
    with pytest.raises(exception.NoPoolForNode):
        mgr.allocate('lost', resource_class='nothing-matches')
    facts = node_mod.NodeFacts(uuid='aaaaaaaa-0000-4000-8000-000000000001',
                               resource_class='small')
    with pytest.raises(exception.PoolExhausted):
        mgr.ensure_network(facts)
    assert feed.allocation_failures() == {'exhausted': 3, 'no_pool': 1}
    # a successful allocation counts nothing
    mgr.allocate('node-0', resource_class='small')
    assert feed.allocation_failures() == {'exhausted': 3, 'no_pool': 1}


def test_counting_never_hides_the_failure():
    class Broken:
        def write(self, fn):
            raise exception.StoreError(reason='down')

    failures.record(Broken(), failures.EXHAUSTED)     # logs, no raise
    with pytest.raises(exception.NoPoolForNode):
        with failures.counted(Broken()):
            raise exception.NoPoolForNode(node='n', reason='none')


def test_feed_usage_is_the_managers(make_manager, feed, clock):
    mgr = make_manager(POOLS)
    for i in range(3):
        mgr.allocate('node-%d' % i, resource_class='small')
    mgr.release('node-0')
    mgr.allocate('node-9', resource_class='other')
    want = {u.pool.name: u.to_dict() for u in mgr.usage()}
    got = {u.pool.name: u.to_dict() for u in
           feed.pool_usage(quarantine=300, now=clock())}
    assert got == want
    assert (got['small']['used'], got['small']['quarantined'],
            got['small']['free']) == (2, 1, 1)
    clock.advance(301)
    got = {u.pool.name: u for u in
           feed.pool_usage(quarantine=300, now=clock())}
    assert (got['small'].quarantined, got['small'].free) == (0, 2)
