"""The proof of discovery: a real Ironic 39 with auto-discovery.

The segments bed (:mod:`tests.fixtures.segments`: Ironic in the cluster
namespace, the real agent between the segments, PostgreSQL through its
socket) with ``[auto_discovery]enabled``, agent inspection and
``[pxe]ipxe_fallback_script = inspector.ipxe``; the pool has a discovery
range and the agent ``discovery_enabled``. A stand-in server that Ironic
does not know powers on: it gets a discovery lease, runs Ironic's
``boot.ipxe``, which finds no config for its MAC and chains
``inspector.ipxe``, and posts its inventory through the agent's proxy to
``/v1/continue_inspection``. Ironic creates the node and its port. As an
operator would, the test sets the node's interfaces (vmetal network),
resource class and driver info and deploys it: cleaning and deploy boot
the server with its reserved address, which ``network_data`` carries,
and its discovery lease is freed.
"""

import os
import pathlib
import shutil
import tempfile
import time

import pytest

from tests.fixtures import discovery
from tests.fixtures import ironic_helpers as helpers
from tests.fixtures import segments as seg
from tests.functional import databases

MAC = '52:54:00:5e:00:d1'
TEST_TIMEOUT = 420
DISCOVERY_RANGE = ('172.22.0.200', '172.22.0.209')
PROXY = 'http://%s:%d' % (seg.AGENT_PROV, seg.PROXY_PORT)
# What an operator puts in Ironic's HTTP root for unknown servers.
INSPECTOR_IPXE = '\n'.join((
    '#!ipxe',
    'kernel %s/images/kernel ipa-inspection-callback-url=%s/v1/'
    'continue_inspection' % (PROXY, PROXY),
    'initrd %s/images/ramdisk' % PROXY,
    'boot', ''))

IRONIC_EXTRA = {
    'DEFAULT': {'enabled_inspect_interfaces': 'agent,no-inspect',
                'default_inspect_interface': 'agent'},
    'auto_discovery': {'enabled': 'true', 'driver': 'fake-hardware'},
    'inspector': {'add_ports': 'pxe', 'power_off': 'false'},
    'pxe': {'ipxe_fallback_script': 'inspector.ipxe'},
    'vmetal_pool:prov': {'discovery_range': '%s-%s' % DISCOVERY_RANGE},
}


class DiscoveryBed(seg.Bed):
    """The segments bed with discovery on in the agent."""

    def agent_options(self):
        opts = super().agent_options()
        opts.update(discovery_enabled='true', discovery_lease_time=60,
                    discovery_max_leases=4, discovery_expire_interval=2)
        return opts


@pytest.fixture(autouse=True)
def deadline():
    """Bound the test (the bed's clean-up still runs on expiry)."""
    with seg.deadline(TEST_TIMEOUT):
        yield


@pytest.fixture
def discovery_bed():
    seg.require()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-disc-'))
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with DiscoveryBed(seg.postgresql_socket_url(url),
                              ironic_extra=IRONIC_EXTRA,
                              prefix='vdsc') as b:
                b.url = url
                b.start()
                with open(os.path.join(b.ironic.http_root,
                                       'inspector.ipxe'), 'w') as f:
                    f.write(INSPECTOR_IPXE)
                yield b
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _wait(fn, timeout, step=1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _in_range(ip):
    last = [int(a.rsplit('.', 1)[1]) for a in DISCOVERY_RANGE]
    return ip.startswith('172.22.0.') and \
        last[0] <= int(ip.rsplit('.', 1)[1]) <= last[1]


def test_unenrolled_server_is_discovered_enrolled_and_deployed(
        discovery_bed):
    bed = discovery_bed
    env = bed.ironic
    assert env.api('GET', '/nodes', expect=200)['nodes'] == []
    server = bed.add_server('d', MAC)

    # 1. a discovery lease, boot.ipxe -> inspector.ipxe, the inventory
    posted = _wait(lambda: [e for e in server.events('inspection')
                            if e['status'] == 202], timeout=90)
    assert posted, (server.events()[-10:], bed.agent.log()[-3000:])
    dhcp = server.events('dhcp')
    assert dhcp and _in_range(dhcp[0]['ip']), dhcp
    assert int(dhcp[0]['lease_time']) == 60
    assert dhcp[0]['bootfile'] == PROXY + '/boot.ipxe'
    fetched = [e['url'] for e in server.events('fetch')]
    assert PROXY + '/inspector.ipxe' in fetched
    assert posted[0]['url'] == PROXY + '/v1/continue_inspection'
    assert discovery.held(bed.url).get(MAC) == dhcp[0]['ip']

    # 2. Ironic created the node and its port (auto-discovery)
    def discovered():
        nodes = env.api('GET', '/nodes?fields=uuid,driver,provision_state',
                        expect=200)['nodes']
        return nodes if nodes else None
    [node] = _wait(discovered, timeout=60)
    assert node['driver'] == 'fake-hardware'
    ports = _wait(lambda: env.api('GET', '/ports?node=%s' % node['uuid'],
                                  expect=200)['ports'], timeout=60)
    assert [p['address'] for p in ports] == [MAC]
    inventory = _wait(lambda: _inventory(env, node['uuid']), timeout=30)
    assert inventory['inventory']['boot']['pxe_interface'] == MAC

    # 3. the operator makes it deployable, through the vmetal interface
    server.power_off()
    uuid = node['uuid']
    patch = [{'op': 'add', 'path': '/%s' % k, 'value': v} for k, v in (
        ('network_interface', 'vmetal'), ('power_interface', 'fake'),
        ('management_interface', 'noop'), ('boot_interface', 'ipxe'),
        ('deploy_interface', 'direct'),
        ('resource_class', 'baremetal-compute'),
        ('driver_info', {'deploy_forces_oob_reboot': True,
                         'deploy_kernel': env.image_url('kernel'),
                         'deploy_ramdisk': env.image_url('ramdisk')}))]
    env.api('PATCH', '/nodes/%s' % uuid, expect=200, json=patch)
    mark = len(server.events())
    server.power_on()
    with helpers.explained(env, server, bed.agent):
        env.provide(uuid, timeout=150)
        deploy_mark = len(server.events())
        deployed = helpers.deploy(env, {'uuid': uuid}, timeout=150)
    assert deployed['provision_state'] == 'active', deployed['last_error']

    # 4. its reserved address replaced the discovery lease
    [network] = deployed['network_data']['networks']
    reserved = network['ip_address']
    assert not _in_range(reserved)
    events = server.events()
    later = [e['ip'] for e in events[mark:] if e['event'] == 'dhcp']
    assert reserved in later, later
    # Every lease is the reservation or a discovery lease. (The stand-in
    # server is not powered off when cleaning ends, as a real one is, and
    # may boot while the node is available: it has no reservation then,
    # and a discovery lease is the agent's answer.)
    assert all(ip == reserved or _in_range(ip) for ip in later), later
    assert all(_in_range(ip) for ip in later[:later.index(reserved)]), later
    # The boot whose ramdisk served the deploy had the reserved address.
    beat = next(i for i in range(deploy_mark, len(events))
                if events[i]['event'] == 'heartbeat'
                and events[i]['status'] == 202)
    [served] = [e['ip'] for e in events[:beat] if e['event'] == 'dhcp'][-1:]
    assert served == reserved, later
    assert later[-1] == reserved, later
    assert _wait(lambda: MAC not in discovery.held(bed.url), timeout=10)
    print('discovery: lease %s (60 s), node %s created by auto-discovery, '
          'deployed with %s' % (dhcp[0]['ip'], uuid, reserved))


def _inventory(env, uuid):
    doc = env.api('GET', '/nodes/%s/inventory' % uuid)
    return doc if doc and 'inventory' in doc else None
