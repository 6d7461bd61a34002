"""A pod's network the way Multus makes it, for the deploy/ tests.

A "node" namespace stands for the node (it holds the provisioning NIC
``eno2``, as the NetworkAttachmentDefinitions name it, plugged into the
provisioning segment), a "pod" namespace for the agent's pod: ``eth0`` on
the cluster segment (what the cluster's CNI gives it) and ``prov0`` added
by the real CNI plugin (macvlan or bridge, no IPAM) from the rendered
NetworkAttachmentDefinition, called as Multus calls it: CNI_COMMAND,
CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH, CNI_ARGS, the config on
stdin, run in the node's namespace. The pod's own address then comes
from the StatefulSet's init step (pod-init.py from the ConfigMap).
"""

import configparser
import json
import os
import secrets
import sys

from tests.fixtures import netns
from tests.unit.deploy import render
from vmetal_ironic.agent.http import tls

CNI_PATH = '/usr/lib/cni'
POD_ETH0 = '10.99.0.2/24'
IRONIC = '10.99.0.1'
MAC_PROV = '52:54:00:4b:00:01'
MAC_CLUSTER = '52:54:00:4b:00:02'
PROV_IP = '172.22.0.100'
POD = 'vmetal-dhcp-agent-%d'
HOSTS = {'defaults': {'prefix': 24, 'lease_time': 600},
         'hosts': [{'mac': MAC_PROV, 'ip': PROV_IP, 'hostname': 'node-1'},
                   {'mac': MAC_CLUSTER, 'ip': '172.22.0.101'}]}


class PodNetwork:
    """Node, pod, segments and the CNI-attached prov0 of one overlay."""

    def __init__(self, lab, overlay, ordinal=0, prov=None, cluster=None):
        self.lab = lab
        self.ordinal = ordinal
        self.name = POD % ordinal
        self.objects = render.render(render.overlay_dir(overlay))
        nad = render.find(self.objects, 'NetworkAttachmentDefinition')
        self.cni_conf = json.loads(nad['spec']['config'])
        self.prov = prov or lab.segment('prov')
        self.cluster = cluster or lab.segment('clus')
        self.node = lab.namespace('node%d' % ordinal)
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
        self.pod = lab.namespace('pod%d' % ordinal)
        self.eth0 = '10.99.0.%d/24' % (2 + ordinal)
        self.pod.attach(self.cluster, 'eth0', self.eth0)
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
                         'K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s'
                         % (self.name, self.container_id)),
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

    def configmap_dir(self):
        """The ConfigMap's files in a directory, as the pod mounts it."""
        path = self.lab.path('etc-%d' % self.ordinal)
        if not os.path.isdir(path):
            os.makedirs(path)
            cm = render.find(self.objects, 'ConfigMap')
            for key, text in cm['data'].items():
                with open(os.path.join(path, key), 'w') as f:
                    f.write(text)
                os.chmod(os.path.join(path, key), 0o644)
        return path

    def init(self):
        """The init step in the pod's namespace (here a root process).

        As the init container runs it: prov0's address, the files.

        :returns: the pod's directory (agent.conf, keepalived.conf).
        """
        out = self.lab.path('pod-%d' % self.ordinal)
        os.makedirs(out, exist_ok=True)
        etc = self.configmap_dir()
        env = dict(os.environ, POD_NAME=self.name, VMETAL_ETC=etc,
                   VMETAL_POD_DIR=out)
        res = self.pod.run(sys.executable, os.path.join(etc, 'pod-init.py'),
                           env=env, check=False)
        if res.returncode != 0:
            raise RuntimeError('pod-init failed: %s' % res.stderr)
        return out

    def server_address(self):
        """This pod's provisioning address (pods.conf), without prefix."""
        cm = render.find(self.objects, 'ConfigMap')
        parser = configparser.ConfigParser(interpolation=None,
                                           default_section='-')
        parser.read_string(cm['data']['pods.conf'])
        return parser['addresses'][self.name].split('/')[0]

    def client(self, role, segment, mac):
        ns = self.lab.namespace(role)
        ns.attach(segment, 'eth0', mac=mac)
        return ns

    def agent_conf(self, **overrides):
        """The ConfigMap's agent config, pointed at this lab.

        Ironic is at 10.99.0.1 (the cluster segment) instead of its
        Service name; reservations come from a file; server_address is
        this pod's (what the init step's agent.conf adds).
        """
        cm = render.find(self.objects, 'ConfigMap')
        parser = configparser.ConfigParser(interpolation=None,
                                           default_section='-')
        parser.read_string(cm['data']['vmetal-ironic.conf'])
        opts = dict(parser['dhcp_agent'])
        opts.update({'server_address': self.server_address(),
                     'sources': 'file',
                     'ironic_api_url': 'http://%s:6385' % IRONIC,
                     'ironic_http_url': 'http://%s:8088' % IRONIC})
        opts.update(overrides)
        return opts

    def close(self):
        self.delete()


def state_dir(lab, uid=1000, name='state'):
    """A writable state directory for the agent's uid."""
    path = lab.path(name)
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, uid)
    return path


def ip_json(ns, *args):
    out = netns.run('ip', '-j', '-n', ns.name, *args).stdout
    return json.loads(out or '[]')


def callback_secret(lab, gid=1000):
    """The Secret vmetal-dhcp-agent-callback's files.

    As the kubelet projects them: defaultMode 0440, the pod's fsGroup.
    """
    path = lab.path('callback-secret')
    if os.path.isdir(path):
        return path
    os.makedirs(path)
    ca_pem, ca_key = tls.generate_ca()
    files = {tls.SECRET: secrets.token_bytes(tls.SECRET_BYTES),
             tls.CA_CERT: ca_pem.encode(), tls.CA_KEY: ca_key.encode()}
    for name, data in files.items():
        with open(os.path.join(path, name), 'wb') as f:
            f.write(data)
        os.chown(os.path.join(path, name), 0, gid)
        os.chmod(os.path.join(path, name), 0o440)
    return path
