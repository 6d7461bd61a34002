"""Deploy lifecycles on both conductors of the production layout.

Nodes are enrolled until Ironic's hash ring has mapped one to each
conductor; both go through provide (automated cleaning) -> deploy
(``direct``) -> undeploy -> delete at the same time. The network hooks run
in the conductor the node is mapped to (its log shows the release), the
API process releases the deleted node (notification driver), and the
notifications of both kinds of process reach RabbitMQ.
"""

import concurrent.futures

from vmetal_ironic.network import network_data

from tests.fixtures import ironic_helpers as helpers
from tests.fixtures import ironic_prod as prod_env

# What Ironic logs as errors about the fake IPA's heartbeats (it beats on
# with the previous boot's token, and after cleaning has ended).
FAKE_IPA_NOISE = ('Invalid or missing agent_token received for node',
                  'in unsupported provision state')


def _one_per_conductor(env):
    """Enroll nodes until each conductor has one; delete the others."""
    hosts = set(env.conductor_hosts())
    chosen, extra = {}, []
    for _ in range(30):
        node = env.create_node(deploy='direct')
        host = env.conductor_of(node['uuid'])
        assert host in hosts, (host, hosts)
        if host in chosen:
            extra.append(node)
        else:
            chosen[host] = node
        if len(chosen) == len(hosts):
            break
    for node in extra:
        env.delete(node['uuid'])
    assert set(chosen) == hosts, 'the hash ring used %s' % sorted(chosen)
    return chosen


def _lifecycle(env, node):
    uuid = node['uuid']
    env.provide(uuid)                       # automated cleaning
    assert env.ipam.get_allocations(uuid) == []
    deployed = helpers.deploy(env, node)
    assert deployed['provision_state'] == 'active', deployed['last_error']
    [alloc] = env.ipam.get_allocations(uuid)
    assert alloc.pool_name == 'compute'
    [net] = deployed['network_data']['networks']
    assert net['ip_address'] == alloc.address
    network_data.validate(deployed['network_data'])
    [res] = env.ipam.list_reservations(uuid)
    assert (res.mac, res.address) == (node['mac'], alloc.address)
    assert res.boot_profile.ipxe_script_url.endswith('/boot.ipxe')
    undeployed = helpers.undeploy(env, node)
    assert undeployed['provision_state'] == 'available', \
        undeployed['last_error']
    assert env.ipam.get_allocations(uuid) == []
    env.delete(uuid)
    helpers.wait_for(lambda: not helpers.node_allocations(env, uuid),
                     what='IPAM rows of deleted node %s gone' % uuid)
    assert env.ipam.list_reservations(uuid) == []
    return alloc.address


def test_lifecycle_on_both_conductors(ironic_prod):
    env = ironic_prod
    marks = env.marks()
    bus = prod_env.BusListener(env.transport_url, pool='lifecycle')
    bus.start()
    try:
        chosen = _one_per_conductor(env)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {host: pool.submit(_lifecycle, env, node)
                       for host, node in chosen.items()}
            addresses = {host: f.result() for host, f in futures.items()}
        helpers.wait_for(
            lambda: len({e[2]['uuid'] for e in bus.of_type(
                'baremetal.node.delete.end')} & {
                    n['uuid'] for n in chosen.values()}) == 2,
            timeout=30, what='node.delete.end of both nodes on the bus')
    finally:
        bus.stop()
    assert len(set(addresses.values())) == 2
    logs = env.logs(marks)
    for i, host in enumerate(env.conductor_hosts()):
        mine = chosen[host]['uuid']
        other = [n['uuid'] for h, n in chosen.items() if h != host][0]
        text = logs['conductor-%d' % i]
        # The tear-down release ran in the node's own conductor only.
        assert 'Node %s: released' % mine in text, text[-3000:]
        assert 'Node %s: released' % other not in text
    # The deleted nodes were forgotten by the API's notification driver.
    for node in chosen.values():
        assert 'node %s was deleted' % node['uuid'] in logs['api']
    # Conductors publish provision changes, the API node CRUD, on the bus.
    publishers = {e[1].split('.', 1)[0] for e in bus.events}
    assert {'ironic-api', 'ironic-conductor'} <= publishers, publishers
    assert bus.of_type('baremetal.node.provision_set.success')
    # The fake IPA is no real ramdisk: the API logs its early lookups as
    # errors, and a conductor the heartbeats it sends with the token of the
    # previous boot (a real IPA gets a new token each boot) or after the
    # ramdisk's phase ended. Those lines are the test harness's; anything
    # else fails the test.
    assert [line for line in env.errors(marks, env.conductor_names())
            if not any(noise in line for noise in FAKE_IPA_NOISE)] == []
