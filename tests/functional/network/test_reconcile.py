"""With notifications off, the conductor periodic releases deleted nodes."""

import pytest

from tests.fixtures import ironic as ironic_env
from tests.fixtures import ironic_helpers as helpers


@pytest.fixture(scope='module')
def quiet_ironic():
    """A second Ironic: no vmetal notification driver, reconcile every 2s."""
    ironic_env.check_available()
    env = ironic_env.IronicEnv(notifications=False, reconcile_interval=2)
    try:
        env.start()
        yield env
    finally:
        env.stop()


def test_periodic_releases_maintenance_delete(quiet_ironic):
    env = quiet_ironic
    since = env.mark()
    node = helpers.quick_node(env, driver_info={
        'vmetal_allocation_scope': 'node'})
    assert helpers.deploy(env, node)['provision_state'] == 'active'
    [alloc] = env.ipam.get_allocations(node['uuid'])
    assert env.ipam.list_reservations(node['uuid'])
    # A node the IPAM store knows but Ironic never had is forgotten too;
    # a live node is never touched.
    env.ipam.allocate('00000000-0000-4000-8000-00000000beef',
                      pool='storage')
    other = helpers.quick_node(env, driver_info={
        'vmetal_allocation_scope': 'node'})
    assert helpers.deploy(env, other)['provision_state'] == 'active'

    helpers.forget(env, node)                   # active, in maintenance
    helpers.wait_for(
        lambda: not helpers.node_allocations(env, node['uuid']),
        timeout=30, what='periodic reconcile released %s' % node['uuid'])
    assert env.ipam.list_reservations(node['uuid']) == []
    helpers.wait_for(
        lambda: not helpers.node_allocations(
            env, '00000000-0000-4000-8000-00000000beef'),
        timeout=30, what='stray allocation forgotten')
    assert env.ipam.get_allocations(other['uuid'])
    assert alloc.address not in [a.address for a in
                                 env.ipam.get_allocations(other['uuid'])]
    assert env.wait_log('vmetal reconcile', since=since), env.tail_log()
