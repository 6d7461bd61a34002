"""QEMU with OVMF (Debian's ovmf, its own network stack, no option ROM)
boots over IPv6 through the agent's DHCPv6:

* UEFI PXE over IPv6: the firmware gets its reserved address and
  ``tftp://[fd00:6::2]/snponly.efi`` (option 59, by its architecture 7)
  and asks the TFTP server for ``snponly.efi`` from that address;
* UEFI HTTP boot over IPv6, next in OVMF's boot order: the firmware,
  sending vendor class HTTPClient, gets its address and the HTTP boot URL
  (with HTTPClient echoed) and fetches ``snponly.efi`` from that address.

The boot server is a stand-in (tests/fixtures/dhcp6_bootserver.py): the
agent's TFTP server and HTTP proxy listen on IPv4 only. OVMF's IPv4 PXE is
switched off with its fw_cfg knob (opt/org.tianocore/IPv4PXESupport) to
save its DHCPv4 timeout; its HTTP-over-IPv4 attempt stays and times out
before the IPv6 one. Software emulation, killed by PID.
"""

import os
import shutil
import time

import pytest

from tests.fixtures import dhcp6_bed as b6
from tests.fixtures import netns

OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
SNPONLY = '/usr/lib/ipxe/snponly.efi'
BOOT_TIMEOUT = 330


def _seen(path):
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.timeout(BOOT_TIMEOUT + 60)
def test_ovmf_pxe_and_http_boot_over_ipv6(bed6):
    b6.require_root_and('qemu-system-x86_64')
    for path in (OVMF_CODE, OVMF_VARS, SNPONLY):
        if not os.path.exists(path):
            pytest.fail('%s missing (Debian packages ovmf, ipxe)' % path)
    lab = bed6.lab
    root = lab.path('www6')
    os.makedirs(root, mode=0o755)
    shutil.copy(SNPONLY, root)
    seen = b6.events_file(lab, 'bootserver6')
    bed6.agent_ns.popen(netns.PYTHON, '-m', 'tests.fixtures.dhcp6_bootserver',
                        root, seen, cwd=netns.REPO,
                        env=dict(os.environ, PYTHONPATH=netns.REPO))
    sw = bed6.prov.ns
    netns.run('ip', '-n', sw.name, 'tuntap', 'add', 'tap6', 'mode', 'tap')
    netns.run('ip', '-n', sw.name, 'link', 'set', 'tap6', 'master',
              bed6.prov.bridge, 'up')
    varstore = lab.path('uefi6-vars.fd')
    shutil.copy(OVMF_VARS, varstore)
    console = lab.path('uefi6-console.log')
    mark = bed6.agent.mark()
    with open(console, 'w') as out:
        vm = sw.popen(
            'qemu-system-x86_64', '-accel', 'tcg', '-nographic', '-m', '256',
            '-no-reboot', '-nodefaults', '-serial', 'stdio', '-monitor',
            'none', '-machine', 'q35',
            '-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n',
            '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=%s'
            % OVMF_CODE,
            '-drive', 'if=pflash,format=raw,unit=1,file=%s' % varstore,
            '-netdev', 'tap,id=n0,ifname=tap6,script=no,downscript=no',
            '-device', 'virtio-net-pci,romfile=,netdev=n0,mac=%s'
            % b6.MAC_VM, '-boot', 'n', stdout=out, stderr=out)
    pxe = 'TFTP %s snponly.efi' % b6.IP_VM
    http = 'HTTP %s GET /snponly.efi ' % b6.IP_VM
    begin = time.monotonic()
    times = {}
    try:
        while time.monotonic() - begin < BOOT_TIMEOUT and vm.poll() is None:
            lines = _seen(seen)
            for key, want in (('pxe', pxe), ('http', http)):
                if key not in times and any(ln.startswith(want)
                                            for ln in lines):
                    times[key] = round(time.monotonic() - begin, 1)
            if len(times) == 2:
                break
            time.sleep(1)
    finally:
        netns.stop_process(vm)
    print('OVMF over IPv6: %s seconds' % times)
    with open(console, errors='replace') as f:
        tail = f.read()[-3000:]
    assert 'pxe' in times, ('no TFTP request from %s; boot server saw %s; '
                            'console:\n%s' % (b6.IP_VM, _seen(seen), tail))
    assert 'http' in times, ('no HTTP GET from %s; boot server saw %s; '
                             'console:\n%s' % (b6.IP_VM, _seen(seen), tail))
    log = bed6.agent.log(since=mark)
    # Debian's OVMF sends a DUID that carries its MAC (DUID-LLT)
    assert 'from 52:54:00:bb:00:10 (found by duid)' in log, log[-2000:]
