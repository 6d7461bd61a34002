"""Two agents share the discovery leases; a database outage is silence.

Two agents (172.22.0.2 and 172.22.0.3) on one provisioning segment serve
discovery from the same private PostgreSQL (its own instance, stopped and
started by PID; the machine's shared server is never touched). Both
answer every unknown MAC, and the database makes them agree: a MAC gets
the same address from both, and a flood of random MACs leaves no more
than the cap in the database, whichever agent took them. With the
database down, unknown MACs get silence from both (never a wrong answer)
while reserved clients are still served from the agents' tables; once it
is back, discovery resumes.
"""

import pathlib
import re
import uuid


from tests import confutils
from tests.fixtures import dhcp_bed as c
from tests.fixtures import discovery
from tests.fixtures import netns
from tests.functional.agent.sources import outage_bed as ob
from tests.functional.agent.sources.test_outages import pg  # noqa: F401
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.ipam import manager

CAP = 6
MAC_RESERVED = '52:54:00:de:00:01'
MAC_PROBE = '52:54:00:de:00:02'
DISCOVERY = '''discovery_range = 172.22.0.200-172.22.0.229
'''
GRANTED = re.compile(r'Discovery lease (\S+) of pool prov to (\S+) ')


def _agent(bed, ns, address, url, name, iface):
    return netns.start_agent(
        bed.lab, ns, dict(c.AGENT_OPTS, interface=iface,
                          server_address=address, sources='ipam',
                          sync_interval=1, discovery_enabled='true',
                          discovery_max_leases=CAP,
                          discovery_lease_time=120,
                          discovery_expire_interval=2),
        extra_sections={'vmetal_database': {'connection': url},
                        'DEFAULT': {'debug': 'false',
                                    'use_stderr': 'true'}},
        name=name)


def _granted(agent):
    return {mac: ip for ip, mac in GRANTED.findall(agent.log())}


def test_two_agents_agree_and_an_outage_is_silence(bed, pg):  # noqa: F811
    c.require_root_and('ip', 'setpriv')
    url = pg.url('ipam')
    conf = confutils.conf_from_text(
        (ob.POOLS + DISCOVERY) % {'url': url, 'rpc': ''},
        pathlib.Path(bed.lab.tmpdir), name='disc-pools.conf')
    database = db_api.Database(url)
    migration.upgrade(database.writer)
    database.dispose()
    mgr = manager.IPAMManager(conf)
    mgr.sync_pools()
    node = str(uuid.uuid4())
    alloc, _ = mgr.allocate_and_reserve(node, {MAC_RESERVED: None})
    ns_b = bed.lab.namespace('agentb')
    ns_b.attach(bed.prov, 'provb', '172.22.0.3/24')
    a = _agent(bed, bed.agent_ns, c.SERVER, url, 'disc-a', 'prov0')
    b = _agent(bed, ns_b, '172.22.0.3', url, 'disc-b', 'provb')
    try:
        for agent in (a, b):
            assert agent.wait_log('Discovery enabled: ranges 30 of pool '
                                  'prov', timeout=20), agent.log()[-2000:]
        probe = bed.client(MAC_PROBE)
        [r] = bed.probe(probe, [{'mac': MAC_PROBE, 'timeout': 2}])
        assert r['offer'] is not None
        flood = probe.run(netns.PYTHON, '-m', 'tests.fixtures.dhcp_flood',
                          '{"iface": "eth0", "kind": "discover", '
                          '"count": 1000, "seed": 11, "linger": 2}',
                          timeout=120, cwd=netns.REPO,
                          env={'PYTHONPATH': netns.REPO})
        assert flood.returncode == 0
        held = discovery.held(url, unexpired=False)
        by_a, by_b = _granted(a), _granted(b)
        both = set(by_a) & set(by_b)
        print('two agents: %d leases in the database (cap %d), %d by A, %d '
              'by B, %d MACs answered by both' % (
                  len(held), CAP, len(by_a), len(by_b), len(both)))
        assert len(held) <= CAP
        assert MAC_PROBE in held
        # the same MAC gets the same address from either agent
        assert MAC_PROBE in both
        for mac in both:
            assert by_a[mac] == by_b[mac] == held.get(mac, by_a[mac])
        assert len(set(held.values())) == len(held)

        pg.stop()
        late = '52:54:00:de:00:03'
        results = bed.probe(probe, [
            {'mac': late, 'timeout': 2},
            {'mac': MAC_RESERVED, 'dora': True, 'timeout': 2}])
        assert results[0]['offer'] is None           # silence
        assert results[1]['ack']['yiaddr'] == alloc.address
        for agent in (a, b):
            assert agent.proc.poll() is None
            assert 'Discovery lease database error' in agent.log()
        pg.start()
        assert ob.wait_for(lambda: bed.probe(probe, [
            {'mac': MAC_PROBE, 'timeout': 2}])[0]['offer'] is not None, 40)
    finally:
        a.stop()
        b.stop()
        mgr.close()
