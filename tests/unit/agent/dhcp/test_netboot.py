"""Netboot decision tests (pure)."""

import pytest

from vmetal_ironic.agent.dhcp import netboot
from vmetal_ironic.agent.sources.reservations import BootConfig

BOOT = BootConfig(bios_bootfile='undionly.kpxe', uefi_bootfile='snponly.efi',
                  arm64_bootfile='snponly-arm64.efi',
                  ipxe_script_url='http://10.0.0.2/boot.ipxe',
                  http_boot_url='http://10.0.0.2/snponly.efi',
                  tftp_server='10.0.0.3')
PXE_VC = b'PXEClient:Arch:00000:UNDI:002001'


@pytest.mark.parametrize('options,kind,arch', [
    ({}, netboot.NONE, None),
    ({60: b'MSFT 5.0'}, netboot.NONE, None),
    ({60: PXE_VC}, netboot.PXE, None),
    ({93: b'\x00\x07'}, netboot.PXE, 7),
    ({60: PXE_VC, 93: b'\x00\x00', 77: b'iPXE'}, netboot.IPXE, 0),
    ({175: b'\x13\x01\x01'}, netboot.IPXE, None),
    ({77: b'\x04iPXE'}, netboot.IPXE, None),
    ({60: b'HTTPClient:Arch:00016:UNDI:003001', 93: b'\x00\x10'},
     netboot.HTTP, 16),
])
def test_classify(options, kind, arch):
    assert netboot.classify(options) == (kind, arch)


@pytest.mark.parametrize('arch,file', [
    (0, b'undionly.kpxe'), (None, b'undionly.kpxe'), (6, b'snponly.efi'),
    (7, b'snponly.efi'), (9, b'snponly.efi'), (10, b'snponly-arm64.efi'),
    (11, b'snponly-arm64.efi'), (2, b'undionly.kpxe')])
def test_pxe_bootfile_by_arch(arch, file):
    d = netboot.decide(BOOT, netboot.PXE, arch, '10.0.0.2', True)
    assert d.file == file
    assert d.siaddr == bytes([10, 0, 0, 3])
    assert d.tftp_name == b'10.0.0.3'
    assert d.vendor_class == b'PXEClient'
    assert d.pxe_vendor


def test_ipxe_gets_script_url():
    d = netboot.decide(BOOT, netboot.IPXE, 7, '10.0.0.2')
    assert d.file == b'http://10.0.0.2/boot.ipxe'
    assert d.vendor_class is None and d.tftp_name is None


def test_ipxe_without_url_gets_no_file():
    boot = BootConfig(bios_bootfile='undionly.kpxe')
    d = netboot.decide(boot, netboot.IPXE, 0, '10.0.0.2')
    assert d.file is None
    assert d.siaddr == bytes([10, 0, 0, 2])


def test_http_client():
    d = netboot.decide(BOOT, netboot.HTTP, 16, '10.0.0.2')
    assert d.file == b'http://10.0.0.2/snponly.efi'
    assert d.vendor_class == b'HTTPClient'


def test_not_netbooting_gets_nothing():
    assert netboot.decide(BOOT, netboot.NONE, None, '10.0.0.2') is None


def test_profile_bootfile_wins_over_arch():
    boot = BootConfig(bios_bootfile='undionly.kpxe',
                      uefi_bootfile='snponly.efi', pxe_bootfile='ipxe.efi')
    d = netboot.decide(boot, netboot.PXE, 0, '10.0.0.2')
    assert d.file == b'ipxe.efi'
    assert d.vendor_class is None


def test_decider_memoises_and_all_clients():
    dec = netboot.Decider('10.0.0.2')
    assert dec(BOOT, {}) is None
    a = dec(BOOT, {60: PXE_VC, 93: b'\x00\x00'})
    assert a is dec(BOOT, {93: b'\x00\x00', 60: PXE_VC})
    assert a.vendor_class == b'PXEClient'
    every = netboot.Decider('10.0.0.2', all_clients=True)
    d = every(BOOT, {})
    assert d.file == b'undionly.kpxe' and d.vendor_class is None
