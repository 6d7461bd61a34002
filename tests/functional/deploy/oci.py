"""The image run by runc with the OCI process a CRI runtime makes.

containerd and CRI-O turn a container's ``securityContext`` into an OCI
process whose bounding, effective and permitted sets are the added
capabilities and whose inheritable and ambient sets are empty (so a
non-root process loses them at exec: kubernetes/kubernetes#56374).
podman instead also fills the ambient set for a non-root ``--user``, so
it cannot show that; here runc runs the image's root filesystem (mounted
read-only by ``podman image mount``) with the CRI's capability sets.
"""

import json
import os
import secrets
import subprocess
import time

from tests.fixtures import netns
from tests.unit.deploy import render


def process_spec(objects, argv, no_new_privs=None):
    """The OCI ``process`` a CRI runtime makes of the agent container.

    :param no_new_privs: instead of the agent container's
        allowPrivilegeEscalation (its negation).
    """
    sts = render.find(objects, 'StatefulSet')
    sc = render.container(sts, 'agent')['securityContext']
    assert sc['capabilities']['drop'] == ['ALL']
    caps = ['CAP_' + cap for cap in sc['capabilities']['add']]
    return {
        'terminal': False,
        'user': {'uid': sc['runAsUser'], 'gid': sc['runAsGroup']},
        'args': argv,
        'env': ['PATH=/opt/vmetal/bin:/usr/bin:/bin', 'HOME=/tmp',
                'PYTHONDONTWRITEBYTECODE=1'],
        'cwd': '/',
        'capabilities': {'bounding': caps, 'effective': caps,
                         'permitted': caps, 'inheritable': [],
                         'ambient': []},
        'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 4096, 'soft': 4096}],
        'noNewPrivileges': (not sc['allowPrivilegeEscalation']
                            if no_new_privs is None else no_new_privs),
    }


class RuncContainer:
    """runc running ``image`` in network namespace ``netns_name``."""

    def __init__(self, lab, objects, image, netns_name, etc, state, argv,
                 no_new_privs=None):
        self.lab = lab
        self.image = image
        self.id = 'vmk-%s' % secrets.token_hex(4)
        rootfs = netns.run('podman', 'image', 'mount', image,
                           timeout=60).stdout.strip()
        self.bundle = lab.path('bundle-' + self.id)
        os.makedirs(self.bundle)
        netns.run('runc', 'spec', '--bundle', self.bundle)
        path = os.path.join(self.bundle, 'config.json')
        with open(path) as f:
            spec = json.load(f)
        spec['root'] = {'path': rootfs, 'readonly': True}
        spec['process'] = process_spec(objects, argv, no_new_privs)
        spec['hostname'] = 'vmetal-dhcp-agent'
        spec['mounts'] += [
            {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs',
             'options': ['nosuid', 'nodev', 'mode=1777']},
            {'destination': '/etc/vmetal-ironic', 'type': 'bind',
             'source': etc, 'options': ['rbind', 'ro']},
            {'destination': '/var/lib/vmetal-ironic/agent', 'type': 'bind',
             'source': state, 'options': ['rbind', 'rw']}]
        for ns in spec['linux']['namespaces']:
            if ns['type'] == 'network':
                ns['path'] = '/run/netns/%s' % netns_name
        with open(path, 'w') as f:
            json.dump(spec, f)
        self.log_path = lab.path(self.id + '.log')
        with open(self.log_path, 'w') as log:
            self.proc = subprocess.Popen(
                ['runc', 'run', '--bundle', self.bundle, self.id],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def logs(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def wait_log(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.logs():
                return True
            if self.proc.poll() is not None:
                return text in self.logs()
            time.sleep(0.2)
        return False

    def pid(self):
        out = netns.run('runc', 'state', self.id).stdout
        return json.loads(out)['pid']

    def remove(self):
        netns.run('runc', 'kill', self.id, 'KILL', check=False)
        netns.stop_process(self.proc)
        netns.run('runc', 'delete', '-f', self.id, check=False)
        netns.run('podman', 'image', 'unmount', self.image, check=False,
                  timeout=60)
