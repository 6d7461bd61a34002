"""Small helpers shared by the Ironic functional tests."""

import time

import netaddr


def in_range(address, first, last):
    return (netaddr.IPAddress(first) <= netaddr.IPAddress(address)
            <= netaddr.IPAddress(last))


def wait_for(predicate, timeout=30, interval=0.2, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('%s not met after %ss' % (what, timeout))


def node_allocations(env, node_uuid):
    """Every allocation row still tied to the node (active or claim)."""
    return [a for a in env.ipam.list_allocations()
            if a.node_uuid == node_uuid]


def set_instance_info(env, node, **instance_info):
    info = env.instance_info()
    info.update(instance_info)
    env.patch(node['uuid'], [{'op': 'add', 'path': '/instance_info',
                              'value': info}])


def deploy(env, node, timeout=90, **instance_info):
    set_instance_info(env, node, **instance_info)
    env.set_state(node['uuid'], 'active')
    return env.wait_state(node['uuid'], ('active', 'deploy failed'),
                          timeout)


def undeploy(env, node, timeout=90):
    env.set_state(node['uuid'], 'deleted')
    return env.wait_state(node['uuid'], ('available', 'clean failed'),
                          timeout)


def quick_node(env, **kwargs):
    """An available node that skips automated cleaning."""
    fields = kwargs.pop('extra_fields', {})
    fields.setdefault('automated_clean', False)
    node = env.create_node(extra_fields=fields, **kwargs)
    env.provide(node['uuid'])
    return node


def forget(env, node):
    """Maintenance delete (works in any state)."""
    env.api('PUT', '/nodes/%s/maintenance' % node['uuid'], expect=202,
            json={'reason': 'test clean-up'})
    env.delete(node['uuid'])
