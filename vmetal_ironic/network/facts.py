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
