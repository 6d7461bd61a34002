"""Hardware types that accept the ``vmetal`` network interface.

Ironic lets any enabled network interface run on ``fake-hardware`` but
every other hardware type accepts only the classes it lists in
``supported_network_interfaces`` (an exact class match). These hardware
types are Ironic's ``ipmi`` and ``redfish`` with ``vmetal`` added first,
so it is their default network interface when it is enabled.

Enable them in ironic.conf::

    [DEFAULT]
    enabled_hardware_types = vmetal-ipmi,vmetal-redfish
    enabled_network_interfaces = vmetal,noop
"""

from ironic.drivers import ipmi
from ironic.drivers import redfish

# Importing the interface imports vmetal_ironic.conf, which registers
# [vmetal-redfish] (read by Ironic's redfish code for these nodes).
from vmetal_ironic.network import interface


def _with_vmetal(supported):
    return [interface.VmetalNetwork] + [
        cls for cls in supported if cls is not interface.VmetalNetwork]


class VmetalIPMIHardware(ipmi.IPMIHardware):
    """``ipmi`` plus the vmetal network interface."""

    @property
    def supported_network_interfaces(self):
        """vmetal first, then everything ``ipmi`` supports."""
        return _with_vmetal(super().supported_network_interfaces)


class VmetalRedfishHardware(redfish.RedfishHardware):
    """``redfish`` plus the vmetal network interface."""

    @property
    def supported_network_interfaces(self):
        """vmetal first, then everything ``redfish`` supports."""
        return _with_vmetal(super().supported_network_interfaces)
