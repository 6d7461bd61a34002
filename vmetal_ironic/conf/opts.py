"""The option lists of every group, for oslo-config-generator."""

import importlib

# One module per option group; each has list_opts() -> [(group, opts)].
_MODULES = (
    'database',
    'ipam',
    'vmetal',
    'dhcp_agent',
    'bridge',
    'callback',
)


def list_opts():
    result = []
    for name in _MODULES:
        module = importlib.import_module('vmetal_ironic.conf.' + name)
        result.extend(module.list_opts())
    return result
