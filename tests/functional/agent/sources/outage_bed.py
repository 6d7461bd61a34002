"""Helpers of the outage tests: a private IPAM database and the agent on it."""

import os
import pathlib
import signal
import subprocess
import time

from tests import confutils
from tests.fixtures import dhcp_bed as c
from tests.fixtures import netns
from vmetal_ironic.agent.sources import snapshot
from vmetal_ironic.ipam import manager

PXE = {'60': b'PXEClient:Arch:00007'.hex(), '93': '0007'}

POOLS = '''
[vmetal_database]
connection = %(url)s
[vmetal_rpc]
%(rpc)s
[vmetal_ipam]
pools = prov
default_pool = prov
[vmetal_pool:prov]
cidr = 172.22.0.1/24
ranges = 172.22.0.100-172.22.0.199
dns_servers = 172.22.0.53
'''


def macs(n, tag):
    return ['52:54:00:%02x:%02x:%02x' % (tag, i // 256, i % 256)
            for i in range(n)]


def ipam(lab, url, transport_url=None, name='pools.conf'):
    """A migrated IPAM database at ``url`` and a manager on it."""
    conf_path = pathlib.Path(lab.tmpdir)
    rpc = 'transport_url = %s' % transport_url if transport_url else ''
    conf = confutils.conf_from_text(POOLS % {'url': url, 'rpc': rpc},
                                    conf_path, name=name)
    r = subprocess.run([netns.PYTHON, '-m', 'vmetal_ironic.cmd.dbsync',
                        '--config-file', str(conf_path / name), 'upgrade'],
                       timeout=60, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, cwd=netns.REPO)
    assert r.returncode == 0, r.stdout
    mgr = manager.IPAMManager(conf)
    mgr.get_pools()
    return mgr


def state_dir(lab, name):
    path = lab.path(name)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o777)
    return path


def start(bed, url, state, name, transport_url=None, sync_interval=1,
          wait_text=None):
    extra = {'vmetal_database': {'connection': url}}
    if transport_url:
        extra['vmetal_rpc'] = {'transport_url': transport_url}
    agent = netns.start_agent(
        bed.lab, bed.agent_ns,
        dict(c.AGENT_OPTS, sources='ipam', sync_interval=sync_interval,
             state_dir=state),
        extra_sections=extra, name=name)
    if wait_text:
        assert agent.wait_log(wait_text, timeout=30), agent.log()[-3000:]
    return agent


def kill9(agent):
    """SIGKILL the agent's process group: no clean shutdown at all."""
    os.killpg(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait(timeout=10)


def snapshot_generation(state):
    cs = snapshot.load(os.path.join(state, snapshot.FILE_NAME))
    return None if cs is None else cs.generation


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def offers(bed, ns, wanted):
    """{mac: offered address or None} for every MAC of ``wanted``."""
    results = bed.probe(ns, [{'mac': m, 'options': PXE, 'timeout': 1}
                             for m in wanted], timeout=30 + 2 * len(wanted))
    return {m: (r['offer'] or {}).get('yiaddr')
            for m, r in zip(wanted, results)}


def wait_served(bed, ns, expected, timeout):
    """Probe until every MAC of ``expected`` gets its address.

    Returns the last {mac: address} seen (at the deadline at the latest).
    """
    deadline = time.monotonic() + timeout
    while True:
        got = offers(bed, ns, list(expected))
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.5)
