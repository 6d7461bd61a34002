"""A real standalone Ironic 39 for functional tests and the benchmark.

:class:`IronicEnv` writes an ironic.conf into a temporary state directory
(SQLite, noauth, ``rpc_transport=none``, free ports), creates Ironic's
schema and the vmetal IPAM schema, starts the single-process ``ironic``
command and a :class:`~tests.functional.ironic.fake_ipa.FakeIPA`, and
drives Ironic through its REST API. See ironic-notes section 6.

The vmetal entry points must be visible to Ironic: when the project is not
installed (``pip install -e .``), a ``*.dist-info`` with them is written
into the state directory and put on ``PYTHONPATH``.
"""

import importlib.metadata
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import requests

from tests.functional.ironic import fake_ipa
from tests.functional.ironic import ironic_conf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
API_HEADERS = {'X-OpenStack-Ironic-API-Version': 'latest'}

ENTRY_POINTS = """\
[ironic.hardware.interfaces.network]
vmetal = vmetal_ironic.network.interface:VmetalNetwork

[ironic.dhcp]
vmetal = vmetal_ironic.dhcp.provider:VmetalDHCP

[ironic.hardware.types]
vmetal-ipmi = vmetal_ironic.drivers.hardware:VmetalIPMIHardware
vmetal-redfish = vmetal_ironic.drivers.hardware:VmetalRedfishHardware

[oslo.messaging.notify.drivers]
vmetal = vmetal_ironic.notify.driver:VmetalNotifyDriver
"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _installed():
    eps = importlib.metadata.entry_points(group='ironic.dhcp')
    return any(ep.name == 'vmetal' for ep in eps)


class IronicError(Exception):
    pass


class IronicEnv(object):
    """One Ironic process, its state directory and a fake IPA.

    :param notifications: enable the vmetal notification driver.
    :param reconcile_interval: ``[vmetal]reconcile_interval``.
    :param extra: {section: {option: value}} merged into ironic.conf.
    :param entry_points: more entry points (entry_points.txt syntax) for
        the Ironic process, e.g. the benchmark's timed interfaces.
    :param pythonpath: more directories for the Ironic process.
    :param environ: more environment variables for the Ironic process.
    """

    def __init__(self, notifications=True, reconcile_interval=3600,
                 extra=None, entry_points=None, pythonpath=(), environ=None):
        self.entry_points = entry_points
        self.pythonpath = list(pythonpath)
        self.environ = dict(environ or {})
        self.notifications = notifications
        self.reconcile_interval = reconcile_interval
        self.extra = extra or {}
        self.state = tempfile.mkdtemp(prefix='vmetal-ironic-')
        self.api_port = free_port()
        self.http_port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.api_port
        self.conf_file = os.path.join(self.state, 'ironic.conf')
        self.log_file = os.path.join(self.state, 'ironic.log')
        self.ipam_url = 'sqlite:///%s/ipam.sqlite' % self.state
        self.proc = None
        self.http_proc = None
        self.ipa = None
        self.session = requests.Session()
        self.session.headers.update(API_HEADERS)
        self._mgr = None

    # -- set-up --------------------------------------------------------------

    def _config(self):
        ironic_conf.write(self)

    def _dist_info(self, name, entry_points):
        info = os.path.join(self.state, 'site', '%s-0.dist-info' % name)
        os.makedirs(info, exist_ok=True)
        with open(os.path.join(info, 'METADATA'), 'w') as fp:
            fp.write('Metadata-Version: 2.1\nName: %s\nVersion: 0\n'
                     % name.replace('_', '-'))
        with open(os.path.join(info, 'entry_points.txt'), 'w') as fp:
            fp.write(entry_points)
        return os.path.dirname(info)

    def _environ(self):
        env = dict(os.environ)
        paths = [REPO] + self.pythonpath
        if not _installed():
            paths.append(self._dist_info('vmetal_ironic_test', ENTRY_POINTS))
        if self.entry_points:
            paths.append(self._dist_info('vmetal_ironic_extra',
                                         self.entry_points))
        if env.get('PYTHONPATH'):
            paths.append(env['PYTHONPATH'])
        env['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
        env['PYTHONWARNINGS'] = 'ignore'
        env.update(self.environ)
        return env

    def _run(self, *argv):
        subprocess.run(argv, check=True, env=self._environ(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)

    def start(self, timeout=60):
        """Write the config, create both schemas, start Ironic + fake IPA."""
        self._config()
        # An image for the "direct" deploy interface, served over HTTP
        # (file:// image sources hit an Ironic 39 bug, ironic-notes 6).
        for image in ('disk.img', 'kernel', 'ramdisk'):
            with open(os.path.join(self.state, 'images', image), 'wb') as f:
                f.write(b'\0' * 4096)
        self._run(os.path.join(BIN, 'ironic-dbsync'), '--config-file',
                  self.conf_file, 'create_schema')
        self._run(sys.executable, '-c',
                  'import sys; from vmetal_ironic.cmd import dbsync; '
                  'sys.exit(dbsync.main(sys.argv[1:]))',
                  '--config-file', self.conf_file, 'upgrade')
        self.http_proc = subprocess.Popen(
            [sys.executable, '-m', 'http.server', str(self.http_port),
             '--bind', '127.0.0.1', '--directory', self.state],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.proc = subprocess.Popen(
            [os.path.join(BIN, 'ironic'), '--config-file', self.conf_file],
            env=self._environ(), stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.state, 'stderr.log'), 'wb'),
            start_new_session=True)
        self.ipa = fake_ipa.FakeIPA(self.url)
        self.ipa.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise IronicError('ironic exited with %s; log: %s' % (
                    self.proc.returncode, self.tail_log()))
            try:
                if self.session.get(self.url + '/v1/drivers',
                                    timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise IronicError('ironic did not answer in %ss; log: %s'
                          % (timeout, self.tail_log()))

    def stop(self):
        """Stop what start() started and remove the state directory."""
        if self.ipa:
            self.ipa.stop()
        for proc in (self.proc, self.http_proc):
            if proc and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM) \
                        if proc is self.proc else proc.terminate()
                    proc.wait(timeout=15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    if proc is self.proc:
                        os.killpg(proc.pid, signal.SIGKILL)
                    else:
                        proc.kill()
                    proc.wait(timeout=5)
        if self._mgr is not None:
            self._mgr.close()
        if not os.environ.get('VMETAL_TEST_KEEP_STATE'):
            shutil.rmtree(self.state, ignore_errors=True)

    def tail_log(self, lines=40):
        out = []
        for name in (self.log_file, os.path.join(self.state, 'stderr.log')):
            try:
                with open(name, errors='replace') as fp:
                    out.extend(fp.read().splitlines()[-lines:])
            except OSError:
                pass
        return '\n'.join(out)

    # -- IPAM (the same store Ironic's plugin uses) -------------------------

    @property
    def ipam(self):
        """An IPAMManager on the test's own ConfigOpts, same store."""
        if self._mgr is None:
            from oslo_config import cfg

            from vmetal_ironic.conf import database
            from vmetal_ironic.conf import ipam
            from vmetal_ironic.ipam import manager

            conf = cfg.ConfigOpts()
            database.register_opts(conf)
            ipam.register_opts(conf)
            conf([], project='vmetal-test',
                 default_config_files=[self.conf_file])
            self._mgr = manager.IPAMManager(conf, sync_pools=False)
        return self._mgr

    # -- REST ----------------------------------------------------------------

    def api(self, method, path, expect=None, **kwargs):
        resp = self.session.request(method, self.url + '/v1' + path,
                                    timeout=30, **kwargs)
        if expect is not None and resp.status_code != expect:
            raise IronicError('%s %s -> %s: %s' % (method, path,
                                                   resp.status_code,
                                                   resp.text))
        return resp.json() if resp.content else None

    def create_node(self, name=None, resource_class='baremetal-compute',
                    mac=None, driver='fake-hardware', deploy='custom-agent',
                    network='vmetal', extra_fields=None, driver_info=None,
                    pxe=True):
        """Enroll a node with one port; the fake IPA answers for its MAC."""
        body = {
            'name': name or 'n-%s' % uuid.uuid4().hex[:8],
            'driver': driver, 'resource_class': resource_class,
            'driver_info': dict({'deploy_forces_oob_reboot': True,
                                 'deploy_kernel': self.image_url('kernel'),
                                 'deploy_ramdisk': self.image_url('ramdisk')},
                                **(driver_info or {})),
        }
        if network:
            body['network_interface'] = network
        if driver == 'fake-hardware':
            body.update(power_interface='fake', management_interface='noop',
                        boot_interface='ipxe', deploy_interface=deploy)
        body.update(extra_fields or {})
        node = self.api('POST', '/nodes', expect=201, json=body)
        mac = mac or fake_ipa.random_mac()
        self.api('POST', '/ports', expect=201,
                 json={'node_uuid': node['uuid'], 'address': mac,
                       'pxe_enabled': pxe})
        self.ipa.attach(node['uuid'], mac)
        node['mac'] = mac
        return node

    def node(self, ident):
        return self.api('GET', '/nodes/%s' % ident, expect=200)

    def set_state(self, ident, target, expect=202, **body):
        body['target'] = target
        return self.api('PUT', '/nodes/%s/states/provision' % ident,
                        expect=expect, json=body)

    def wait_state(self, ident, states, timeout=90):
        states = (states,) if isinstance(states, str) else tuple(states)
        deadline = time.monotonic() + timeout
        node = None
        while time.monotonic() < deadline:
            node = self.node(ident)
            if (node['provision_state'] in states
                    and (node['target_provision_state'] is None
                         or node['provision_state'].endswith('failed'))):
                return node
            if (node['provision_state'].endswith('failed')
                    and node['provision_state'] not in states):
                break
            time.sleep(0.2)
        raise IronicError('node %s is %s (target %s, last_error %s), not '
                          '%s after %ss' % (
                              ident, node and node['provision_state'],
                              node and node['target_provision_state'],
                              node and node['last_error'], states, timeout))

    def provide(self, ident, timeout=90):
        """enroll -> manageable -> available (with automated cleaning)."""
        self.set_state(ident, 'manage')
        self.wait_state(ident, 'manageable', timeout)
        self.set_state(ident, 'provide')
        return self.wait_state(ident, 'available', timeout)

    def image_url(self, image):
        return 'http://127.0.0.1:%d/images/%s' % (self.http_port, image)

    def instance_info(self, image='disk.img'):
        return {'image_source': self.image_url(image),
                'image_checksum': 'unused', 'image_os_hash_algo': 'sha256',
                'image_os_hash_value': 'a' * 64, 'image_type': 'whole-disk'}

    def patch(self, ident, ops, expect=200):
        return self.api('PATCH', '/nodes/%s' % ident, expect=expect,
                        json=ops)

    def delete(self, ident, expect=204):
        self.ipa.detach(ident)
        return self.api('DELETE', '/nodes/%s' % ident, expect=expect)
