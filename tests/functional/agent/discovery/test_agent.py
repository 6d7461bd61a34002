"""Discovery leases served by a real agent from SQLite and PostgreSQL.

The agent (as ``nobody``, source "ipam", ``discovery_enabled``) serves a
provisioning segment whose pool has a discovery range. A real udhcpc with
a MAC that has no reservation gets a discovery lease (the row is in the
database); once the MAC is enrolled (an allocation and a reservation, as
the vmetal network interface writes them) its next exchange is NAKed and
it gets its reserved address, and the discovery row is freed. A flood of
5,000 random MACs fills no more than the cap, and a reserved client is
still served. Counts are printed for the report; time is not asserted.
"""

import json
import os
import pathlib
import signal
import time
import uuid

import pytest

from tests import confutils
from tests.fixtures import dhcp_bed as c
from tests.fixtures import discovery
from tests.fixtures import netns
from tests.fixtures import segments
from tests.functional.agent.dhcp.test_real_clients import client_script
from tests.functional.agent.dhcp.test_real_clients import wait_lines
from tests.functional import databases
from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration
from vmetal_ironic.ipam import manager

CAP = 8
FLOOD = 5000
SYNC = 2
LEASE = 60
MAC_NEW = '52:54:00:dd:00:01'
MAC_RESERVED = '52:54:00:dd:00:02'
MAC_LATE = '52:54:00:dd:00:03'

POOLS = '''
[vmetal_database]
connection = %(url)s
[vmetal_ipam]
pools = prov
default_pool = prov
[vmetal_pool:prov]
cidr = 172.22.0.1/24
ranges = 172.22.0.100-172.22.0.120
discovery_range = 172.22.0.200-172.22.0.239
dns_servers = 172.22.0.53
'''

AGENT = dict(c.AGENT_OPTS, sources='ipam', sync_interval=SYNC,
             discovery_enabled='true', discovery_max_leases=CAP,
             discovery_lease_time=LEASE, discovery_expire_interval=SYNC,
             discovery_ipxe_script_url='http://172.22.0.2:8080/inspector.ipxe')


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def bed(request):
    c.require_root_and('ip', 'setpriv', 'udhcpc')
    with netns.Lab('vdi') as lab:
        b = c.Bed(lab)
        dbdir = lab.path('ipamdb')
        os.mkdir(dbdir)
        os.chmod(dbdir, 0o777)
        with databases.temporary_database(request.param,
                                          pathlib.Path(dbdir)) as url:
            agent_url = url if request.param == 'sqlite' else \
                segments.postgresql_socket_url(url)
            conf = confutils.conf_from_text(POOLS % {'url': url},
                                            pathlib.Path(lab.tmpdir),
                                            name='pools.conf')
            database = db_api.Database(url)
            migration.upgrade(database.writer)
            mgr = manager.IPAMManager(conf, database=database)
            mgr.sync_pools()
            node = str(uuid.uuid4())
            b.reserved = mgr.allocate(node).address
            mgr.upsert_reservation(MAC_RESERVED, node, hostname='known')
            for f in os.listdir(dbdir):
                os.chmod(os.path.join(dbdir, f), 0o666)
            b.mgr, b.url = mgr, url
            b.agent = netns.start_agent(
                lab, b.agent_ns, AGENT,
                extra_sections={
                    'vmetal_database': {'connection': agent_url},
                    'DEFAULT': {'debug': 'false', 'use_stderr': 'true'}},
                name='disc-agent')
            try:
                assert b.agent.wait_log('Discovery enabled: ranges 40 of '
                                        'pool prov', timeout=20), \
                    b.agent.log()[-2000:]
                yield b
            finally:
                b.agent.stop()
                mgr.close()


def test_unenrolled_server_gets_a_discovery_lease_then_its_reservation(bed):
    ns = bed.client(MAC_NEW)
    script, events = client_script(bed.lab, 'udhcpc-disc')
    p = ns.popen('udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20',
                 '-T', '1', '-A', '1')
    try:
        lines = wait_lines(events, ['bound'], timeout=20)
        bound = [ln for ln in lines if ln.startswith('bound')]
        assert bound, (lines, bed.agent.log()[-2000:])
        assert 'ip=172.22.0.200 ' in bound[0], bound
        assert 'lease=%d ' % LEASE in bound[0]
        assert 'router=172.22.0.1 ' in bound[0]
        assert discovery.held(bed.url) == {MAC_NEW: '172.22.0.200'}

        # Ironic enrolls it and the vmetal interface allocates
        node = str(uuid.uuid4())
        address = bed.mgr.allocate(node).address
        bed.mgr.upsert_reservation(MAC_NEW, node, hostname='enrolled')
        deadline = time.monotonic() + 10 * SYNC
        while True:
            p.send_signal(signal.SIGUSR1)       # the next exchange
            time.sleep(1.5)
            lines = wait_lines(events, [], timeout=0)
            if any('ip=%s ' % address in ln for ln in lines) or \
                    time.monotonic() > deadline:
                break
    finally:
        netns.stop_process(p)
    got = [ln for ln in lines if 'ip=%s ' % address in ln]
    assert got and 'host=enrolled' in got[0], (
        lines, bed.agent.log()[-3000:])
    assert 'lease=%d ' % LEASE not in got[0]
    # its discovery row was freed at that exchange (or by the sweep)
    deadline = time.monotonic() + 3 * SYNC
    while MAC_NEW in discovery.held(bed.url) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert MAC_NEW not in discovery.held(bed.url)


def test_random_mac_flood_fills_no_more_than_the_cap(bed):
    probe = bed.client(MAC_RESERVED)
    before = len(discovery.held(bed.url))
    out = probe.run(netns.PYTHON, '-m', 'tests.fixtures.dhcp_flood',
                    json.dumps({'iface': 'eth0', 'kind': 'discover',
                                'count': FLOOD, 'seed': 7, 'linger': 2}),
                    timeout=240, cwd=netns.REPO,
                    env=dict(os.environ, PYTHONPATH=netns.REPO))
    res = json.loads(out.stdout.strip().splitlines()[-1])
    held = discovery.held(bed.url)
    offers = res['replies'].get('2', 0)
    print('discovery flood: %d random-MAC DISCOVERs, %d OFFERs, %d leases '
          'in the database (cap %d, %d before)'
          % (FLOOD, offers, len(held), CAP, before))
    assert len(held) <= CAP
    assert len(held) == CAP            # the flood did fill it
    assert offers <= CAP
    assert all(a.startswith('172.22.0.2') for a in held.values())
    # the reserved client is served; a new unknown MAC is not (cap)
    reserved = late = None
    for _ in range(5):
        reserved, late = bed.probe(probe, [
            {'mac': MAC_RESERVED, 'dora': True, 'timeout': 2},
            {'mac': MAC_LATE, 'timeout': 2}])
        if reserved['ack'] is not None:
            break
    assert reserved['ack']['yiaddr'] == bed.reserved
    assert late['offer'] is None
    assert MAC_LATE not in discovery.held(bed.url)
    assert bed.agent.proc.poll() is None
