"""The agent serving from the IPAM database (source "ipam").

A reservation written to the database (by the same manager API the Ironic
drivers use) is served without a restart, with the pool's network
parameters and the node's boot profile; a deleted one stops being served.
How soon is measured by benchmarks; the test waits with a deadline of a
few sync intervals and then checks what is served.
"""

import os
import pathlib
import subprocess
import time
import uuid

import pytest

from tests import confutils
from tests.fixtures import dhcp_bed as c
from tests.fixtures import netns
from vmetal_ironic.ipam import manager

SYNC_INTERVAL = 2
MAC = '52:54:00:bb:00:01'
DEADLINE = 5 * SYNC_INTERVAL + 10
PXE = {'60': b'PXEClient:Arch:00007'.hex(), '93': '0007'}

POOLS = '''
[vmetal_database]
connection = %(url)s
[vmetal_ipam]
pools = prov
default_pool = prov
[vmetal_pool:prov]
cidr = 172.22.0.1/24
ranges = 172.22.0.100-172.22.0.120
dns_servers = 172.22.0.53
mtu = 1500
'''


@pytest.fixture
def db(bed):
    """A migrated SQLite IPAM database readable by the agent's user."""
    dbdir = bed.lab.path('ipamdb')
    os.mkdir(dbdir)
    os.chmod(dbdir, 0o777)
    url = 'sqlite:///%s/ipam.sqlite' % dbdir
    conf_path = pathlib.Path(bed.lab.tmpdir)
    text = POOLS % {'url': url}
    conf = confutils.conf_from_text(text, conf_path, name='pools.conf')
    r = subprocess.run([netns.PYTHON, '-m', 'vmetal_ironic.cmd.dbsync',
                        '--config-file', str(conf_path / 'pools.conf'),
                        'upgrade'], timeout=60, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=netns.REPO)
    assert r.returncode == 0, r.stdout
    mgr = manager.IPAMManager(conf)
    mgr.get_pools()                       # records the pool
    for f in os.listdir(dbdir):
        os.chmod(os.path.join(dbdir, f), 0o666)
    yield mgr, url
    mgr.close()


def test_reservation_added_to_database_is_served(bed, db):
    c.require_root_and('ip', 'setpriv')
    mgr, url = db
    agent = netns.start_agent(
        bed.lab, bed.agent_ns,
        dict(c.AGENT_OPTS, sources='ipam', sync_interval=SYNC_INTERVAL),
        extra_sections={'vmetal_database': {'connection': url}},
        name='ipam-agent')
    try:
        assert agent.wait_log('Loaded 0 reservations from the IPAM '
                              'database')
        ns = bed.client(MAC)
        (r,) = bed.probe(ns, [{'mac': MAC, 'options': PXE, 'timeout': 1}])
        assert r['offer'] is None          # not served before the write
        node = str(uuid.uuid4())
        alloc = mgr.allocate(node)
        mgr.upsert_reservation(MAC, node, hostname='db-node')
        mgr.set_boot_profile(node, {'bootfile': 'ipxe-from-ironic.efi',
                                    'tftp_server': '172.22.0.9'})
        offer = _wait_offer(bed, ns, lambda o: o is not None and bytes.fromhex(
            o['options'].get('67', '')) == b'ipxe-from-ironic.efi')
        assert offer is not None, agent.log()[-3000:]
        assert offer['yiaddr'] == alloc.address
        o = offer['options']
        assert bytes.fromhex(o['67']) == b'ipxe-from-ironic.efi'
        assert offer['siaddr'] == '172.22.0.9'
        assert o['3'] == bytes([172, 22, 0, 1]).hex()      # pool gateway
        assert o['6'] == bytes([172, 22, 0, 53]).hex()     # pool DNS
        assert bytes.fromhex(o['12']) == b'db-node'

        mgr.delete_reservations(mac=MAC)
        offer = _wait_offer(bed, ns, lambda o: o is None)
        assert offer is None
        assert agent.proc.poll() is None
        agent.stop()                    # SIGTERM: clean exit
        assert agent.proc.returncode == 0, agent.log()[-2000:]
        assert 'DHCP server stopped' in agent.log()
    finally:
        agent.stop()


def _wait_offer(bed, ns, done):
    """Probe until ``done(offer)`` holds or the deadline passes.

    :returns: the last offer (None: no answer).
    """
    deadline = time.monotonic() + DEADLINE
    while True:
        (r,) = bed.probe(ns, [{'mac': MAC, 'options': PXE, 'timeout': 1}])
        if done(r['offer']) or time.monotonic() > deadline:
            return r['offer']
