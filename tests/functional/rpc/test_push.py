"""Notices from real IPAM writes (PostgreSQL) through a real RabbitMQ.

Non-destructive on the machine's shared servers: a database and a topic
of the test's own (the topic's queues are auto-deleted). A broker that
does not answer (a closed port) neither fails nor holds up a write.
"""

import contextlib
import socket
import threading
import uuid

import pytest

from tests import confutils
from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.ipam import manager
from vmetal_ironic.rpc import listener

SHARED = 'rabbit://guest:guest@127.0.0.1:5672/'
MAC1 = '52:54:00:dd:00:01'
MAC2 = '52:54:00:dd:00:02'

TEXT = '''
[vmetal_rpc]
transport_url = %(url)s
topic = %(topic)s
[vmetal_ipam]
pools = prov
default_pool = prov
[vmetal_pool:prov]
cidr = 172.22.0.1/24
ranges = 172.22.0.100-172.22.0.120
'''


@pytest.fixture
def make(tmp_path):
    made = []

    def _make(url):
        topic = 'vmetal_test_%s' % uuid.uuid4().hex
        conf = confutils.conf_from_text(TEXT % {'url': url, 'topic': topic},
                                        tmp_path)
        mgr = manager.IPAMManager(conf, database=db_api.Database(db))
        mgr.sync_pools()
        made.append(mgr)
        return mgr, conf

    with databases.temporary_database('postgresql', tmp_path) as db:
        migration.upgrade(db_api.Database(db).writer)
        yield _make
        for mgr in made:
            mgr.close()


@contextlib.contextmanager
def listening(conf):
    got = []
    cond = threading.Condition()

    def _cb(notice):
        with cond:
            got.append(notice)
            cond.notify_all()
    lst = listener.Listener(conf, _cb)
    lst.start()
    try:
        yield got, cond
    finally:
        lst.stop()


def _wait(cond, pred, timeout=30):
    with cond:
        return cond.wait_for(pred, timeout)


def _closed_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_each_committed_change_is_announced_with_its_generation(make):
    try:
        socket.create_connection(('127.0.0.1', 5672), 2).close()
    except OSError:
        pytest.fail('RabbitMQ is not running on 127.0.0.1:5672 '
                    '(tools/ensure-services.sh starts it)')
    mgr, conf = make(SHARED)
    node = str(uuid.uuid4())
    with listening(conf) as (got, cond):
        # The server's queue exists once a first notice arrives: retry
        # the first change until it is heard (a notice is only a hint).
        mgr.allocate_and_reserve(node, {MAC1: None}, hostname='n1')
        gen1 = mgr.changes_since(0).generation
        assert _wait(cond, lambda: got) or _retry_until_heard(
            mgr, node, got, cond)
        assert got[-1].generation >= gen1
        n = len(got)
        mgr.set_boot_profile(node, {'bootfile': 'x.efi'})
        mgr.upsert_reservation(MAC2, node)
        mgr.delete_reservations(mac=MAC1)
        cs = mgr.changes_since(gen1)
        assert _wait(cond, lambda: len(got) >= n + 3)
    notices = got[n:]
    gens = [x.generation for x in notices]
    assert gens == sorted(gens) and gens[-1] == cs.generation
    assert notices[0].macs == (MAC1,)              # the profile change
    assert notices[1].macs == (MAC2,)
    assert notices[2].macs == (MAC1,)              # the deletion
    assert mgr._publisher.failed == 0


def _retry_until_heard(mgr, node, got, cond):
    for i in range(10):
        mgr.set_boot_profile(node, {'bootfile': 'retry%d.efi' % i})
        if _wait(cond, lambda: got, 2):
            return True
    return False


def test_unchanged_writes_announce_nothing(make):
    mgr, conf = make(SHARED)
    node = str(uuid.uuid4())
    mgr.allocate_and_reserve(node, {MAC1: None})
    mgr.close()                        # sends what is queued
    sent = 0 if mgr._publisher is None else mgr._publisher.sent
    mgr.set_boot_profile(node, None)   # unchanged: no write at all
    assert mgr._publisher is None or mgr._publisher.sent == sent


def test_a_dead_broker_never_fails_or_holds_up_a_write(make, caplog):
    mgr, conf = make('rabbit://guest:guest@127.0.0.1:%d/' % _closed_port())
    nodes = [str(uuid.uuid4()) for _ in range(3)]
    for i, node in enumerate(nodes):
        mgr.allocate_and_reserve(node, {'52:54:00:dd:01:%02x' % i: None})
    assert len(mgr.list_reservations()) == 3      # every write committed
    pub = mgr._publisher
    pub.close(timeout=60)
    # sync_pools wrote too: 4 notices, none sent, none blocking.
    assert pub.sent == 0 and pub.failed + pub.dropped == 4
    assert len([r for r in caplog.records
                if 'not published' in r.getMessage()]) == 1


def test_traced_stages_of_a_notice_through_rabbitmq(make, tmp_path,
                                                    monkeypatch):
    # What benchmarks/push_latency.py reads: every stage of one change,
    # the driver's delivery included (a wrapper around a class of the
    # installed oslo.messaging: this says it still fits).
    from vmetal_ironic.rpc import trace
    monkeypatch.setattr(trace, '_path', str(tmp_path / 'trace.txt'))
    monkeypatch.setattr(trace, '_records', [])
    monkeypatch.setattr(trace, '_started', True)    # flushed by the test
    import gc
    mgr, conf = make(SHARED)
    node = str(uuid.uuid4())
    try:
        with listening(conf) as (got, cond):
            mgr.allocate_and_reserve(node, {MAC1: None})
            assert _wait(cond, lambda: got) or _retry_until_heard(
                mgr, node, got, cond)
            gen = got[-1].generation
    finally:
        if trace._on_gc in gc.callbacks:
            gc.callbacks.remove(trace._on_gc)
    seen = {}
    for stage, g, ns, _extra in trace.records():
        if g == gen and stage != 'gc':      # a gc record names its level
            seen.setdefault(stage, ns)
    # the publisher's own thread may record cast_done after the
    # listener's threads got the message: two chains from cast_start
    assert set(seen) == {'commit', 'enqueued', 'cast_start', 'cast_done',
                         'delivered', 'received'}
    assert seen['commit'] <= seen['enqueued'] <= seen['cast_start']
    assert seen['cast_start'] <= seen['cast_done']
    assert seen['cast_start'] <= seen['delivered'] <= seen['received']
