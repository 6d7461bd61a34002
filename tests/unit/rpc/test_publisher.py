"""The publisher: a no-op without a transport; never blocks the caller."""

import threading

from oslo_config import cfg
import pytest

from vmetal_ironic.conf import rpc as rpc_conf
from vmetal_ironic.rpc import notice
from vmetal_ironic.rpc import publisher


def make_conf(url=None, **overrides):
    c = cfg.ConfigOpts()
    rpc_conf.register_opts(c)
    c([], project='vmetal-test', default_config_files=[])
    if url:
        c.set_override('transport_url', url, group='vmetal_rpc')
    for k, v in overrides.items():
        c.set_override(k, v, group='vmetal_rpc')
    return c


class Client:
    """Records casts; ``gate`` holds them; ``fail`` makes them raise."""

    def __init__(self, fail=False):
        self.casts = []
        self.prepared = []
        self.fail = fail
        self.gate = threading.Event()
        self.gate.set()
        self.done = threading.Semaphore(0)

    def prepare(self, **kw):
        self.prepared.append(kw)
        return self

    def cast(self, ctxt, method, **kw):
        self.gate.wait(10)
        try:
            if self.fail:
                raise ConnectionError('broker down')
            self.casts.append((method, kw))
        finally:
            self.done.release()


def test_no_transport_is_a_no_op():
    pub = publisher.Publisher(make_conf())
    assert not pub.enabled
    pub.publish(notice.Notice(1, ('52:54:00:00:00:01',)))
    assert pub._thread is None and pub.sent == 0


def test_a_conf_without_the_group_is_a_no_op():
    c = cfg.ConfigOpts()
    c([], project='vmetal-test', default_config_files=[])
    assert not publisher.Publisher(c).enabled


def test_casts_fanout_without_retries():
    client = Client()
    pub = publisher.Publisher(make_conf(publish_timeout=0.5), client)
    pub.publish(notice.Notice(7, ('52:54:00:00:00:01',)))
    assert client.done.acquire(timeout=10)
    pub.close()
    assert client.prepared == [{'fanout': True, 'retry': 0,
                                'timeout': 0.5}]
    assert client.casts == [('reservations_changed', {'notice': {
        'version': '1.0', 'generation': 7,
        'macs': ['52:54:00:00:00:01']}})]
    assert pub.sent == 1 and pub.failed == 0


def test_publish_returns_while_the_broker_hangs_and_drops_the_oldest():
    client = Client()
    client.gate.clear()                    # the broker does not answer
    pub = publisher.Publisher(make_conf(queue_size=2), client)
    for g in range(1, 6):
        pub.publish(notice.Notice(g))      # returns at once
    assert pub.dropped >= 2
    client.gate.set()
    pub.close()
    sent = [c[1]['notice']['generation'] for c in client.casts]
    assert sent[-2:] == [4, 5] and len(sent) <= 3


def test_broker_down_is_logged_once_and_counted(caplog):
    client = Client(fail=True)
    pub = publisher.Publisher(make_conf(), client)
    for g in (1, 2, 3):
        pub.publish(notice.Notice(g))
    for _ in range(3):
        assert client.done.acquire(timeout=10)
    pub.close()
    assert pub.failed == 3 and pub.sent == 0
    warnings = [r for r in caplog.records
                if 'not published' in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize('value', [None, notice.Notice(1)])
def test_closed_publisher_sends_nothing(value):
    client = Client()
    pub = publisher.Publisher(make_conf(), client)
    pub.close()
    pub.publish(value)
    assert client.casts == []
