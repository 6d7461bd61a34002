"""The agent through outages of PostgreSQL and RabbitMQ, with real services.

Each test starts its OWN PostgreSQL (and RabbitMQ) instance
(:mod:`tests.functional.rpc.services`), stops and restarts that one by PID
and removes it afterwards; the machine's shared servers are never touched.
Waits have deadlines; no test asserts a duration.
"""

import os
import threading
import uuid

import pytest

from tests.fixtures import dhcp_bed as c
from tests.functional.agent.sources import outage_bed as ob
from tests.functional.rpc import services
from vmetal_ironic.agent.sources import snapshot

DEADLINE = 60


@pytest.fixture
def pg():
    c.require_root_and('runuser')
    if not os.path.exists(os.path.join(services.PG_BIN, 'initdb')):
        pytest.fail('PostgreSQL server binaries missing: %s'
                    % services.PG_BIN)
    server = services.PrivatePostgres()
    try:
        server.start()
        server.createdb('ipam')
        yield server
    finally:
        server.close()


@pytest.fixture
def rabbit():
    c.require_root_and('rabbitmq-server', 'socat', 'ss')
    server = services.PrivateRabbit()
    try:
        server.start()
        yield server
    finally:
        server.close()


def _reserve(mgr, macs):
    """One node per MAC; {mac: address}."""
    out = {}
    for i, mac in enumerate(macs):
        alloc, _ = mgr.allocate_and_reserve(str(uuid.uuid4()), {mac: None},
                                            hostname='n%d' % i)
        out[mac] = alloc.address
    return out


def test_killed_agent_restarts_from_the_snapshot_while_the_database_is_down(
        bed, pg):
    c.require_root_and('dhclient', 'udhcpc')
    url = pg.url('ipam')
    mgr = ob.ipam(bed.lab, url)
    state = ob.state_dir(bed.lab, 'state-kill9')
    want = _reserve(mgr, ob.macs(20, 0xc1))
    agent = ob.start(bed, url, state, 'agent-kill9',
                     wait_text='Loaded 20 reservations')
    try:
        assert ob.wait_for(lambda: ob.snapshot_generation(state), 10)
        ob.kill9(agent)
        mgr.close()
        pg.stop()
        agent = ob.start(bed, url, state, 'agent-kill9b',
                         wait_text='serving the 20 reservations of the '
                                   'snapshot')
        ns = bed.client('52:54:00:c1:ff:ff')
        assert ob.offers(bed, ns, list(want)) == want
        # Real clients: dhclient and udhcpc get their reservations.
        for mac, argv in (
                (list(want)[0], ['dhclient', '-4', '-1', '-v', '-sf',
                                 '/bin/true', '-lf',
                                 bed.lab.path('k9.leases'), '-pf',
                                 bed.lab.path('k9.pid'), 'eth0']),
                (list(want)[1], ['udhcpc', '-q', '-n', '-f', '-i', 'eth0',
                                 '-s', '/bin/true', '-t', '5', '-T', '1'])):
            cns = bed.client(mac)
            r = cns.run(*argv, timeout=40, check=False)
            out = (r.stdout or '') + (r.stderr or '')
            assert want[mac] in out, out
            if argv[0] == 'dhclient':
                cns.run('dhclient', '-x', '-pf', bed.lab.path('k9.pid'),
                        check=False)
        pg.start()
        assert agent.wait_log('IPAM database is back', timeout=DEADLINE), \
            agent.log()[-3000:]
        mgr = ob.ipam(bed.lab, url, name='pools2.conf')
        more = _reserve(mgr, ob.macs(2, 0xc2))
        assert ob.wait_served(bed, ns, dict(want, **more), DEADLINE) == \
            dict(want, **more)
    finally:
        agent.stop()
        mgr.close()


def test_database_restarted_under_load_loses_nothing(bed, pg):
    url = pg.url('ipam')
    mgr = ob.ipam(bed.lab, url)
    state = ob.state_dir(bed.lab, 'state-load')
    agent = ob.start(bed, url, state, 'agent-load',
                     wait_text='Loaded 0 reservations')
    committed = {}
    stop = threading.Event()
    errors = []

    def writer():
        # One reservation after the other; a write that fails (the
        # database is down) is retried until it commits.
        # Paced (20 a second), so that the outage falls among them
        # whatever a write costs.
        for mac in ob.macs(40, 0xc3):
            while not stop.is_set():
                try:
                    committed.update(_reserve(mgr, [mac]))
                    stop.wait(0.05)
                    break
                except Exception as e:        # StoreError while down
                    errors.append(e)
                    stop.wait(0.2)

    t = threading.Thread(target=writer)
    try:
        t.start()
        assert ob.wait_for(lambda: len(committed) >= 10, DEADLINE)
        pg.stop()
        # The outage falls in the middle of the writes. A write caught by
        # it either fails and is retried here (errors) or is retried by
        # the store's own retry on a lost connection until the database
        # is back: both must commit, once.
        at_stop = len(committed)
        assert at_stop < 40, 'the outage came after the last write'
        assert ob.wait_for(lambda: 'IPAM sync from generation'
                           in agent.log(), DEADLINE)
        pg.start()
        t.join(DEADLINE * 2)
        assert not t.is_alive() and len(committed) == 40
        assert agent.wait_log('IPAM database is back', timeout=DEADLINE)
        ns = bed.client('52:54:00:c3:ff:ff')
        assert ob.wait_served(bed, ns, committed, DEADLINE) == committed
    finally:
        stop.set()
        t.join(DEADLINE)
        agent.stop()
        mgr.close()


def test_changes_during_a_broker_outage_are_served_after_reconnect(
        bed, pg, rabbit):
    url = pg.url('ipam')
    mgr = ob.ipam(bed.lab, url, transport_url=rabbit.url)
    state = ob.state_dir(bed.lab, 'state-rmq')
    with services.bridge(bed.agent_ns, rabbit.port, bed.lab.tmpdir) as turl:
        # sync_interval far beyond the test: only notices make it sync.
        agent = ob.start(bed, url, state, 'agent-rmq', transport_url=turl,
                         sync_interval=3600,
                         wait_text='Listening for change notices')
        try:
            ns = bed.client('52:54:00:c4:ff:ff')
            first = _reserve(mgr, ob.macs(1, 0xc4))
            assert ob.wait_served(bed, ns, first, DEADLINE) == first
            rabbit.stop()
            during = _reserve(mgr, ob.macs(3, 0xc5))     # notices lost
            assert ob.offers(bed, ns, list(during)) == dict.fromkeys(during)
            rabbit.start()
            after = {}
            # The first notice after the reconnect carries a generation
            # beyond the agent's: it reads every change it missed.
            want = dict(first, **during)

            def caught_up():
                after.update(_reserve(mgr, ['52:54:00:c6:00:%02x'
                                            % len(after)]))
                want.update(after)
                return ob.offers(bed, ns, list(want)) == want
            assert ob.wait_for(caught_up, DEADLINE), agent.log()[-3000:]
            assert agent.proc.poll() is None
        finally:
            agent.stop()
            mgr.close()


@pytest.mark.parametrize('damage', ['truncated', 'altered'])
def test_corrupt_snapshot_is_logged_and_never_served(bed, pg, damage):
    url = pg.url('ipam')
    mgr = ob.ipam(bed.lab, url)
    state = ob.state_dir(bed.lab, 'state-' + damage)
    want = _reserve(mgr, ob.macs(3, 0xc7))
    # A snapshot that names other addresses than the database.
    wrong = {m: '172.22.0.%d' % (250 - i) for i, m in enumerate(want)}
    cs = mgr.changes_since(0)
    import dataclasses
    recs = [dataclasses.replace(r, address=wrong[r.mac])
            for r in cs.reservations]
    data = snapshot.encode(cs.generation, cs.pools, recs)
    if damage == 'truncated':
        data = data[:len(data) - 7]
    else:
        data = data.replace(b'"n1"', b'"n9"')        # checksum breaks
    path = os.path.join(state, snapshot.FILE_NAME)
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, 0o666)
    agent = ob.start(bed, url, state, 'agent-' + damage,
                     wait_text='Loaded 3 reservations')
    try:
        assert 'is not usable' in agent.log()
        assert ('truncated' if damage == 'truncated' else 'checksum') in \
            agent.log()
        ns = bed.client('52:54:00:c7:ff:ff')
        assert ob.offers(bed, ns, list(want)) == want
        assert ob.wait_for(lambda: ob.snapshot_generation(state)
                           == cs.generation, 10)
    finally:
        agent.stop()
        mgr.close()
