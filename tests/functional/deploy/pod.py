"""A pod's network the way Multus makes it, for the deploy/ tests.

A "node" namespace stands for the node (it holds the provisioning NIC
``eno2``, as the NetworkAttachmentDefinitions name it, plugged into the
provisioning segment), a "pod" namespace for the agent's pod: ``eth0`` on
the cluster segment (what the cluster's CNI gives it) and ``prov0`` added
by the real CNI plugin (macvlan or bridge, static IPAM) from the rendered
NetworkAttachmentDefinition, called as Multus calls it: CNI_COMMAND,
CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH, CNI_ARGS, the config on
stdin, run in the node's namespace.
"""

import configparser
import json
import os
import secrets

from tests.fixtures import netns
from tests.unit.deploy import render

CNI_PATH = '/usr/lib/cni'
POD_ETH0 = '10.99.0.2/24'
IRONIC = '10.99.0.1'
MAC_PROV = '52:54:00:4b:00:01'
MAC_CLUSTER = '52:54:00:4b:00:02'
PROV_IP = '172.22.0.100'
HOSTS = {'defaults': {'prefix': 24, 'lease_time': 600},
         'hosts': [{'mac': MAC_PROV, 'ip': PROV_IP, 'hostname': 'node-1'},
                   {'mac': MAC_CLUSTER, 'ip': '172.22.0.101'}]}


class PodNetwork:
    """Node, pod, segments and the CNI-attached prov0 of one overlay."""

    def __init__(self, lab, overlay):
        self.lab = lab
        self.objects = render.render(render.overlay_dir(overlay))
        nad = render.find(self.objects, 'NetworkAttachmentDefinition')
        self.cni_conf = json.loads(nad['spec']['config'])
        self.prov = lab.segment('prov')
        self.cluster = lab.segment('clus')
        self.node = lab.namespace('node')
        self.node.attach(self.prov, 'eno2')
        if self.cni_conf['type'] == 'bridge':
            # The node's bridge holding its provisioning NIC.
            br = self.cni_conf['bridge']
            netns.run('ip', '-n', self.node.name, 'link', 'add', br,
                      'type', 'bridge', 'stp_state', '0',
                      'forward_delay', '0')
            netns.run('ip', '-n', self.node.name, 'link', 'set', 'eno2',
                      'master', br)
            netns.run('ip', '-n', self.node.name, 'link', 'set', br, 'up')
        else:
            assert self.cni_conf['master'] == 'eno2', self.cni_conf
        self.pod = lab.namespace('pod')
        self.pod.attach(self.cluster, 'eth0', POD_ETH0)
        self.container_id = secrets.token_hex(32)
        self.added = False

    def cni(self, command):
        """Run the NAD's plugin with CNI_COMMAND ``command``; its JSON."""
        env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'CNI_COMMAND': command,
            'CNI_CONTAINERID': self.container_id,
            'CNI_NETNS': '/run/netns/%s' % self.pod.name,
            'CNI_IFNAME': 'prov0',
            'CNI_PATH': CNI_PATH,
            'CNI_ARGS': ('IgnoreUnknown=true;K8S_POD_NAMESPACE=vmetal-ironic;'
                         'K8S_POD_NAME=vmetal-dhcp-agent-0;'
                         'K8S_POD_INFRA_CONTAINER_ID=%s' % self.container_id),
        }
        plugin = os.path.join(CNI_PATH, self.cni_conf['type'])
        res = netns.run(*self.node.cmd(plugin), check=False, env=env,
                        input=json.dumps(self.cni_conf))
        if res.returncode != 0:
            raise RuntimeError('CNI %s failed (%d): %s %s' % (
                command, res.returncode, res.stdout, res.stderr))
        return json.loads(res.stdout) if res.stdout.strip() else None

    def add(self):
        result = self.cni('ADD')
        self.added = True
        return result

    def delete(self):
        if self.added:
            self.added = False
            self.cni('DEL')

    def client(self, role, segment, mac):
        ns = self.lab.namespace(role)
        ns.attach(segment, 'eth0', mac=mac)
        return ns

    def agent_conf(self, **overrides):
        """The ConfigMap's agent config, pointed at this lab.

        Ironic is at 10.99.0.1 (the cluster segment) instead of its
        Service name; reservations come from a file.
        """
        cm = render.find(self.objects, 'ConfigMap')
        parser = configparser.ConfigParser(interpolation=None,
                                           default_section='-')
        parser.read_string(cm['data']['vmetal-ironic.conf'])
        opts = dict(parser['dhcp_agent'])
        opts.update({'sources': 'file',
                     'ironic_api_url': 'http://%s:6385' % IRONIC,
                     'ironic_http_url': 'http://%s:8088' % IRONIC})
        opts.update(overrides)
        return opts

    def close(self):
        self.delete()


def state_dir(lab, uid=1000):
    """A writable state directory for the agent's uid."""
    path = lab.path('state')
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, uid)
    return path


def ip_json(ns, *args):
    out = netns.run('ip', '-j', '-n', ns.name, *args).stdout
    return json.loads(out or '[]')
