"""The boot-name DNS test bed: the real agent answering boot names.

    [ns client] eth0 172.22.0.60  --(prov bridge)-- prov0 172.22.0.2 [ns agent]
                     fd00:22::60                          fd00:22::2
    [ns dhcpN]  eth0 (DHCP clients)                 clus0 10.99.0.2
                                                       |
                        (clus bridge) -- clus1 10.99.0.1 [ns cluster]

The agent (``vmetal-dhcp-agent``, standalone reservations file, as
``nobody`` with CAP_NET_RAW and CAP_NET_BIND_SERVICE) answers
``images.vmetal.test`` and ``ironic.vmetal.test`` on port 53 of its
provisioning addresses; its metrics endpoint is on the cluster side. The
cluster namespace routes 172.22.0.0/24 through the agent's cluster leg,
so that a query from there reaches the agent on the wrong interface.
"""

import os
import shutil

SERVER = '172.22.0.2'
SERVER6 = 'fd00:22::2'
CLIENT = '172.22.0.60'
CLIENT6 = 'fd00:22::60'
AGENT_CLUSTER = '10.99.0.2'
NAMES = ('images.vmetal.test', 'ironic.vmetal.test')
MAC_NO_DNS = '52:54:00:dd:00:01'
MAC_OWN_DNS = '52:54:00:dd:00:02'
IP_NO_DNS = '172.22.0.71'
IP_OWN_DNS = '172.22.0.72'
OWN_DNS = '172.22.0.53'

HOSTS = {'defaults': {'prefix': 24, 'lease_time': 600},
         'hosts': [{'mac': MAC_NO_DNS, 'ip': IP_NO_DNS},
                   {'mac': MAC_OWN_DNS, 'ip': IP_OWN_DNS,
                    'dns_servers': [OWN_DNS]}]}

AGENT_OPTS = {
    'interface': 'prov0', 'server_address': SERVER,
    'server_address6': SERVER6, 'dhcpv6': 'false',
    'tftp_enabled': 'false',
    'dns_names': ','.join(NAMES), 'dns_ttl': '30',
    'dns_rate_limit': '50',
    'metrics_address': AGENT_CLUSTER,
}


class Bed:
    """The running test bed (see the module docstring)."""

    def __init__(self, lab):
        self.lab = lab
        self.prov = lab.segment('prov')
        self.clus = lab.segment('clus')
        self.agent_ns = lab.namespace('agent')
        self.agent_ns.attach(self.prov, 'prov0', SERVER + '/24')
        self.agent_ns.run('ip', 'addr', 'add', SERVER6 + '/64', 'dev',
                          'prov0', 'nodad')
        self.agent_ns.attach(self.clus, 'clus0', AGENT_CLUSTER + '/24')
        self.cluster = lab.namespace('cluster')
        self.cluster.attach(self.clus, 'clus1', '10.99.0.1/24')
        self.cluster.route('172.22.0.0/24', 'via', AGENT_CLUSTER)
        self.client = lab.namespace('client')
        self.client.attach(self.prov, 'eth0', CLIENT + '/24')
        self.client.run('ip', 'addr', 'add', CLIENT6 + '/64', 'dev', 'eth0',
                        'nodad')
        self.agent = None
        self._n = 0
        self.etc_dirs = []

    def dhcp_client(self, mac):
        """A new namespace with eth0 (``mac``, no address) on prov."""
        self._n += 1
        ns = self.lab.namespace('dhcp%d' % self._n)
        ns.attach(self.prov, 'eth0', mac=mac)
        return ns

    def resolv_conf(self, ns, text):
        """Write /etc/netns/<ns>/resolv.conf (removed by :meth:`close`).

        ``ip netns exec`` mounts it over /etc/resolv.conf for the
        processes it runs; the host's own file is never written.
        """
        d = os.path.join('/etc/netns', ns.name)
        os.makedirs(d, exist_ok=True)
        self.etc_dirs.append(d)
        with open(os.path.join(d, 'resolv.conf'), 'w') as f:
            f.write(text)

    def close(self):
        for d in self.etc_dirs:
            shutil.rmtree(d, ignore_errors=True)
