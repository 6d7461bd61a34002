"""The StatefulSet's two pods, each as a kubelet would run it: its own
network namespace on its own "node", prov0 made by the real CNI plugin
from the NetworkAttachmentDefinition (no IPAM), then the init container,
then the agent and keepalived containers of the built image under podman
(runc) with the StatefulSet's securityContexts and mounts.

Each pod gets its own provisioning address; a real udhcpc is answered;
one pod holds the VIP (service_address); a download through the proxy at
the VIP works. Then the VIP holder fails: its agent container alone is
SIGKILLed (keepalived's track script on /healthz gives the VIP up), or
the whole pod is lost (both containers SIGKILLed, its sandbox torn down
by CNI DEL). The VIP moves to the other pod, a second download through it
works, DHCP is still answered.
"""

import configparser
import hashlib
import os
import subprocess
import time

import pytest

from tests.fixtures.bridge_bed import wait_port
from tests.fixtures import netns
from tests.functional.deploy import clients
from tests.functional.deploy import image
from tests.functional.deploy import pod
from tests.unit.deploy import render

VIP = '172.22.0.2'
BOOT_PORT = 8088
CLIENT = '172.22.0.50/24'


@pytest.fixture(scope='module')
def built():
    netns.require_root_and('podman', 'podman', 'runc', 'curl')
    return image.build()


def configmap(net, lab):
    """The ConfigMap's files for a pod, the agent's pointed at this lab.

    server_address is left out: the init step's agent.conf gives it.
    """
    etc = net.configmap_dir()
    netns.write_json(os.path.join(etc, 'hosts.json'), pod.HOSTS)
    opts = net.agent_conf(reservations_file='/etc/vmetal-ironic/hosts.json',
                          tftp_enabled='false')
    del opts['server_address']
    parser = configparser.ConfigParser(interpolation=None)
    parser['DEFAULT'] = {'debug': 'true', 'use_stderr': 'true'}
    parser['dhcp_agent'] = opts
    path = os.path.join(etc, 'vmetal-ironic.conf')
    with open(path, 'w') as f:
        parser.write(f)
    os.chmod(path, 0o644)
    return etc


class Pod:
    """One StatefulSet pod: sandbox, init container, two containers."""

    def __init__(self, lab, overlay, ordinal, prov, cluster):
        self.net = pod.PodNetwork(lab, overlay, ordinal, prov, cluster)
        self.lab = lab
        self.containers = {}

    def start(self, built):
        net = self.net
        net.add()
        etc = configmap(net, self.lab)
        out = self.lab.path('pod-%d' % net.ordinal)
        os.makedirs(out)
        rc, logs = image.run_to_end(image.run_argv(
            net.objects, built, net.pod.name, {'config': etc, 'pod': out},
            container='pod-init', pod_name=net.name))
        assert rc == 0, logs
        assert 'has %s/24 on prov0' % net.server_address() in logs, logs
        volumes = {'config': etc, 'pod': out,
                   'state': pod.state_dir(self.lab,
                                          name='state-%d' % net.ordinal),
                   'callback': pod.callback_secret(self.lab)}
        for name in ('keepalived', 'agent'):
            self.containers[name] = image.Container(image.run_argv(
                net.objects, built, net.pod.name, volumes, container=name,
                pod_name=net.name))

    def addresses(self):
        return [a['local'] for link in pod.ip_json(self.net.pod, 'addr')
                if link['ifname'] == 'prov0'
                for a in link['addr_info'] if a['family'] == 'inet']

    def fail(self, how):
        """Make this pod fail.

        ``agent-dies``: the agent's container SIGKILLed, keepalived left
        running; ``pod-lost``: both, then the sandbox's CNI DEL.
        """
        if how == 'agent-dies':
            self.containers['agent'].kill()
            return
        for c in self.containers.values():
            c.kill()
        self.net.delete()

    def logs(self):
        return '\n'.join('--- %s\n%s' % (n, c.logs()[-3000:])
                         for n, c in self.containers.items())

    def close(self):
        for c in self.containers.values():
            c.remove()
        self.net.close()


def holder(pods, want=None, timeout=40):
    """The one pod holding the VIP on its prov0.

    Waits until exactly one holds it (``want``, if given).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in pods if VIP in p.addresses()]
        if len(found) == 1 and want in (None, found[0]):
            return found[0]
        time.sleep(0.2)
    raise AssertionError('VIP holders: %s\n%s' % (
        [p.net.name for p in pods if VIP in p.addresses()],
        '\n'.join(p.logs() for p in pods)))


def download(lab, ns, digest, name):
    """GET /kernel through the proxy at the VIP; its content checked."""
    path = lab.path(name)
    res = ns.run('curl', '-sSf', '--max-time', '20', '-o', path,
                 'http://%s:8080/kernel' % VIP, check=False, timeout=30)
    assert res.returncode == 0, res.stderr
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest


@pytest.mark.timeout(image.BUILD_TIMEOUT + 300)
@pytest.mark.parametrize('how', ['agent-dies', 'pod-lost'])
@pytest.mark.parametrize('overlay', render.OVERLAYS)
def test_two_pods_share_the_vip_and_survive_losing_its_holder(
        lab, built, overlay, how):
    prov = lab.segment('prov')
    cluster = lab.segment('clus')
    # The cluster side: Ironic's boot file server (ironic_http_url).
    ironic = lab.namespace('ironic')
    ironic.attach(cluster, 'eth0', pod.IRONIC + '/24')
    boot = lab.path('boot')
    os.makedirs(boot)
    blob = os.urandom(1 << 20)
    with open(os.path.join(boot, 'kernel'), 'wb') as f:
        f.write(blob)
    digest = hashlib.sha256(blob).hexdigest()
    server = ironic.popen(netns.PYTHON, '-m', 'http.server', '--bind',
                          pod.IRONIC, '--directory', boot, str(BOOT_PORT),
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    pods = [Pod(lab, overlay, i, prov, cluster) for i in (0, 1)]
    try:
        wait_port(ironic, pod.IRONIC, BOOT_PORT)
        for p in pods:
            p.start(built)
        for p in pods:
            assert p.containers['agent'].wait_log('DHCP server started',
                                                  90), p.logs()
        # One provisioning address each, from the init step.
        own = [p.net.server_address() for p in pods]
        assert own == ['172.22.0.3', '172.22.0.4']
        for p, addr in zip(pods, own):
            assert addr in p.addresses(), p.addresses()
        first = holder(pods)
        net = pods[0].net
        rc, lines = clients.udhcpc(
            net.client('cprov', prov, pod.MAC_PROV), lab, 'prov', tries=10)
        assert rc == 0 and len(lines) == 1, (rc, lines)
        assert lines[0].startswith('bound ip=%s mask=24 server=' %
                                   pod.PROV_IP), lines
        assert lines[0].split('server=')[1] in own
        web = lab.namespace('web')
        web.attach(prov, 'eth0', CLIENT)
        download(lab, web, digest, 'dl1')

        first.fail(how)
        survivor = [p for p in pods if p is not first][0]
        assert holder(pods, want=survivor) is survivor
        download(lab, web, digest, 'dl2')
        again = net.client('cprov2', prov, pod.MAC_PROV)
        rc, lines = clients.udhcpc(again, lab, 'prov2', tries=10)
        assert rc == 0 and lines == [
            'bound ip=%s mask=24 server=%s' % (
                pod.PROV_IP, survivor.net.server_address())], (rc, lines)
        if how == 'agent-dies':
            assert VIP not in first.addresses()
            assert first.containers['keepalived'].inspect(
                '{{.State.Running}}') == 'true'
        for p in pods:
            assert 'Traceback' not in p.logs(), p.logs()
    finally:
        for p in pods:
            p.close()
        netns.stop_process(server)
