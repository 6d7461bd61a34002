"""A REAL ironic-python-agent boots from the built ramdisk and looks up.

QEMU boots the kernel and initramfs of tools/build-ramdisk.sh directly
(``-kernel``/``-initrd``) with the command line Ironic's iPXE script
gives (``ipa-api-url=``, ``ipa-insecure``, ``BOOTIF=``), one virtio NIC
on a bridge in a network namespace and a blank virtio disk. The
project's DHCP agent (file source: one reservation for the machine's
MAC) gives the address; a
stand-in of Ironic's ramdisk API (tests/fixtures/ipa_api.py) records the
requests. The test waits for the agent's ``GET /v1/lookup`` carrying the
machine's MAC, answers it with a node UUID and a token as Ironic does,
and then waits for the heartbeat ``POST /v1/heartbeat/<uuid>`` whose
body is the agent's callback URL on its reserved address.
"""

import json
import os
import re
import time
import uuid

import pytest

from tests.fixtures import dhcp_bed
from tests.fixtures import images
from tests.fixtures import ipa_api
from tests.fixtures import netns

SERVER = '172.22.0.2'
NODE_IP = '172.22.0.60'
MAC = '52:54:00:ab:00:60'
API_PORT = 6385
# Power-on to lookup is ~20-40 s under KVM; TCG is several times slower.
BOOT_TIMEOUT = 180 if images.accel() == 'kvm' else 600


def _requests(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


@pytest.fixture
def ramdisk_lab(ramdisk_build):
    netns.require_root_and('namespaces and QEMU', 'qemu-system-x86_64',
                           'setpriv')
    with netns.Lab('vrd') as lab:
        seg = lab.segment('prov')
        server = lab.namespace('server')
        server.attach(seg, 'prov0', SERVER + '/24')
        hosts = {'defaults': {'prefix': 24, 'lease_time': 600},
                 'hosts': [{'mac': MAC, 'ip': NODE_IP,
                            'hostname': 'ipa-node'}]}
        agent = netns.start_agent(lab, server, dict(dhcp_bed.AGENT_OPTS),
                                  hosts)
        api_log = lab.path('ipa-api.jsonl')
        node_uuid = str(uuid.uuid4())
        server.popen(netns.PYTHON, os.path.join(netns.REPO, 'tests',
                                                'fixtures', 'ipa_api.py'),
                     '--address', SERVER, '--port', str(API_PORT),
                     '--log', api_log, '--node-uuid', node_uuid,
                     '--mac', MAC)
        try:
            yield lab, seg, agent, api_log, node_uuid
        finally:
            agent.stop()


def test_real_ipa_boots_gets_its_address_looks_up_and_heartbeats(
        ramdisk_lab, ramdisk_build):
    lab, seg, agent, api_log, node_uuid = ramdisk_lab
    kernel, initramfs = ramdisk_build
    cmdline = ('console=ttyS0,115200n8 nofb nomodeset vga=normal '
               'ipa-api-url=http://%s:%d ipa-insecure=1 BOOTIF=01-%s '
               'ipa-debug=1' % (SERVER, API_PORT, MAC.replace(':', '-')))
    # A blank disk, as a real node has: the agent waits for a root device
    # candidate before it looks up.
    disk = lab.path('node-disk.qcow2')
    netns.run('qemu-img', 'create', '-q', '-f', 'qcow2', disk, '4G')
    vm = images.Machine(lab, seg, 'ipa', MAC, memory_mb=2048)
    vm.start('-kernel', kernel, '-initrd', initramfs, '-append', cmdline,
             '-drive', 'if=virtio,format=qcow2,file=%s' % disk)
    try:
        lookup = images.wait_for(
            lambda: [r for r in _requests(api_log)
                     if r['path'].rstrip('/') == '/v1/lookup'],
            BOOT_TIMEOUT, machine=vm)
        looked_up = time.monotonic() - vm.started
        heartbeat = images.wait_for(
            lambda: [r for r in _requests(api_log)
                     if r['method'] == 'POST'
                     and r['path'] == '/v1/heartbeat/%s' % node_uuid],
            120, machine=vm)
        heartbeated = time.monotonic() - vm.started
    finally:
        vm.stop()
    print('power-on to lookup %.1f s, to heartbeat %.1f s (%s)'
          % (looked_up, heartbeated, images.accel_args()[1]))
    diag = 'console:\n%s\nqemu:\n%s\nagent:\n%s' % (
        vm.console_text(), vm.qemu_log(), agent.log()[-1500:])
    assert lookup, 'no lookup; %s' % diag
    addresses = ','.join(lookup[0]['query']['addresses']).split(',')
    assert MAC in [a.lower() for a in addresses], lookup[0]
    assert lookup[0]['client'] == NODE_IP, lookup[0]
    assert 'ACK %s' % NODE_IP in agent.log(), diag
    assert heartbeat, 'no heartbeat; %s' % diag
    body = json.loads(heartbeat[0]['body'])
    # https: IPA's automatic TLS (it sends its certificate as
    # agent_verify_ca), as with a real Ironic
    assert re.match(r'https?://%s:9999$' % re.escape(NODE_IP),
                    body['callback_url']), body
    assert body['agent_token'] == ipa_api.TOKEN, body
    assert body['agent_version'].startswith('13.'), body
