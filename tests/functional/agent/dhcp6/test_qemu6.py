"""QEMU with OVMF (Debian's ovmf, its own network stack, no option ROM)
boots over IPv6 through the agent: DHCPv6, its TFTP server and its HTTP
proxy, all on its IPv6 address fd00:6::2:

* UEFI PXE over IPv6: the firmware gets its reserved address and
  ``tftp://[fd00:6::2]/snponly.efi`` (option 59, by its architecture 7)
  and downloads ``snponly.efi`` from the agent's TFTP server over IPv6;
* UEFI HTTP boot over IPv6, next in OVMF's boot order: the firmware,
  sending vendor class HTTPClient, gets its address and
  ``http://[fd00:6::2]:8080/snponly.efi`` (with HTTPClient echoed) and
  fetches it through the agent's proxy from the boot server on the
  cluster segment (IPv4, not routed from the provisioning segment).

All URLs are the agent's defaults (no URL is configured). The iPXE that
PXE loads DHCPs over IPv6 in turn (user class iPXE) and fetches
``boot.ipxe`` through the proxy too; that script tells it to exit, so the
firmware goes on to HTTP boot. OVMF's IPv4 PXE is switched off with its fw_cfg
knob (opt/org.tianocore/IPv4PXESupport) to save its DHCPv4 timeout; its
HTTP-over-IPv4 attempt stays and times out before the IPv6 one. Software
emulation, killed by PID.
"""

import os
import re
import shutil
import time

import pytest

from tests.fixtures import dhcp6_bed as b6
from tests.fixtures import netns

OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
BOOT_TIMEOUT = 330


def _seen(path):
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.timeout(BOOT_TIMEOUT + 60)
def test_ovmf_pxe_and_http_boot_over_ipv6(bed6):
    b6.require_root_and('qemu-system-x86_64')
    for path in (OVMF_CODE, OVMF_VARS, b6.SNPONLY):
        if not os.path.exists(path):
            pytest.fail('%s missing (Debian packages ovmf, ipxe)' % path)
    lab = bed6.lab
    with open(os.path.join(bed6.http_root, 'boot.ipxe'), 'w') as f:
        f.write('#!ipxe\necho vmetal: boot.ipxe over IPv6\nexit 1\n')
    os.chmod(os.path.join(bed6.http_root, 'boot.ipxe'), 0o644)
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
    # the agent's own lines: the TFTP transfer to the VM's IPv6 address,
    # and the proxied GET from it (which the boot server saw)
    pxe = re.compile(r"TFTP sent snponly\.efi .* to \('%s'" % b6.IP_VM)
    http = re.compile(r"HTTP %s: GET '/snponly\.efi' -> boot 200"
                      % b6.IP_VM)
    begin = time.monotonic()
    times = {}
    try:
        while time.monotonic() - begin < BOOT_TIMEOUT and vm.poll() is None:
            log = bed6.agent.log(since=mark)
            for key, want in (('pxe', pxe), ('http', http)):
                if key not in times and want.search(log):
                    times[key] = round(time.monotonic() - begin, 1)
            if len(times) == 2:
                break
            time.sleep(1)
    finally:
        netns.stop_process(vm)
    print('OVMF over IPv6: %s seconds' % times)
    with open(console, errors='replace') as f:
        tail = f.read()[-3000:]
    log = bed6.agent.log(since=mark)
    boot = _seen(bed6.boot_log)
    assert 'pxe' in times, ('no TFTP transfer to %s; agent log:\n%s\n'
                            'console:\n%s' % (b6.IP_VM, log[-3000:], tail))
    assert 'http' in times, ('no proxied GET from %s; boot server saw %s; '
                             'console:\n%s' % (b6.IP_VM, boot, tail))
    # the boot server on the cluster segment served it (via the proxy)
    assert 'GET /snponly.efi %s:%d' % (b6.CLUSTER_IP, b6.BOOT_PORT) in boot
    # Debian's OVMF sends a DUID that carries its MAC (DUID-LLT)
    assert 'from 52:54:00:bb:00:10 (found by duid)' in log, log[-2000:]
    # the iPXE that PXE loaded DHCPed over IPv6 too and fetched its
    # script through the proxy (the default iPXE URL), from its address
    assert 'GET /boot.ipxe %s:%d' % (b6.CLUSTER_IP, b6.BOOT_PORT) in boot
    assert re.search(r"HTTP %s: GET '/boot\.ipxe' -> boot 200" % b6.IP_VM,
                     log), log[-3000:]
