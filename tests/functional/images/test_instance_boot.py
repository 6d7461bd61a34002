"""The instance image boots (SeaBIOS and OVMF) on its config drive address.

QEMU boots a copy-on-write overlay of tools/build-disk-image.sh's qcow2
with a config drive on a second virtio disk: an ISO 9660 labelled
``config-2`` (genisoimage) holding openstack/latest/meta_data.json and
network_data.json, the files Ironic writes. No DHCP server runs on the
segment: the address can only come from network_data.json, which glean
in the image turns into an ifupdown stanza. The test waits until the
machine answers ping and accepts a TCP connection to sshd on that
address, from a namespace on the same bridge. UEFI uses OVMF with a
private copy of its variable store and no boot entry: GRUB must be on
the removable-media path.
"""

import json
import os
import time
import uuid

import pytest

from tests.fixtures import images
from tests.fixtures import netns

PEER = '172.22.0.2'
STATIC_IP = '172.22.0.70'
MAC = '52:54:00:ab:00:70'
BOOT_TIMEOUT = 180 if images.accel() == 'kvm' else 600


def _config_drive(lab, hostname):
    root = lab.path('configdrive')
    latest = os.path.join(root, 'openstack', 'latest')
    os.makedirs(latest)
    meta = {'uuid': str(uuid.uuid4()), 'hostname': hostname,
            'name': hostname, 'public_keys': {},
            'availability_zone': 'nova', 'launch_index': 0}
    network = {
        'links': [{'id': 'port-0', 'type': 'phy', 'mtu': 1500,
                   'ethernet_mac_address': MAC}],
        'networks': [{'id': 'network-0', 'type': 'ipv4', 'link': 'port-0',
                      'ip_address': STATIC_IP, 'netmask': '255.255.255.0',
                      'routes': [], 'network_id': str(uuid.uuid4())}],
        'services': []}
    for name, doc in (('meta_data.json', meta),
                      ('network_data.json', network)):
        with open(os.path.join(latest, name), 'w') as f:
            json.dump(doc, f)
    iso = lab.path('configdrive.iso')
    netns.run('genisoimage', '-quiet', '-o', iso, '-V', 'config-2', '-r',
              '-J', root)
    return iso


def _tcp_open(ns, address, port):
    p = ns.run('python3', '-c',
               'import socket,sys; socket.create_connection('
               '(sys.argv[1], int(sys.argv[2])), timeout=2).close()',
               address, str(port), check=False, timeout=10)
    return p.returncode == 0


@pytest.fixture
def instance_lab(disk_image_build):
    netns.require_root_and('namespaces and QEMU', 'qemu-system-x86_64',
                           'genisoimage', 'qemu-img', 'ping')
    with netns.Lab('vdi') as lab:
        seg = lab.segment('prov')
        peer = lab.namespace('peer')
        peer.attach(seg, 'eth0', PEER + '/24')
        overlay = lab.path('disk.qcow2')
        netns.run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                  disk_image_build, '-F', 'qcow2', overlay)
        yield lab, seg, peer, overlay


@pytest.mark.parametrize('firmware', ['bios', 'uefi'])
def test_instance_image_comes_up_on_the_config_drive_address(
        instance_lab, firmware):
    lab, seg, peer, overlay = instance_lab
    if firmware == 'uefi' and not os.path.exists(images.OVMF_CODE):
        pytest.fail('%s missing (Debian package ovmf)' % images.OVMF_CODE)
    iso = _config_drive(lab, 'deployed-' + firmware)
    args = ['-drive', 'if=none,id=root,format=qcow2,file=%s' % overlay,
            '-device', 'virtio-blk-pci,drive=root,bootindex=1',
            '-drive', 'if=none,id=cd,format=raw,readonly=on,file=%s' % iso,
            '-device', 'virtio-blk-pci,drive=cd']
    if firmware == 'uefi':
        args += images.uefi_firmware(lab, 'instance')
    vm = images.Machine(lab, seg, 'inst' + firmware, MAC, memory_mb=1024)
    vm.start(*args)
    try:
        up = images.wait_for(lambda: _tcp_open(peer, STATIC_IP, 22),
                             BOOT_TIMEOUT, machine=vm, step=1)
        booted = time.monotonic() - vm.started
        pinged = peer.run('ping', '-c', '1', '-W', '2', STATIC_IP,
                          check=False).returncode == 0
    finally:
        vm.stop()
    print('%s: power-on to sshd on %s: %.1f s (%s)'
          % (firmware, STATIC_IP, booted, images.accel_args()[1]))
    diag = 'console:\n%s\nqemu:\n%s' % (vm.console_text(), vm.qemu_log())
    assert up, 'no TCP connection to %s:22; %s' % (STATIC_IP, diag)
    assert pinged, diag
    console = vm.console_text(tail=200000)
    assert 'deployed-%s' % firmware in console, diag
