"""vmetal-ipmi and vmetal-redfish accept the vmetal network interface."""

from ironic.drivers import ipmi
from ironic.drivers.modules.network import noop
from ironic.drivers import redfish
from oslo_config import cfg

from vmetal_ironic.drivers import hardware
from vmetal_ironic.network import interface


def test_ipmi():
    hw = hardware.VmetalIPMIHardware()
    supported = hw.supported_network_interfaces
    assert supported[0] is interface.VmetalNetwork
    assert noop.NoopNetwork in supported
    assert isinstance(hw, ipmi.IPMIHardware)
    assert hw.supported_power_interfaces == \
        ipmi.IPMIHardware().supported_power_interfaces


def test_redfish():
    hw = hardware.VmetalRedfishHardware()
    assert hw.supported_network_interfaces[0] is interface.VmetalNetwork
    assert isinstance(hw, redfish.RedfishHardware)
    # Ironic's redfish code reads CONF[node.driver].verify_ca.
    assert cfg.CONF['vmetal-redfish'].get('verify_ca') is None
