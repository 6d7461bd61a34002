"""The DHCP switch of a node (pure) and how the Ironic hooks apply it."""

from unittest import mock

from ironic.common import exception as ironic_exc
from ironic.common import states
import pytest

from vmetal_ironic import boot_profile
from vmetal_ironic.boot_profile import BootProfile
from vmetal_ironic.dhcp import options
from vmetal_ironic.dhcp import provider
from vmetal_ironic.dhcp import switch
from vmetal_ironic.ipam import node as node_mod
from vmetal_ironic.network import interface

from tests.fixtures import dhcp_options as test_options
from tests.fixtures import fake_task
from tests.fixtures import network as fixtures

VMEDIA = 'redfish-virtual-media'
OFF = BootProfile(dhcp=boot_profile.DHCP_OFF)


@pytest.mark.parametrize('boot, info, inspecting, force, expected', [
    ('ipxe', {}, False, False, True),
    ('pxe', {}, False, False, True),
    ('redfish-https', {}, False, False, True),   # firmware HTTP boot DHCPs
    (VMEDIA, {}, False, False, False),
    ('idrac-redfish-virtual-media', {}, False, False, False),
    # the operator's own ISO: Ironic cannot add the network data
    (VMEDIA, {'deploy_iso': 'http://x/a.iso'}, False, False, True),
    (VMEDIA, {'redfish_rescue_iso': 'http://x/r.iso'}, False, False, True),
    # inspection with force_dhcp: Ironic leaves the network data out
    (VMEDIA, {}, True, True, True),
    (VMEDIA, {}, True, False, False),
    (VMEDIA, {}, False, True, False),
    # the driver_info flag wins either way
    (VMEDIA, {'vmetal_dhcp': True}, False, False, True),
    (VMEDIA, {'vmetal_dhcp': 'yes'}, False, False, True),
    ('ipxe', {'vmetal_dhcp': 'false'}, False, False, False),
    ('ipxe', {'vmetal_dhcp': False}, False, False, False),
    (None, {}, False, False, True),
])
def test_answers_dhcp(boot, info, inspecting, force, expected):
    assert switch.answers_dhcp(boot, info, inspecting, force) is expected


@pytest.mark.parametrize('value', ['maybe', '', 2, [True]])
def test_bad_flag(value):
    with pytest.raises(ValueError, match='vmetal_dhcp must be a boolean'):
        switch.answers_dhcp('ipxe', {'vmetal_dhcp': value})


def test_with_switch():
    pxe = BootProfile(bootfile='undionly.kpxe')
    assert switch.with_switch(pxe, True) is pxe
    assert switch.with_switch(None, True) is boot_profile.EMPTY
    off = switch.with_switch(pxe, False)
    assert off == BootProfile(bootfile='undionly.kpxe', dhcp='off')
    assert switch.with_switch(off, False) is off
    assert switch.with_switch(off, True) == pxe
    assert switch.with_switch(None, False) == OFF


def test_profile_field():
    assert OFF and not OFF.answers_dhcp
    assert boot_profile.EMPTY.answers_dhcp
    assert OFF.to_dict() == {'dhcp': 'off'}
    assert BootProfile.from_dict({'dhcp': 'off'}) == OFF
    with pytest.raises(boot_profile.InvalidBootProfile, match='dhcp'):
        BootProfile.from_dict({'dhcp': 'on'})


# -- the hooks --------------------------------------------------------------

@pytest.fixture
def mgr():
    m = fake_task.ipam()
    with mock.patch.object(provider, '_ipam', autospec=True,
                           return_value=m), \
            mock.patch.object(interface, 'ipam', autospec=True,
                              return_value=m):
        yield m


def _network(profile=None):
    res = fake_task.reservation(profile=profile)
    return node_mod.NodeNetwork(fixtures.allocation(), (res,), True)


def test_provider_keeps_off_for_virtual_media(mgr):
    task = fake_task.task(boot_interface=VMEDIA)
    provider.VmetalDHCP().update_dhcp_opts(task, test_options.IPXE_UEFI)
    profile = options.to_boot_profile(test_options.IPXE_UEFI)
    mgr.set_boot_profile.assert_called_once_with(
        fixtures.NODE, switch.with_switch(profile, False))


def test_provider_clean_keeps_off(mgr):
    provider.VmetalDHCP().clean_dhcp_opts(
        fake_task.task(boot_interface=VMEDIA))
    mgr.set_boot_profile.assert_called_once_with(fixtures.NODE, OFF)


def test_bad_flag_is_an_invalid_parameter(mgr):
    task = fake_task.task(driver_info={'vmetal_dhcp': 'perhaps'})
    with pytest.raises(ironic_exc.InvalidParameterValue,
                       match='%s.*vmetal_dhcp' % fixtures.NODE):
        provider.VmetalDHCP().update_dhcp_opts(task, [])
    with mock.patch.object(interface.validation, 'validate', autospec=True):
        with pytest.raises(ironic_exc.InvalidParameterValue,
                           match='vmetal_dhcp'):
            interface.VmetalNetwork().validate(task)


def test_interface_switches_off_once(mgr):
    mgr.ensure_network.side_effect = None
    mgr.ensure_network.return_value = _network()
    task = fake_task.task(boot_interface=VMEDIA)
    interface.VmetalNetwork().add_provisioning_network(task)
    mgr.set_boot_profile.assert_called_once_with(fixtures.NODE, OFF)
    # already off: nothing written again
    mgr.set_boot_profile.reset_mock()
    mgr.ensure_network.return_value = _network({'dhcp': 'off'})
    interface.VmetalNetwork().add_cleaning_network(
        fake_task.task(state=states.CLEANING, boot_interface=VMEDIA))
    mgr.set_boot_profile.assert_not_called()


def test_interface_leaves_pxe_profiles_to_the_provider(mgr):
    mgr.ensure_network.side_effect = None
    mgr.ensure_network.return_value = _network({'bootfile': 'x.efi'})
    interface.VmetalNetwork().add_provisioning_network(fake_task.task())
    mgr.set_boot_profile.assert_not_called()


def test_interface_switches_back_on(mgr):
    # a virtual-media node turned PXE: the "off" left behind goes
    mgr.ensure_network.side_effect = None
    mgr.ensure_network.return_value = _network({'dhcp': 'off'})
    interface.VmetalNetwork().add_cleaning_network(
        fake_task.task(state=states.CLEANING))
    mgr.set_boot_profile.assert_called_once_with(fixtures.NODE, None)
