"""Test bed of the bridge tests: the real agent between two segments.

    [ns client] eth0 172.22.0.60 --(prov bridge)-- prov0 172.22.0.2 [ns agent]
                                                    clus0 10.99.0.2
                                                       |
                       (clus bridge) -- clus1 10.99.0.1 [ns cluster]
                             stand-in HTTP boot server :8088
                             stand-in Ironic API       :6385
                             a foreign service         :9999

The agent is ``vmetal-dhcp-agent`` (standalone reservations file) run as
an unprivileged user with CAP_NET_RAW and CAP_NET_BIND_SERVICE, serving
DHCP, TFTP (port 69) and the HTTP proxy (port 8080) on 172.22.0.2. The
client has no route to the cluster segment.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.functional.agent import netns

SERVER = '172.22.0.2'
CLIENT_IP = '172.22.0.60'
CLUSTER_IP = '10.99.0.1'
BOOT_PORT = 8088
API_PORT = 6385
FOREIGN_PORT = 9999
PROXY = 'http://%s:8080' % SERVER
IPXE_DIR = '/usr/lib/ipxe'
BINARIES = ('undionly.kpxe', 'snponly.efi', 'ipxe.efi')
STAND_IN = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'stand_in.py')

MAC_BIOS_VM = '52:54:00:bb:00:10'
MAC_UEFI_VM = '52:54:00:bb:00:11'
IP_BIOS_VM = '172.22.0.70'
IP_UEFI_VM = '172.22.0.71'

HOSTS = {'defaults': {'prefix': 24, 'lease_time': 600},
         'hosts': [{'mac': '52:54:00:bb:00:01', 'ip': '172.22.0.61'},
                   {'mac': MAC_BIOS_VM, 'ip': IP_BIOS_VM,
                    'hostname': 'bios-vm'},
                   {'mac': MAC_UEFI_VM, 'ip': IP_UEFI_VM,
                    'hostname': 'uefi-vm'}]}


def require_root_and(*binaries):
    """Skip unless root; fail if a Debian binary is missing."""
    if not netns.have_root():
        pytest.skip('needs root: network namespaces, ports 69 and 8080')
    missing = netns.missing_binaries(*binaries)
    if missing:
        pytest.fail('missing binaries (tools/debian-packages.txt): %s'
                    % ', '.join(missing))


def wait_port(ns, address, port, timeout=10):
    """Wait until a TCP port accepts connections inside ``ns``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = ns.run(netns.PYTHON, '-c',
                   'import socket; socket.create_connection((%r, %d), 1)'
                   % (address, port), check=False)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError('%s:%d did not open in %s' % (address, port,
                                                     ns.name))


def agent_opts(bed_dir, **overrides):
    """``[dhcp_agent]`` options of a bridge test agent."""
    opts = {'interface': 'prov0', 'server_address': SERVER,
            'tftp_root': os.path.join(bed_dir, 'tftpboot'),
            'ironic_http_url': 'http://%s:%d' % (CLUSTER_IP, BOOT_PORT),
            'ironic_api_url': 'http://%s:%d' % (CLUSTER_IP, API_PORT),
            'ipxe_script_url': PROXY + '/boot.ipxe',
            'http_max_body_size': 65536,
            'http_read_timeout': 10}
    opts.update(overrides)
    return opts


def make_tftp_root(path):
    """A TFTP root with the iPXE binaries and traps around it."""
    os.makedirs(path)
    for name in BINARIES:
        shutil.copy(os.path.join(IPXE_DIR, name), path)  # follows links
    with open(os.path.join(path, 'big.bin'), 'wb') as f:
        f.write(os.urandom(3 * 1024 * 1024 + 17))
    secret = os.path.join(os.path.dirname(path), 'secret.txt')
    with open(secret, 'w') as f:
        f.write('SECRET outside the TFTP root\n')
    os.symlink(secret, os.path.join(path, 'escape'))
    os.symlink('snponly.efi', os.path.join(path, 'alias.efi'))
    for name in os.listdir(path):
        if not os.path.islink(os.path.join(path, name)):
            os.chmod(os.path.join(path, name), 0o644)


class Bed:
    """The running test bed (see the module docstring)."""

    def __init__(self, lab):
        self.lab = lab
        self.prov = lab.segment('prov')
        self.clus = lab.segment('clus')
        self.agent_ns = lab.namespace('agent')
        self.agent_ns.attach(self.prov, 'prov0', SERVER + '/24')
        self.agent_ns.attach(self.clus, 'clus0', '10.99.0.2/24')
        self.cluster = lab.namespace('cluster')
        self.cluster.attach(self.clus, 'clus1', CLUSTER_IP + '/24')
        self.client = lab.namespace('client')
        self.client.attach(self.prov, 'eth0', CLIENT_IP + '/24')
        self.tftp_root = lab.path('tftpboot')
        make_tftp_root(self.tftp_root)
        self.http_root = lab.path('httpboot')
        os.makedirs(self.http_root)
        self.boot_log = lab.path('boot-requests.log')
        self.api_log = lab.path('api-requests.log')
        self.stand_ins = []
        self.agent = None

    def start_cluster_side(self):
        """Start the stand-in boot server, API and a foreign service."""
        for port, log in ((BOOT_PORT, self.boot_log),
                          (API_PORT, self.api_log)):
            self.stand_ins.append(self.cluster.popen(
                netns.PYTHON, STAND_IN, '--root', self.http_root,
                '--address', CLUSTER_IP, '--port', str(port), '--log',
                log, stdout=subprocess.DEVNULL))
        self.foreign_log = self.lab.path('foreign.log')
        self.stand_ins.append(self.cluster.popen(
            netns.PYTHON, STAND_IN, '--root', self.http_root,
            '--address', CLUSTER_IP, '--port', str(FOREIGN_PORT), '--log',
            self.foreign_log, stdout=subprocess.DEVNULL))
        for port in (BOOT_PORT, API_PORT, FOREIGN_PORT):
            wait_port(self.cluster, CLUSTER_IP, port)

    def write_http(self, name, data):
        path = os.path.join(self.http_root, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, 0o644)
        return path

    def curl(self, *args, timeout=60, check=True):
        """curl in the client namespace; returns CompletedProcess."""
        return self.client.run('curl', '-sS', '--max-time', str(timeout),
                               *args, timeout=timeout + 10, check=check)

    def requests_seen(self, log):
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return f.read().splitlines()


@pytest.fixture(scope='package')
def bed():
    require_root_and('ip', 'setpriv', 'curl', 'tftp', 'atftp')
    with netns.Lab('vbr') as lab:
        b = Bed(lab)
        b.start_cluster_side()
        b.agent = netns.start_agent(lab, b.agent_ns,
                                    agent_opts(lab.tmpdir), HOSTS)
        try:
            wait_port(b.client, SERVER, 8080)
            yield b
        finally:
            b.agent.stop()


def probe(ns, server, name, opcode=1, mode='octet', options=None,
          drop_acks=0, timeout=30):
    """Run tftp_probe.py in ``ns``; its JSON result."""
    doc = {'server': server, 'name': name, 'opcode': opcode, 'mode': mode,
           'options': options or {}, 'drop_acks': drop_acks}
    out = ns.run(netns.PYTHON, '-m', 'tests.functional.bridge.tftp_probe',
                 json.dumps(doc), timeout=timeout, cwd=netns.REPO,
                 env=dict(os.environ, PYTHONPATH=netns.REPO)).stdout
    return json.loads(out)
