"""Socket set-up shared by the agent's servers (DHCP, TFTP, HTTP proxy)."""

from __future__ import annotations

import socket

from oslo_log import log

LOG = log.getLogger(__name__)

SO_BINDTODEVICE = getattr(socket, 'SO_BINDTODEVICE', 25)


def bind_to_device(sock: socket.socket, interface: str, what: str,
                   required: bool = True) -> None:
    """Receive and send on ``sock`` only through ``interface``.

    :param sock: a socket not yet bound.
    :param interface: the network device name.
    :param what: the server's name, for the log.
    :param required: raise when the agent lacks CAP_NET_RAW; otherwise
        log it and rely on the address binding alone.
    :raises OSError: the option cannot be set (and ``required``).
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE,
                        interface.encode() + b'\0')
    except PermissionError:
        if required:
            raise
        LOG.debug('%s: no permission to bind to device %s; the address '
                  'binding alone restricts it', what, interface)
