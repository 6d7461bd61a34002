"""Fixtures of the agent's functional tests: a provisioning segment with
the agent (as an unprivileged user with CAP_NET_RAW+CAP_NET_BIND_SERVICE)
multihomed toward a cluster segment, and a relay to a second subnet.

    [ns relay] r0 172.22.0.1 --(prov bridge)-- prov0 172.22.0.2 [ns agent]
        r1 172.23.0.1 --(far bridge)-- relayed clients      clus0 10.99.0.2
                                                              |
                                         (clus bridge) -- clus1 [ns cluster]
"""

import json
import os

import pytest

from tests.functional.agent import netns

SERVER = '172.22.0.2'
ROUTER = '172.22.0.1'
MAC_DHCLIENT = '52:54:00:aa:00:01'
MAC_UDHCPC = '52:54:00:aa:00:02'
MAC_PXE = '52:54:00:aa:00:03'
MAC_CLUSTER = '52:54:00:aa:00:04'
MAC_RELAYED = '52:54:00:aa:00:05'
MAC_UNKNOWN = '52:54:00:aa:00:99'

HOSTS = {
    'defaults': {'prefix': 24, 'gateway': ROUTER,
                 'dns_servers': ['172.22.0.53', '172.22.0.54'],
                 'domain': 'prov.example', 'lease_time': 600},
    'hosts': [
        {'mac': MAC_DHCLIENT, 'ip': '172.22.0.51', 'hostname': 'node-1',
         'lease_time': 16},
        {'mac': MAC_UDHCPC, 'ip': '172.22.0.52', 'hostname': 'node-2'},
        {'mac': MAC_PXE, 'ip': '172.22.0.53', 'hostname': 'node-3'},
        {'mac': MAC_CLUSTER, 'ip': '172.22.0.54'},
        {'mac': MAC_RELAYED, 'ip': '172.23.0.55', 'gateway': '172.23.0.1',
         'hostname': 'far-1'},
    ]}

AGENT_OPTS = {
    'interface': 'prov0', 'server_address': SERVER,
    'ipxe_script_url': 'http://172.22.0.2:8080/boot.ipxe',
    'http_boot_url': 'http://172.22.0.2:8080/snponly.efi',
    'arm64_bootfile': 'snponly-arm64.efi',
}


def require_root_and(*binaries):
    """Skip unless root and every binary is installed."""
    if not netns.have_root():
        pytest.skip('needs root: network namespaces and DHCP ports')
    missing = netns.missing_binaries(*binaries)
    if missing:
        pytest.fail('missing binaries (tools/debian-packages.txt): %s'
                    % ', '.join(missing))


class Bed:
    """The running test bed (see the module docstring)."""

    def __init__(self, lab):
        self.lab = lab
        self.prov = lab.segment('prov')
        self.far = lab.segment('far')
        self.clus = lab.segment('clus')
        self.agent_ns = lab.namespace('agent')
        self.agent_ns.attach(self.prov, 'prov0', SERVER + '/24')
        self.agent_ns.attach(self.clus, 'clus0', '10.99.0.2/24')
        self.agent_ns.route('172.23.0.0/24', 'via', ROUTER)
        self.cluster = lab.namespace('cluster')
        self.cluster.attach(self.clus, 'clus1', '10.99.0.1/24',
                            mac=MAC_CLUSTER)
        self.relay = lab.namespace('relay')
        self.relay.attach(self.prov, 'r0', ROUTER + '/24')
        self.relay.attach(self.far, 'r1', '172.23.0.1/24')
        self.relay.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
        self.agent = None
        self._clients = 0

    def client(self, mac, segment=None):
        """A new client namespace with eth0 (``mac``) on a segment."""
        self._clients += 1
        ns = self.lab.namespace('c%d' % self._clients)
        ns.attach(segment or self.prov, 'eth0', mac=mac)
        return ns

    def probe(self, ns, probes, iface='eth0', timeout=60):
        """Run dhcp_client.py in ``ns``; one result dict per probe."""
        out = ns.run(netns.PYTHON, '-m', 'tests.functional.agent.dhcp_client',
                     json.dumps({'iface': iface, 'probes': probes}),
                     timeout=timeout, cwd=netns.REPO,
                     env=dict(os.environ, PYTHONPATH=netns.REPO))
        return [json.loads(line) for line in out.stdout.splitlines()
                if line.startswith('{')]


@pytest.fixture(scope='package')
def bed():
    require_root_and('ip', 'setpriv')
    with netns.Lab() as lab:
        b = Bed(lab)
        b.agent = netns.start_agent(lab, b.agent_ns, AGENT_OPTS, HOSTS)
        try:
            yield b
        finally:
            b.agent.stop()
