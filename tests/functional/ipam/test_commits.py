"""Commits of the hooks' node operations, on every backend.

What the Ironic hooks of one deploy and tear down ask of the IPAM store
(doc/performance.md): at most one commit per operation, none when
everything is already in place (``update_dhcp_opts`` comes at every
ramdisk boot with the same options), also for a process that has no
hints, and no connection ping before each transaction.
"""

from unittest import mock

from sqlalchemy import event

from tests.fixtures import ipam as ipam_fixtures
from vmetal_ironic import boot_profile
from vmetal_ironic.ipam import node
from vmetal_ironic.ipam.scope import Scope

NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
FACTS = node.NodeFacts(uuid=NODE, name='node-1',
                       ports=(node.PxePort('52:54:00:aa:00:01'),
                              node.PxePort('52:54:00:aa:00:02')))
PROFILE = boot_profile.BootProfile(bootfile='snponly.efi',
                                   tftp_server='10.0.0.2')


def _commits(mgr):
    counted = []
    database = mgr.database
    for engine in {id(e): e for e in (database.writer,
                                      database.reader)}.values():
        event.listen(engine, 'commit', lambda conn: counted.append(1))
    return counted


def test_deploy_and_tear_down_commits(make_manager):
    mgr = make_manager(ipam_fixtures.POOLS)
    commits = _commits(mgr)
    dialect = mgr.database.writer.dialect
    steps = [  # (hook, what it asks, commits)
        ('add_provisioning_network', lambda: mgr.ensure_network(FACTS), 1),
        ('update_dhcp_opts', lambda: mgr.set_boot_profile(NODE, PROFILE),
         1),
        ('update_dhcp_opts again',
         lambda: mgr.set_boot_profile(NODE, PROFILE), 0),
        ('configure_tenant_networks', lambda: mgr.ensure_network(FACTS), 0),
        ('clean_dhcp_opts', lambda: mgr.set_boot_profile(NODE, None), 1),
        ('unconfigure_tenant_networks',
         lambda: mgr.release(NODE, Scope.DEPLOYMENT), 1),
        ('remove_provisioning_network',
         lambda: mgr.release(NODE, Scope.DEPLOYMENT), 0),
    ]
    with mock.patch.object(dialect, 'do_ping', autospec=True,
                           side_effect=dialect.do_ping) as ping:
        for hook, step, expected in steps:
            before = len(commits)
            step()
            assert len(commits) - before == expected, hook
    assert ping.call_count == 0
    assert mgr.get_allocations(NODE) == []
    assert mgr.list_reservations(NODE) == []


def test_no_hints_no_commit_when_in_place(make_manager):
    one = make_manager(ipam_fixtures.POOLS)
    first = one.ensure_network(FACTS)
    one.set_boot_profile(NODE, PROFILE)
    fresh = make_manager(ipam_fixtures.POOLS, name='fresh.conf', sync=False)
    commits = _commits(fresh)
    again = fresh.ensure_network(FACTS)
    assert not again.written and again.allocation == first.allocation
    reservations = fresh.set_boot_profile(NODE, PROFILE)
    assert [r.boot_profile for r in reservations] == [PROFILE, PROFILE]
    assert fresh.release(NODE, Scope.CLEANING) == []
    assert commits == []
    [released] = fresh.release(NODE, Scope.DEPLOYMENT)
    assert released.address == first.allocation.address
    assert commits == [1]


def test_allocation_reads_its_pool_once(make_manager):
    """The reservations of a new allocation point at the pool it read.

    ``add_provisioning_network``'s write: the pool is read once, with the
    node's row in it (``sql_allocations.placed``), and the reservations
    that follow do not read the pool and the address again.
    """
    mgr = make_manager(ipam_fixtures.POOLS)
    statements = []
    engine = mgr.database.writer
    event.listen(engine, 'before_cursor_execute',
                 lambda conn, cursor, statement, *args:
                 statements.append(' '.join(statement.split())))
    network = mgr.ensure_network(FACTS)
    pool_reads = [s for s in statements if s.startswith('SELECT')
                  and 'WHERE vmetal_pools.name = ' in s]
    assert len(pool_reads) == 1, pool_reads
    assert [(r.mac, r.address, r.pool) for r in network.reservations] == [
        (port.mac, network.allocation.address, network.allocation.pool_name)
        for port in FACTS.ports]
    allocations, live = mgr.node_state(NODE)
    assert [(r.mac, r.address, r.pool) for r in live] == [
        (r.mac, r.address, r.pool) for r in network.reservations]
