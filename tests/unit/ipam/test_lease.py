"""The lease: one holder per term, renewal, takeover after expiry."""

import datetime
import threading

from vmetal_ironic.db import api as db_api
from vmetal_ironic.ipam import lease as lease_mod

T0 = datetime.datetime(2026, 12, 1, 12, 0, 0)
TERM = lease_mod.term(10, 5)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


def _leases(url, clock, *holders, name=lease_mod.RECONCILE):
    database = db_api.Database(url)
    return database, [lease_mod.Lease(database, name, h, clock=clock)
                      for h in holders]


def test_term():
    assert lease_mod.term(600, 60) == datetime.timedelta(seconds=660)
    assert lease_mod.term(-1, -1) == datetime.timedelta(0)


def test_one_holder_per_term_and_renewal(sqlite_url):
    clock = Clock()
    database, (a, b) = _leases(sqlite_url, clock, 'cond-a', 'cond-b')
    try:
        assert a.take(TERM)
        assert not b.take(TERM)
        clock.advance(10)               # a's next interval: a renews
        assert a.take(TERM)
        clock.advance(14)               # within a's renewed term
        assert not b.take(TERM)
        state = a.state()
        assert state['holder'] == 'cond-a'
        assert state['runs'] == 2
        assert state['taken_at'] == T0          # kept on renewal
        assert state['expires_at'] == T0 + datetime.timedelta(seconds=25)
    finally:
        database.dispose()


def test_takeover_after_expiry(sqlite_url):
    clock = Clock()
    database, (a, b) = _leases(sqlite_url, clock, 'cond-a', 'cond-b')
    try:
        assert a.take(TERM)
        clock.advance(15)               # a died: its term ran out
        assert b.take(TERM)
        assert not a.take(TERM)         # a came back: b holds it now
        state = b.state()
        assert (state['holder'], state['runs'], state['taken_at']) == \
            ('cond-b', 2, T0 + datetime.timedelta(seconds=15))
    finally:
        database.dispose()


def test_finish_extends_and_records(sqlite_url):
    clock = Clock()
    database, (a, b) = _leases(sqlite_url, clock, 'cond-a', 'cond-b')
    try:
        assert a.take(TERM)
        clock.advance(12)               # a long run
        assert a.finish(TERM, released=7)
        clock.advance(5)                # past the first term, not the new
        assert not b.take(TERM)
        state = a.state()
        assert state['finished_at'] == T0 + datetime.timedelta(seconds=12)
        assert state['last_released'] == 7
        assert not b.finish(TERM, released=1)   # not b's to record
        assert a.state()['last_released'] == 7
    finally:
        database.dispose()


def test_give_up(sqlite_url):
    clock = Clock()
    database, (a, b) = _leases(sqlite_url, clock, 'cond-a', 'cond-b')
    try:
        assert a.take(TERM)
        assert not b.give_up()
        assert a.give_up()
        assert b.take(TERM)
    finally:
        database.dispose()


def test_a_lease_the_migration_did_not_create(sqlite_url):
    clock = Clock()
    database, (a, b) = _leases(sqlite_url, clock, 'cond-a', 'cond-b',
                               name='other-job')
    try:
        assert a.state() is None
        assert a.take(TERM)
        assert not b.take(TERM)
        assert a.state()['runs'] == 1
    finally:
        database.dispose()


def test_concurrent_takers_one_winner(sqlite_url):
    """20 threads, each its own holder and connection: one wins."""
    clock = Clock()
    holders = ['cond-%d' % i for i in range(20)]
    database, leases = _leases(sqlite_url, clock, *holders)
    results = {}
    start = threading.Barrier(len(leases))

    def take(lease):
        start.wait()
        results[lease.holder] = lease.take(TERM)

    threads = [threading.Thread(target=take, args=(lease,))
               for lease in leases]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = [h for h, won in results.items() if won]
        assert len(results) == 20
        assert len(winners) == 1
        assert leases[0].state()['holder'] == winners[0]
    finally:
        database.dispose()


def test_extend_only_by_the_holder(sqlite_url):
    clock = Clock()
    database, (a, b) = _leases(sqlite_url, clock, 'cond-a', 'cond-b')
    try:
        assert a.take(TERM)
        clock.advance(10)
        assert a.extend(TERM)
        assert not b.extend(TERM)
        assert a.state()['expires_at'] == clock.now + TERM
        assert a.state()['runs'] == 1           # not a new term
    finally:
        database.dispose()
