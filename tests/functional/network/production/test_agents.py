"""The production layout deploys across the segments through two agents.

The bed (:mod:`tests.fixtures.prod_aa_bed`): ironic-api and two JSON-RPC
conductors in the cluster namespace (Ironic's and the IPAM database on
PostgreSQL, notifications and change notices on RabbitMQ), two
active-active agents with keepalived moving the provisioning VIP
(``[deploy]http_url``) and the callback VIP, a stand-in server
(:mod:`tests.fixtures.server`) on the provisioning segment.

The tests run in order on one bed: a node is cleaned and deployed; after
the deploy ramdisk's first heartbeat the agent holding the VIPs gets
SIGKILL and the deploy completes through the other one; the killed agent
comes back, the node is undeployed and deleted, and its address is
released exactly once. The agents sync from the database only at start
(``SYNC_INTERVAL`` is longer than the run): every reservation they serve
later came to both by push, over RabbitMQ.

The SIGKILL is placed between two of the conductor's calls to the
ramdisk (a heartbeat handled, the next one seconds away): a call in
flight at the moment of the kill fails (doc/active-active.md, "What a
failover looks like"), as it would against a single agent that dies.
"""

import json
import os
import re
import time

import pytest

from tests.fixtures import ironic_helpers as helpers
from tests.fixtures import netns
from tests.fixtures import prod_aa_bed as pab
from tests.fixtures import segments as seg
from tests.functional.network.production import conftest

MAC = '52:54:00:5f:01:01'
# Seconds between two heartbeats of the ramdisk: the conductor calls the
# ramdisk when it handles one, so the SIGKILL can fall between two calls.
INTERVAL = 8
TEST_TIMEOUT = 400
PROXY = 'http://%s:%d' % (pab.VIP_PROV, seg.PROXY_PORT)
CALLBACK = 'https://%s:%d/ramdisk/' % (pab.VIP_CLUS, seg.CALLBACK_PORT)


@pytest.fixture(autouse=True)
def deadline():
    with seg.deadline(TEST_TIMEOUT):
        yield


@pytest.fixture(scope='module')
def bed():
    conftest.check_available()
    seg.require()
    missing = netns.missing_binaries('keepalived', 'socat')
    if missing:
        pytest.fail('missing binaries: %s' % ', '.join(missing))
    with pab.Bed() as b:
        b.start()
        b.node = b.server = None
        b.facts = {}
        yield b


def offers(ns, mac):
    """Every OFFER to a DISCOVER from ``mac``: [(yiaddr, server id)]."""
    out = ns.run(netns.PYTHON, '-m', 'tests.fixtures.dhcp_multi',
                 json.dumps({'iface': 'eth0', 'mac': mac,
                             'send': 'discover'}),
                 timeout=30, cwd=netns.REPO,
                 env=dict(os.environ, PYTHONPATH=netns.REPO))
    return sorted((r['yiaddr'], r['server_id'])
                  for r in map(json.loads, out.stdout.splitlines())
                  if r['msg_type'] == 2)


def pushed_syncs(agent):
    """The incremental syncs an agent made (each one woken by a notice)."""
    return re.findall(r'IPAM sync: generation \d+ -> \d+, \d+ changes',
                      agent.log())


def test_1_clean_through_both_agents(bed):
    env = bed.ironic
    server = bed.server = bed.add_server('a', MAC, interval=INTERVAL)
    node = bed.node = env.create_node(mac=MAC, deploy='direct')
    env.provide(node['uuid'], timeout=180)
    events = server.events()
    assert any(e['event'] == 'command' and e['name'] == 'get_clean_steps'
               for e in events)
    # Both agents heard of the cleaning reservation by push (their only
    # database read was the full one at start).
    for n in (1, 2):
        assert pushed_syncs(bed.agents[n]), bed.agents[n].log()[-2000:]
    # The boot: DHCP with the reserved address (from either agent),
    # boot.ipxe, the node's config, kernel and ramdisk through the VIP's
    # proxy.
    dhcp = [e for e in events if e['event'] == 'dhcp']
    assert dhcp and {e['server'] for e in dhcp} <= set(pab.PROV.values())
    assert {e['bootfile'] for e in dhcp} == {PROXY + '/boot.ipxe'}
    fetched = {(e['url'], e['status']) for e in events
               if e['event'] == 'fetch'}
    for path in ('/boot.ipxe', '/pxelinux.cfg/' + MAC.replace(':', '-'),
                 '/%s/deploy_kernel' % node['uuid'],
                 '/%s/deploy_ramdisk' % node['uuid']):
        assert (PROXY + path, 200) in fetched, (path, fetched)
    boots = [e for e in events if e['event'] == 'boot' and e['booted']]
    assert boots and {b['api_url'] for b in boots} == {PROXY}


def _first_deploy_heartbeat(server, mark, timeout=120):
    return helpers.wait_for(
        lambda: [e for e in server.events()[mark:]
                 if e['event'] == 'heartbeat' and e['status'] == 202],
        timeout=timeout, what='the deploy ramdisk heartbeat')


def _between_calls(bed, server, node_uuid, mark, timeout=120):
    """Wait for a moment no call of the conductor to the ramdisk runs.

    That is after a heartbeat the conductor has handled (its calls were
    answered, it holds no lock on the node, which waits for the next
    heartbeat) and well before the next one. Returns the node then.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = server.events()[mark:]
        beats = [i for i, e in enumerate(events)
                 if e['event'] == 'heartbeat' and e['status'] == 202]
        calls = [e for e in events[beats[-1] + 1:]
                 if e['event'] == 'command-request'] if beats else []
        now = time.time()
        if calls and now - events[-1]['t'] > 0.5 and \
                now - events[beats[-1]]['t'] < INTERVAL - 1.5:
            node = bed.ironic.node(node_uuid)
            if node['reservation'] is None and \
                    node['provision_state'] == 'wait call-back' and \
                    len(server.events()) == mark + len(events):
                return node
        time.sleep(0.1)
    node = bed.ironic.node(node_uuid)
    seen = [(e['event'], e.get('name') or e.get('status'), e['t'])
            for e in server.events()[mark:] if e['event'] != 'dhcp']
    raise AssertionError('node %s (%s): no quiet moment in the deploy: %s'
                         % (node_uuid, node['provision_state'], seen[:30]))


def test_2_deploy_survives_the_vip_holder_killed(bed):
    env, server, node = bed.ironic, bed.server, bed.node
    mark = len(server.events())
    marks = env.marks()
    helpers.set_instance_info(env, node)
    env.set_state(node['uuid'], 'active')
    # Both agents OFFER the reserved address, each as itself (the
    # reservation of the deploy came to both by push).
    [alloc] = helpers.wait_for(
        lambda: env.ipam.get_allocations(node['uuid']),
        what='the deployment allocation')
    assert offers(server.ns, MAC) == [(alloc.address, pab.PROV[1]),
                                      (alloc.address, pab.PROV[2])]
    _first_deploy_heartbeat(server, mark)
    h = bed.vrrp.holder()
    o = 3 - h
    quiet = _between_calls(bed, server, node['uuid'], mark)
    before_kill = len(server.events())
    bed.kill9(h)
    killed = time.monotonic()
    agent_url = quiet['driver_internal_info']['agent_url']
    assert agent_url.startswith(CALLBACK), agent_url
    moved = bed.vrrp.wait_holder(o)
    print('VIPs moved %.1f s after the SIGKILL' % (moved - killed))
    # The same machine still gets its address, from the survivor only.
    assert offers(server.ns, MAC) == [(alloc.address, pab.PROV[o])]
    deployed = env.wait_state(node['uuid'], ('active', 'deploy failed'),
                              timeout=180)
    assert deployed['provision_state'] == 'active', deployed['last_error']
    [net] = deployed['network_data']['networks']
    assert net['ip_address'] == alloc.address

    events = server.events()[mark:]
    before, after = events[:before_kill - mark], events[before_kill - mark:]
    # Heartbeats and the conductor's calls: through the holder before the
    # kill, through the survivor after it, the same callback URL.
    for part, n in ((before, h), (after, o)):
        beats = [e for e in part if e['event'] == 'heartbeat']
        assert any(b['status'] == 202 for b in beats), (n, beats)
        peers = {e['peer'] for e in part if e['event'] == 'command-request'}
        assert peers == {pab.PROV[n]}, (n, peers)
    names = [e['name'] for e in after if e['event'] == 'command']
    assert 'sync' in names or 'execute_deploy_step' in names, names
    ramdisk_id = agent_url.rsplit('/', 1)[1]
    assert ramdisk_id in bed.agents[o].log()
    # The image came through the proxy, whole.
    [image] = [e for e in events if e['event'] == 'image']
    assert image['status'] == 200 and image['hash_ok']
    assert image['bytes'] == seg.IMAGE_SIZE
    # The conductors logged no error of the deploy.
    errors = [ln for ln in env.errors(marks, env.conductor_names())
              if node['uuid'] in ln]
    assert errors == []
    bed.facts.update(address=alloc.address, killed=h, survivor=o)


def test_3_undeploy_delete_release_once(bed):
    env, server, node = bed.ironic, bed.server, bed.node
    address = bed.facts['address']
    bed.start_agent(bed.facts['killed'])       # both serve again
    seen = {n: len(pushed_syncs(bed.agents[n])) for n in (1, 2)}
    marks = env.marks()
    mark = len(server.events())
    done = helpers.undeploy(env, node, timeout=180)
    assert done['provision_state'] == 'available', done['last_error']
    names = [e.get('name') for e in server.events()[mark:]
             if e['event'] == 'command']
    assert 'get_clean_steps' in names
    env.delete(node['uuid'])
    helpers.wait_for(lambda: not helpers.node_allocations(env, node['uuid']),
                     what='IPAM rows of the deleted node gone')
    assert env.ipam.list_reservations(node_uuid=node['uuid']) == []
    server.power_off()
    # Both agents applied the deletion by push: neither answers the MAC.
    for n in (1, 2):
        helpers.wait_for(
            lambda: len(pushed_syncs(bed.agents[n])) > seen[n],
            what='agent %d applying a notice' % n)
    helpers.wait_for(lambda: offers(server.ns, MAC) == [], timeout=30,
                     what='no OFFER for the deleted node')
    # Released exactly once: the deployment's address at tear down, by
    # one conductor; the deletion released nothing more.
    logs = env.logs(marks)
    text = ''.join(logs.values())
    ends = re.findall(r'Node %s: released \[([^]]*)\] at tear down'
                      % node['uuid'], text)
    assert ends == ["'%s'" % address], ends
    deleted = re.findall(r'node %s was deleted; released \[([^]]*)\]'
                         % node['uuid'], logs['api'])
    assert deleted == [''], deleted
    assert not [ln for ln in env.errors(marks, env.conductor_names())
                if node['uuid'] in ln]
