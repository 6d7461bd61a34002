"""End to end with real PXE firmware: QEMU machines boot through the agent.

* BIOS: SeaBIOS with the iPXE option ROM of Debian's ipxe-qemu gets its
  reserved address from the agent's DHCP and fetches ``boot.ipxe`` from
  the cluster-side HTTP server through the agent's proxy; the script
  chains a second URL carrying the machine's MAC and IP, which proves it
  ran.
* UEFI: OVMF (Debian's ovmf; its own PXE, no option ROM) fetches
  ``snponly.efi`` from the agent's TFTP server; that iPXE then fetches
  ``boot.ipxe`` through the proxy and chains the proof URL the same way.

Software emulation (``-accel tcg``), ``-nographic``, no disk; each machine
runs in the provisioning switch's namespace on a tap port of the bridge,
is bounded in time, and is killed by PID.
"""

import os
import shutil
import time

import pytest

from tests.fixtures import bridge_bed as bridge
from tests.fixtures import netns
from tests.fixtures import qemu

BIOS_TIMEOUT = 45
UEFI_TIMEOUT = 60
OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'

BOOT_IPXE = b"""#!ipxe
echo vmetal bridge: boot.ipxe is running
chain http://%s:8080/proof/${net0/mac:hexhyp}/${net0/ip} ||
""" % bridge.SERVER.encode()
PROOF_IPXE = b"""#!ipxe
echo vmetal bridge: proof reached
poweroff ||
sleep 300
"""


def _proof_path(mac, ip):
    return 'proof/%s/%s' % (mac.replace(':', '-'), ip)


@pytest.fixture(scope='module')
def vm_bed(bridge_bed):
    bridge.require_root_and('qemu-system-x86_64')
    for name, mac, ip in (('bios-vm', bridge.MAC_BIOS_VM, bridge.IP_BIOS_VM),
                          ('uefi-vm', bridge.MAC_UEFI_VM, bridge.IP_UEFI_VM)):
        # each machine's reservation names its own script
        bridge_bed.write_http(name + '/boot.ipxe', BOOT_IPXE)
        path = _proof_path(mac, ip)
        os.makedirs(os.path.join(bridge_bed.http_root, os.path.dirname(path)),
                    mode=0o755, exist_ok=True)
        bridge_bed.write_http(path, PROOF_IPXE)
    return bridge_bed


def _start_vm(bridge_bed, name, mac, firmware_args, device):
    return qemu.start_vm(bridge_bed.lab, bridge_bed.prov, name, mac,
                         firmware_args, device)


def _wait_proof(bridge_bed, mac, ip, proc, timeout):
    want = 'GET /%s ' % _proof_path(mac, ip)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line.startswith(want)
               for line in bridge_bed.requests_seen(bridge_bed.boot_log)):
            return True
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    return any(line.startswith(want)
               for line in bridge_bed.requests_seen(bridge_bed.boot_log))


def _console(path):
    with open(path, errors='replace') as f:
        return f.read()[-3000:]


def test_bios_ipxe_boots_through_the_agent(vm_bed):
    bridge_bed = vm_bed
    begin = time.monotonic()
    proc, console = _start_vm(bridge_bed, 'bios', bridge.MAC_BIOS_VM, [],
                              'virtio-net-pci')
    try:
        ok = _wait_proof(bridge_bed, bridge.MAC_BIOS_VM, bridge.IP_BIOS_VM,
                         proc, BIOS_TIMEOUT)
    finally:
        netns.stop_process(proc)
    print('BIOS machine: proof after %.1f s' % (time.monotonic() - begin))
    seen = bridge_bed.requests_seen(bridge_bed.boot_log)
    assert ok, ('no proof request; boot server saw %s; console:\n%s'
                % (seen[-5:], _console(console)))
    assert any(line.startswith('GET /bios-vm/boot.ipxe ') for line in seen)


def test_uefi_pxe_tftp_then_ipxe_through_the_agent(vm_bed):
    bridge_bed = vm_bed
    if not os.path.exists(OVMF_CODE):
        pytest.fail('%s missing (Debian package ovmf)' % OVMF_CODE)
    mark = bridge_bed.agent.mark()
    varstore = bridge_bed.lab.path('uefi-vars.fd')
    shutil.copy(OVMF_VARS, varstore)
    firmware = ['-machine', 'q35', '-drive',
                'if=pflash,format=raw,unit=0,readonly=on,file=%s'
                % OVMF_CODE, '-drive',
                'if=pflash,format=raw,unit=1,file=%s' % varstore]
    begin = time.monotonic()
    proc, console = _start_vm(bridge_bed, 'uefi', bridge.MAC_UEFI_VM, firmware,
                              'virtio-net-pci,romfile=')
    try:
        ok = _wait_proof(bridge_bed, bridge.MAC_UEFI_VM, bridge.IP_UEFI_VM,
                         proc, UEFI_TIMEOUT)
    finally:
        netns.stop_process(proc)
    print('UEFI machine: proof after %.1f s' % (time.monotonic() - begin))
    log = bridge_bed.agent.log(since=mark)
    assert 'TFTP sent snponly.efi' in log and bridge.IP_UEFI_VM in log, \
        'no TFTP transfer of snponly.efi; console:\n%s' % _console(console)
    assert ok, ('no proof request; console:\n%s' % _console(console))
