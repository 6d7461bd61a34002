"""A node's facts for the IPAM engine, gathered from an Ironic task."""

from vmetal_ironic.ipam import node as node_mod


def pxe_ports(task):
    """The node's PXE-enabled ports, in a stable order."""
    return sorted((p for p in task.ports if p.pxe_enabled),
                  key=lambda p: p.id or 0)


def facts_of(task):
    """The :class:`~vmetal_ironic.ipam.node.NodeFacts` of the task's node."""
    node = task.node
    return node_mod.NodeFacts(
        uuid=node.uuid, name=node.name, resource_class=node.resource_class,
        instance_info=node.instance_info or {},
        properties=node.properties or {},
        driver_info=node.driver_info or {},
        ports=tuple(node_mod.PxePort(p.address.lower(),
                                     (p.extra or {}).get('client-id'))
                    for p in pxe_ports(task)))


def answers_dhcp(task):
    """Whether the agent answers the node's DHCP (:mod:`..dhcp.switch`).

    :raises: InvalidParameterValue for a ``vmetal_dhcp`` that is not a
        boolean.
    """
    from ironic.common import exception
    from ironic.common import states
    from ironic.conf import CONF

    from vmetal_ironic.dhcp import switch

    node = task.node
    try:
        return switch.answers_dhcp(
            node.boot_interface, node.driver_info,
            inspecting=node.provision_state in (states.INSPECTING,
                                                states.INSPECTWAIT),
            force_dhcp=CONF.inspector.force_dhcp)
    except ValueError as e:
        raise exception.InvalidParameterValue(
            'node %s: %s' % (node.uuid, e))
