"""Ironic DHCP option list -> boot profile."""

import pytest

from vmetal_ironic import boot_profile
from vmetal_ironic.dhcp import options
from vmetal_ironic import exception

from tests.fixtures import dhcp_options


_opt = dhcp_options.opt
IPXE_UEFI = dhcp_options.IPXE_UEFI


def test_ipxe_uefi():
    profile = options.to_boot_profile(IPXE_UEFI).to_dict()
    assert profile['bootfile'] == 'snponly.efi'
    assert profile['ipxe_script_url'] == 'http://10.0.0.2:8080/boot.ipxe'
    assert profile['tftp_server'] == '10.0.0.2'
    assert 'http_boot_url' not in profile
    # option 59 by client class, for the agent's DHCPv6 server
    assert profile['bootfile6_url'] == 'tftp://[fd00::2]/snponly.efi'
    assert profile['ipxe6_url'] == 'http://[fd00::2]:8080/boot.ipxe'
    # the verbatim list is not stored
    assert set(profile) == {'bootfile', 'ipxe_script_url', 'tftp_server',
                            'bootfile6_url', 'ipxe6_url'}


def test_plain_pxe_bios():
    profile = options.to_boot_profile([
        _opt('67', 'pxelinux.0'), _opt('66', '10.0.0.9'),
        _opt('150', '10.0.0.3'), _opt('255', '10.0.0.4')]).to_dict()
    assert profile['bootfile'] == 'pxelinux.0'
    # 150 (an address) wins over 255 and 66.
    assert profile['tftp_server'] == '10.0.0.3'
    assert 'ipxe_script_url' not in profile


def test_ipxe_without_tag_support():
    profile = options.to_boot_profile([
        _opt('!175,67', 'undionly.kpxe'),
        _opt('67', 'http://10.0.0.2/boot.ipxe')]).to_dict()
    assert profile['bootfile'] == 'undionly.kpxe'
    assert profile['ipxe_script_url'] == 'http://10.0.0.2/boot.ipxe'


def test_http_boot():
    profile = options.to_boot_profile([
        _opt('67', 'http://10.0.0.2:8080/snponly.efi'),
        _opt('60', 'HTTPClient')]).to_dict()
    assert profile['http_boot_url'] == 'http://10.0.0.2:8080/snponly.efi'
    assert 'bootfile' not in profile


def test_unknown_options_kept_and_ip_version_defaulted():
    opts = [{'opt_name': '210', 'opt_value': '/tftpboot/'},
            {'opt_name': 'tag:foo,224', 'opt_value': 'x'},
            {'opt_name': '59', 'opt_value': 'tftp://[::1]/f'}]
    profile = options.to_boot_profile(opts)
    normalised = [options._normalise(o, i) for i, o in enumerate(opts)]
    assert [o['opt_name'] for o in normalised] == \
        ['210', 'tag:foo,224', '59']
    assert [o['ip_version'] for o in normalised] == [4, 4, 6]
    # Options the agent does not act on are validated, not stored; a
    # plain IPv6 59 is the boot file URL of DHCPv6 clients.
    assert profile == boot_profile.BootProfile(bootfile6_url='tftp://[::1]/f')


def test_aliases_and_none_values():
    profile = options.to_boot_profile([
        _opt('bootfile-name', 'ipxe.efi'),
        _opt('server-ip-address', '10.1.1.1'),
        _opt('tag:ipxe,67', None)]).to_dict()
    assert profile['bootfile'] == 'ipxe.efi'
    assert profile['tftp_server'] == '10.1.1.1'
    assert 'ipxe_script_url' not in profile
    assert len(profile) == 2


def test_empty():
    assert options.to_boot_profile([]) == boot_profile.EMPTY
    assert options.to_boot_profile(None) == boot_profile.EMPTY
    assert options.to_boot_profile([]).to_dict() == {}


def test_idempotent():
    assert options.to_boot_profile(IPXE_UEFI) == \
        options.to_boot_profile(list(IPXE_UEFI))


@pytest.mark.parametrize('bad', [
    ['67'], [{'opt_value': 'x'}], [{'opt_name': '', 'opt_value': 'x'}],
    [{'opt_name': '67', 'opt_value': 'x', 'ip_version': 5}],
    [{'opt_name': '67', 'opt_value': 'x' * 256}],
    [{'opt_name': '67', 'opt_value': 'boot\nfile'}],
])
def test_bad_input(bad):
    with pytest.raises(exception.InvalidInput):
        options.to_boot_profile(bad)


def test_ipv6_boot_urls_without_tag_support():
    profile = options.to_boot_profile([
        {'opt_name': '!175,59', 'opt_value': 'tftp://[fd00::2]/ipxe.efi',
         'ip_version': 6},
        {'opt_name': '59', 'opt_value': 'http://[fd00::2]/boot.ipxe',
         'ip_version': 6}]).to_dict()
    assert profile == {'bootfile6_url': 'tftp://[fd00::2]/ipxe.efi',
                       'ipxe6_url': 'http://[fd00::2]/boot.ipxe'}
