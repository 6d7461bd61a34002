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


def run_argv(objects, image, netns_name, volumes, container='agent',
             no_new_privs=None, entrypoint=None, pod_name=None):
    """``podman run`` of a StatefulSet container with its securityContext.

    :param volumes: {volume name: host path} for the pod's volumes; a
        volume not given is an emptyDir: a tmpfs at its mount. A subPath
        mount binds ``<host path>/<subPath>``.
    :param no_new_privs: instead of allowPrivilegeEscalation (negated).
    :param entrypoint: another interpreter instead of the image's.
    :param pod_name: the pod's name (hostname and POD_NAME).
    """
    sts = render.find(objects, 'StatefulSet')
    c = render.container(sts, container)
    sc = c['securityContext']
    argv = ['podman'] + RUNTIME + [
        'run', '-d', '--name', 'vmk-%s' % secrets.token_hex(4)] + ULIMITS + [
            '--network', 'ns:/run/netns/%s' % netns_name,
            '--user', '%d:%d' % (sc['runAsUser'], sc['runAsGroup'])]
    if pod_name:
        argv += ['--hostname', pod_name, '-e', 'POD_NAME=%s' % pod_name]
    for cap in sc['capabilities']['drop']:
        argv += ['--cap-drop', cap]
    for cap in sc['capabilities']['add']:
        argv += ['--cap-add', cap]
    if sc['readOnlyRootFilesystem']:
        # Only the pod's volumes are writable (no podman tmpfs on /run).
        argv += ['--read-only', '--read-only-tmpfs=false']
    if no_new_privs is None:
        no_new_privs = not sc['allowPrivilegeEscalation']
    if no_new_privs:
        argv += ['--security-opt', 'no-new-privileges']
    for m in c['volumeMounts']:
        ro = ':ro' if m.get('readOnly') else ''
        if m['name'] not in volumes:
            argv += ['--tmpfs', m['mountPath']]
        elif 'subPath' in m:
            argv += ['-v', '%s:%s%s' % (os.path.join(
                volumes[m['name']], m['subPath']), m['mountPath'], ro)]
        else:
            argv += ['-v', '%s:%s%s' % (volumes[m['name']], m['mountPath'],
                                        ro)]
    command = c.get('command', [])
    if entrypoint:
        command = [entrypoint, '-m', 'vmetal_ironic.cmd.dhcp_agent']
    if command:
        argv += ['--entrypoint', command[0], image] + command[1:]
    else:
        argv += [image]
    return argv + c.get('args', [])


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

    def kill(self):
        """SIGKILL, as a node's loss ends it; stays for its logs."""
        netns.run('podman', *RUNTIME, 'kill', self.name, check=False,
                  timeout=60)

    def remove(self):
        netns.run('podman', *RUNTIME, 'rm', '-f', '-t', '2', self.name,
                  check=False, timeout=60)


def run_to_end(argv, timeout=60):
    """Run a container (an init container) to its end: (rc, logs)."""
    c = Container(argv)
    try:
        rc = int(netns.run('podman', *RUNTIME, 'wait', c.name,
                           timeout=timeout).stdout.strip())
        return rc, c.logs()
    finally:
        c.remove()
