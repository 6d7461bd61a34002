"""The reconcile lease on real databases: concurrent takers, one winner."""

import threading

import pytest

from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.ipam import lease as lease_mod


def _contest(leases):
    """Every lease tries to take the term at once; the winners."""
    results = {}
    start = threading.Barrier(len(leases))

    def take(lease):
        start.wait()
        results[lease.holder] = lease.take(lease_mod.term(60, 0))

    threads = [threading.Thread(target=take, args=(lease,))
               for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == len(leases)
    return [h for h, won in results.items() if won]


@pytest.mark.parametrize('backend', ['postgresql', 'mysql'])
def test_one_winner_per_term(backend, tmp_path):
    """20 conductors (own connections) take the lease at once, twice."""
    with databases.temporary_database(backend, tmp_path) as url:
        setup = db_api.Database(url)
        migration.upgrade(setup.writer)
        setup.dispose()
        dbs = [db_api.Database(url) for _ in range(20)]
        try:
            leases = [lease_mod.Lease(d, lease_mod.RECONCILE, 'cond-%d' % i)
                      for i, d in enumerate(dbs)]
            [first] = _contest(leases)
            by_holder = {lease.holder: lease for lease in leases}
            assert by_holder[first].give_up()       # a clean stop
            [second] = _contest(leases)
            state = leases[0].state()
            assert (state['holder'], state['runs']) == (second, 2)
        finally:
            for d in dbs:
                d.dispose()
