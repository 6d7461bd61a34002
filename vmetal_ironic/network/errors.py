"""vmetal exceptions -> Ironic exceptions, at the driver boundary.

The IPAM engine raises :class:`vmetal_ironic.exception.VmetalError`
subclasses; Ironic's conductor understands only its own exceptions (it
records their message in ``node.last_error`` and moves the node to the
failed state). :func:`translated` wraps a driver call and converts, with a
message that names the node, the operation and the pool.
"""

import contextlib

from ironic.common import exception as ironic_exc
from oslo_log import log

from vmetal_ironic import exception
from vmetal_ironic.i18n import _

LOG = log.getLogger(__name__)

NETWORK = 'network'
DHCP = 'dhcp'
VALIDATE = 'validate'


def _message(node_uuid, action, error):
    return _('vmetal could not %(action)s for node %(node)s: %(err)s') % {
        'action': action, 'node': node_uuid, 'err': error}


def convert(error, node_uuid, action, kind=NETWORK):
    """The Ironic exception for a vmetal (or unexpected) error.

    :param error: the exception raised by the IPAM engine.
    :param node_uuid: the node the driver was working on.
    :param action: what was being done ("allocate an address", ...).
    :param kind: NETWORK (NetworkError), DHCP (FailedToUpdateDHCPOptOnPort)
        or VALIDATE (InvalidParameterValue/MissingParameterValue).
    """
    msg = _message(node_uuid, action, error)
    if kind == VALIDATE:
        if isinstance(error, exception.NoPoolForNode):
            return ironic_exc.MissingParameterValue(msg)
        return ironic_exc.InvalidParameterValue(msg)
    if kind == DHCP:
        return ironic_exc.FailedToUpdateDHCPOptOnPort(msg)
    return ironic_exc.NetworkError(msg)


@contextlib.contextmanager
def translated(node_uuid, action, kind=NETWORK):
    """Convert vmetal (and unexpected) errors raised inside the block.

    Ironic exceptions pass through unchanged.
    """
    try:
        yield
    except ironic_exc.IronicException:
        raise
    except exception.VmetalError as e:
        LOG.warning('vmetal: %(action)s failed for node %(node)s: %(err)s',
                    {'action': action, 'node': node_uuid, 'err': e})
        raise convert(e, node_uuid, action, kind) from e
    except Exception as e:
        LOG.exception('vmetal: unexpected error while trying to %(action)s '
                      'for node %(node)s',
                      {'action': action, 'node': node_uuid})
        raise convert(e, node_uuid, action, kind) from e
