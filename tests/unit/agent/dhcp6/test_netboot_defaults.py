"""The agent's DHCPv6 boot defaults: URLs through its own IPv6 proxy."""

import types

import pytest

from vmetal_ironic.agent.dhcp6 import codec
from vmetal_ironic.agent.dhcp6 import netboot
from vmetal_ironic.agent.sources.reservations import BootConfig

ADDR6 = 'fd00:6::2'


def _group(**kw):
    g = dict(bios_bootfile='undionly.kpxe', uefi_bootfile='snponly.efi',
             arm64_bootfile='snponly-arm64.efi', dhcpv6_ipxe_script_url=None,
             dhcpv6_http_boot_url=None, dhcpv6_tftp_server=None,
             http_proxy_enabled=True, ironic_http_url='http://ironic:8088',
             http_port=8080)
    g.update(kw)
    return types.SimpleNamespace(**g)


def test_defaults_point_at_the_proxy_on_the_ipv6_address():
    d = netboot.defaults(ADDR6, _group())
    assert d['ipxe_script_url'] == 'http://[fd00:6::2]:8080/boot.ipxe'
    assert d['http_boot_url'] == 'http://[fd00:6::2]:8080/snponly.efi'
    assert d['tftp_server'] == ADDR6


def test_the_pxe_url_names_the_tftp_server_in_brackets():
    boot = BootConfig(**netboot.defaults(ADDR6, _group()))
    opt = netboot.boot_options(boot, netboot.PXE, 7)
    assert opt == codec.opt(codec.OPT_BOOTFILE_URL,
                            b'tftp://[fd00:6::2]/snponly.efi')
    opt = netboot.boot_options(boot, netboot.PXE, 0)
    assert opt.endswith(b'tftp://[fd00:6::2]/undionly.kpxe')


def test_http_boot_url_and_vendor_class():
    boot = BootConfig(**netboot.defaults(ADDR6, _group(http_port=8081)))
    opt = netboot.boot_options(boot, netboot.HTTP, 16)
    assert opt.startswith(codec.opt(
        codec.OPT_BOOTFILE_URL, b'http://[fd00:6::2]:8081/snponly.efi'))


@pytest.mark.parametrize('kw', [
    {'http_proxy_enabled': False}, {'ironic_http_url': None}])
def test_no_proxy_no_default_url(kw):
    d = netboot.defaults(ADDR6, _group(**kw))
    assert d['ipxe_script_url'] is None and d['http_boot_url'] is None
    assert d['tftp_server'] == ADDR6


def test_no_address_no_default():
    d = netboot.defaults(None, _group())
    assert d['ipxe_script_url'] is None and d['http_boot_url'] is None
    assert d['tftp_server'] is None


def test_configured_urls_win():
    d = netboot.defaults(ADDR6, _group(
        dhcpv6_ipxe_script_url='http://[fd00:1::9]/x.ipxe',
        dhcpv6_http_boot_url='http://[fd00:1::9]/y.efi',
        dhcpv6_tftp_server='fd00:1::9'))
    assert d['ipxe_script_url'] == 'http://[fd00:1::9]/x.ipxe'
    assert d['http_boot_url'] == 'http://[fd00:1::9]/y.efi'
    assert d['tftp_server'] == 'fd00:1::9'


def test_a_uefi_bootfile_url_is_not_proxied():
    d = netboot.defaults(ADDR6, _group(uefi_bootfile='http://x/y.efi'))
    assert d['http_boot_url'] is None
