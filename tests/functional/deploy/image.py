"""The agent's image built (cached) and run under podman as the manifest
runs it: its user, its capabilities, a read-only root filesystem."""

import os
import secrets
import subprocess
import time

from tests.fixtures import netns
from tests.unit.deploy import render

BUILD_TIMEOUT = 1500
# As tools/build-image.sh: runc, and rlimits within the machine's (crun
# refuses hybrid cgroups; podman's default nofile needs CAP_SYS_RESOURCE).
RUNTIME = ['--runtime', 'runc']
ULIMITS = ['--ulimit', 'nofile=16384:16384', '--ulimit', 'nproc=4096:4096']


def build():
    """tools/build-image.sh: the image name (cached when inputs are)."""
    res = subprocess.run([os.path.join(render.REPO, 'tools',
                                       'build-image.sh')],
                         cwd=render.REPO, timeout=BUILD_TIMEOUT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if res.returncode != 0:
        raise RuntimeError('image build failed: %s' % res.stderr[-3000:])
    return res.stdout.strip().splitlines()[-1]


def run_argv(objects, image, netns_name, conf_dir, state,
             no_new_privs=None, entrypoint=None):
    """``podman run`` with the Deployment's securityContext and mounts.

    :param no_new_privs: instead of the Deployment's
        allowPrivilegeEscalation (its negation).
    :param entrypoint: another interpreter instead of the image's.
    """
    dep = render.find(objects, 'Deployment')
    (c,) = dep['spec']['template']['spec']['containers']
    sc = c['securityContext']
    argv = ['podman'] + RUNTIME + [
        'run', '-d', '--name', 'vmk-%s' % secrets.token_hex(4)] + ULIMITS + [
            '--network', 'ns:/run/netns/%s' % netns_name,
            '--user', '%d:%d' % (sc['runAsUser'], sc['runAsGroup'])]
    for cap in sc['capabilities']['drop']:
        argv += ['--cap-drop', cap]
    for cap in sc['capabilities']['add']:
        argv += ['--cap-add', cap]
    if sc['readOnlyRootFilesystem']:
        argv += ['--read-only', '--tmpfs', '/tmp']
    if no_new_privs is None:
        no_new_privs = not sc['allowPrivilegeEscalation']
    if no_new_privs:
        argv += ['--security-opt', 'no-new-privileges']
    mounts = {m['name']: m['mountPath'] for m in c['volumeMounts']}
    argv += ['-v', '%s:%s:ro' % (conf_dir, mounts['config']),
             '-v', '%s:%s' % (state, mounts['state'])]
    if entrypoint:
        argv += ['--entrypoint', entrypoint, image,
                 '-m', 'vmetal_ironic.cmd.dhcp_agent'] + c['args']
    else:
        argv += [image] + c['args']
    return argv


class Container:
    """A container this test started; removed by its name."""

    def __init__(self, argv):
        self.name = argv[argv.index('--name') + 1]
        self.argv = argv
        netns.run(*argv, timeout=60)

    def logs(self):
        res = netns.run('podman', *RUNTIME, 'logs', self.name, check=False)
        return res.stdout + res.stderr

    def inspect(self, fmt):
        return netns.run('podman', *RUNTIME, 'inspect', '-f', fmt,
                         self.name).stdout.strip()

    def wait_log(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.logs()
            if text in out:
                return True
            if self.inspect('{{.State.Running}}') != 'true':
                return text in self.logs()
            time.sleep(0.3)
        return False

    def remove(self):
        netns.run('podman', *RUNTIME, 'rm', '-f', '-t', '2', self.name,
                  check=False, timeout=60)
