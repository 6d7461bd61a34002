"""Which TFTP requests the server serves (RFC 1350 read requests only).

A write request is refused, a malformed one answered with an error, a
retransmitted one of a transfer in progress ignored; a read request is
served while the server has room (``max_transfers``) and the client its
share (``max_per_client``), and when its name opens a file in the root
(:mod:`vmetal_ironic.agent.tftp.files`). Every refusal a client can
trigger is logged through the server's rate-limited log.
"""

from oslo_log import log

from vmetal_ironic.agent.tftp import files as tftp_files
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import transfer as tftp_transfer

LOG = log.getLogger(__name__)

_EXHAUSTED = tftp_transfer.EXHAUSTED
BUSY = tftp_transfer.BUSY


def admit(server, data, addr):
    """The transfer to start for a datagram on the request port, if any.

    :param server: the :class:`~vmetal_ironic.agent.tftp.server.
        TftpServer` (its limits, transfers and per-client counts; its
        ``refuse`` and ``log_refusal``).
    :param data: the datagram.
    :param addr: its source address.
    :returns: (request, opened file, addr, client key) to serve, or None
        (refused, answered or dropped here).
    """
    opcode = pkt.opcode_of(data)
    if opcode == pkt.OP_WRQ:
        server.log_refusal(addr, 'write', 'TFTP: refused a write request '
                           'from %s: the server is read-only', addr)
        server.refuse(addr, pkt.ERR_ACCESS, 'Write requests are refused')
        return None
    if opcode != pkt.OP_RRQ:
        LOG.debug('TFTP: dropped opcode %d from %s on the request port',
                  opcode, addr)
        return None
    try:
        request = pkt.parse_request(data)
    except pkt.PacketError as e:
        server.log_refusal(addr, 'malformed', 'TFTP: malformed request '
                           'from %s: %s', addr, e)
        server.refuse(addr, pkt.ERR_ILLEGAL_OP, 'Malformed request')
        return None
    if addr in server.transfers:
        return None  # a retransmitted request of a transfer in progress
    if request.mode not in pkt.MODES:
        server.refuse(addr, pkt.ERR_ILLEGAL_OP,
                      'Mode %s not supported' % request.mode)
        return None
    if len(server.transfers) >= server.max_transfers:
        server.log_refusal(addr, 'busy', 'TFTP: %d transfers in progress; '
                           'refused %r for %s', len(server.transfers),
                           request.filename, addr)
        server.refuse(addr, pkt.ERR_UNDEFINED, BUSY)
        return None
    key = server.client_key(addr[0])
    if server.in_progress(key) >= server.max_per_client:
        server.log_refusal(addr, 'per-client', 'TFTP: %s has %d transfers '
                           'in progress; refused %r', key,
                           server.in_progress(key), request.filename)
        server.refuse(addr, pkt.ERR_UNDEFINED, BUSY)
        return None
    try:
        opened = tftp_files.open_file(server.root, request.filename)
    except tftp_files.Refused as e:
        if e.errno in _EXHAUSTED:
            server.log_refusal(addr, 'busy', 'TFTP: cannot open %r for %s: '
                               '%s', request.filename, addr, e.reason)
            server.refuse(addr, pkt.ERR_UNDEFINED, BUSY)
            return None
        if e.code == pkt.ERR_NOT_FOUND:
            server.log_refusal(addr, 'not-found', 'TFTP: %r requested by %s '
                               'not found: %s', request.filename, addr,
                               e.reason, level='info')
        else:
            server.log_refusal(addr, 'refused', 'TFTP: refused %r to %s: '
                               '%s', request.filename, addr, e.reason)
        server.refuse(addr, e.code, e.message)
        return None
    return request, opened, addr, key
