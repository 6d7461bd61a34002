"""The boot profile contract between the DHCP provider and the agent."""

import pytest

from vmetal_ironic import boot_profile
from vmetal_ironic.boot_profile import BootProfile


def test_round_trip_keeps_only_set_fields():
    profile = BootProfile(bootfile='snponly.efi',
                          ipxe_script_url='http://10.0.0.1:8080/boot.ipxe')
    data = profile.to_dict()
    assert data == {'bootfile': 'snponly.efi',
                    'ipxe_script_url': 'http://10.0.0.1:8080/boot.ipxe'}
    assert BootProfile.from_dict(data) == profile
    assert profile


def test_empty():
    assert not boot_profile.EMPTY
    assert boot_profile.EMPTY.to_dict() == {}
    assert BootProfile.from_dict(None) is boot_profile.EMPTY
    assert BootProfile.from_dict({}) is boot_profile.EMPTY


@pytest.mark.parametrize('data, words', [
    ({'bootfile': 7}, 'not a string'),
    ({'bootfile': ''}, 'not 1 to 255'),
    ({'tftp_server': 'x' * 256}, 'not 1 to 255'),
    ({'ipxe_script_url': 'http://a/\nb'}, 'control character'),
    ({'options': []}, "unknown keys 'options'"),
    (['bootfile'], 'not a mapping'),
])
def test_invalid(data, words):
    with pytest.raises(boot_profile.InvalidBootProfile, match=words):
        BootProfile.from_dict(data)
