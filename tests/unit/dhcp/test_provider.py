"""The vmetal DHCP provider, with a mocked IPAM manager."""

from unittest import mock

from ironic.common import exception as ironic_exc
import pytest

from vmetal_ironic.dhcp import options
from vmetal_ironic.dhcp import provider
from vmetal_ironic import exception

from tests.fixtures import dhcp_options as test_options
from tests.fixtures import fake_task
from tests.fixtures import network as fixtures


@pytest.fixture
def mgr():
    m = fake_task.ipam()
    with mock.patch.object(provider, '_ipam', autospec=True,
                           return_value=m):
        yield m


def test_update_writes_profile(mgr, caplog):
    # One store call: set_boot_profile writes nothing when unchanged
    # (the store's own test proves it), so no read comes first.
    mgr.set_boot_profile.return_value = [fake_task.reservation()]
    provider.VmetalDHCP().update_dhcp_opts(fake_task.task(),
                                           test_options.IPXE_UEFI)
    mgr.set_boot_profile.assert_called_once_with(
        fixtures.NODE, options.to_boot_profile(test_options.IPXE_UEFI))
    mgr.list_reservations.assert_not_called()
    assert 'no reservation' not in caplog.text


def test_update_without_reservation_warns(mgr, caplog):
    provider.VmetalDHCP().update_dhcp_opts(fake_task.task(),
                                           test_options.IPXE_UEFI)
    assert fixtures.NODE in caplog.text and 'no reservation' in caplog.text


@pytest.mark.parametrize('error', [
    exception.StoreError(reason='db down'), RuntimeError('boom')])
def test_update_failure(mgr, error):
    mgr.set_boot_profile.side_effect = error
    with pytest.raises(ironic_exc.FailedToUpdateDHCPOptOnPort,
                       match=fixtures.NODE):
        provider.VmetalDHCP().update_dhcp_opts(fake_task.task(), [])


def test_bad_options(mgr):
    with pytest.raises(ironic_exc.FailedToUpdateDHCPOptOnPort,
                       match='opt_name'):
        provider.VmetalDHCP().update_dhcp_opts(fake_task.task(),
                                               [{'opt_value': 'x'}])


def test_clean(mgr):
    # One call; the manager writes nothing when there is nothing to clear
    # (tests/unit/ipam/test_operations.py proves it).
    provider.VmetalDHCP().clean_dhcp_opts(fake_task.task())
    mgr.set_boot_profile.assert_called_once_with(fixtures.NODE, None)
    mgr.list_reservations.assert_not_called()


def test_clean_failure(mgr):
    mgr.set_boot_profile.side_effect = exception.StoreError(reason='x')
    with pytest.raises(ironic_exc.FailedToUpdateDHCPOptOnPort,
                       match=fixtures.NODE):
        provider.VmetalDHCP().clean_dhcp_opts(fake_task.task())


def test_addresses_and_tag(mgr):
    dhcp = provider.VmetalDHCP()
    mgr.get_allocations.return_value = [fixtures.allocation()]
    assert dhcp.get_ip_addresses(fake_task.task()) == ['192.168.100.10']
    assert dhcp.supports_ipxe_tag() is True
    dhcp.update_port_dhcp_opts('neutron-port', [])
    mgr.get_allocations.side_effect = exception.StoreError(reason='x')
    with pytest.raises(ironic_exc.NetworkError):
        dhcp.get_ip_addresses(fake_task.task())
