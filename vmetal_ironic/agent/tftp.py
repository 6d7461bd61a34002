"""The agent's read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440).

It serves ``[dhcp_agent]tftp_root`` on the provisioning address. Every
transfer runs on its own UDP socket (its own TID) in one asyncio event loop
that runs in a thread of its own, so many transfers proceed at once without
a thread each. Write requests are refused; names that leave the root are
refused (see :mod:`vmetal_ironic.agent.tftp_files`).

Usage::

    server = TftpServer.from_conf(CONF, address='172.22.0.2')
    server.start()   # returns once the socket is bound
    ...
    server.stop()
"""

import asyncio
import os
import threading

from oslo_log import log

from vmetal_ironic.agent import tftp_files
from vmetal_ironic.agent import tftp_packet as pkt
from vmetal_ironic.agent import tftp_transfer
from vmetal_ironic.conf import bridge as bridge_conf
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

# netascii is converted in memory; binaries always use octet.
_MAX_NETASCII_SIZE = 16 * 1024 * 1024


class _Listener(asyncio.DatagramProtocol):
    """The well-known port: read requests start transfers."""

    def __init__(self, server):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        try:
            self.server._on_request(data, addr, self.transport)
        except Exception:
            LOG.exception('TFTP: unexpected error on a request from %s',
                          addr)


class TftpServer(object):
    """A read-only TFTP server for one directory; an agent component.

    :param root: the directory served.
    :param address: the IPv4 address to listen on.
    :param port: the UDP port (0: any free port; see :attr:`port`).
    :param interface: optional device name to bind to.
    :param timeout: retransmission timeout in seconds.
    :param retries: retransmissions before a transfer is abandoned.
    :param max_blksize: largest block size granted.
    :param max_windowsize: largest window granted.
    :param max_transfers: transfers served at once.
    """

    name = 'tftp'

    def __init__(self, root, address='0.0.0.0', port=69, interface=None,
                 timeout=1.0, retries=5, max_blksize=pkt.MAX_BLKSIZE,
                 max_windowsize=64, max_transfers=500):
        try:
            self.root = tftp_files.real_root(root)
        except ValueError as e:
            raise exception.ConfigError(reason='[dhcp_agent]tftp_root: %s'
                                        % e)
        self.address = address
        self.port = port
        self.interface = interface
        self.timeout = timeout
        self.retries = retries
        self.max_blksize = max_blksize
        self.max_windowsize = max_windowsize
        self.max_transfers = max_transfers
        self.loop = None
        self.transfers = {}
        self._thread = None
        self._listener = None
        self._ready = threading.Event()
        self._error = None

    @classmethod
    def from_conf(cls, conf, address, interface=None):
        """A server configured by ``[dhcp_agent]``.

        :param conf: an oslo.config ConfigOpts.
        :param address: the provisioning address to listen on.
        :param interface: the provisioning interface, if known.
        :raises ConfigError: if ``tftp_root`` is not a directory.
        """
        bridge_conf.register_opts(conf)
        group = conf.dhcp_agent
        return cls(group.tftp_root, address=address, port=group.tftp_port,
                   interface=interface, timeout=group.tftp_timeout,
                   retries=group.tftp_retries,
                   max_blksize=group.tftp_max_blksize,
                   max_windowsize=group.tftp_max_windowsize,
                   max_transfers=group.tftp_max_transfers)

    # lifecycle

    def start(self):
        """Bind and serve in a background thread; returns once bound.

        :raises OSError: if the socket cannot be bound.
        """
        self._thread = threading.Thread(target=self._run, name='tftp',
                                        daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        LOG.info('TFTP serving %s on %s:%d', self.root, self.address,
                 self.port)

    def stop(self, timeout=5.0):
        """Abort every transfer, close the socket and end the thread."""
        if self.loop is None or self._thread is None:
            return
        self.loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(timeout)
        self._thread = None

    @property
    def active_transfers(self):
        """How many transfers are in progress."""
        return len(self.transfers)

    def _run(self):
        self.loop = asyncio.new_event_loop()
        try:
            sock = tftp_transfer.udp_socket(self.address, self.port,
                                            self.interface)
            self.port = sock.getsockname()[1]
            self._listener, _ = self.loop.run_until_complete(
                self.loop.create_datagram_endpoint(
                    lambda: _Listener(self), sock=sock))
        except Exception as e:
            self._error = e
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def _shutdown(self):
        for transfer in list(self.transfers.values()):
            transfer.abort()
        if self._listener is not None:
            self._listener.close()
        self.loop.stop()

    # requests

    def _refuse(self, transport, addr, code, message):
        transport.sendto(pkt.build_error(code, message), addr)

    def _on_request(self, data, addr, transport):
        opcode = pkt.opcode_of(data)
        if opcode == pkt.OP_WRQ:
            LOG.warning('TFTP: refused a write request from %s: the server '
                        'is read-only', addr)
            self._refuse(transport, addr, pkt.ERR_ACCESS,
                         'Write requests are refused')
            return
        if opcode != pkt.OP_RRQ:
            LOG.debug('TFTP: dropped opcode %d from %s on the request port',
                      opcode, addr)
            return
        try:
            request = pkt.parse_request(data)
        except pkt.PacketError as e:
            LOG.warning('TFTP: malformed request from %s: %s', addr, e)
            self._refuse(transport, addr, pkt.ERR_ILLEGAL_OP,
                         'Malformed request')
            return
        if addr in self.transfers:
            return  # a retransmitted request of a transfer in progress
        if request.mode not in pkt.MODES:
            self._refuse(transport, addr, pkt.ERR_ILLEGAL_OP,
                         'Mode %s not supported' % request.mode)
            return
        if len(self.transfers) >= self.max_transfers:
            LOG.warning('TFTP: %d transfers in progress; refused %r for %s',
                        len(self.transfers), request.filename, addr)
            self._refuse(transport, addr, pkt.ERR_UNDEFINED, 'Server busy')
            return
        try:
            opened = tftp_files.open_file(self.root, request.filename)
        except tftp_files.Refused as e:
            if e.code == pkt.ERR_NOT_FOUND:
                LOG.info('TFTP: %r requested by %s not found: %s',
                         request.filename, addr, e.reason)
            else:
                LOG.warning('TFTP: refused %r to %s: %s',
                            request.filename, addr, e.reason)
            self._refuse(transport, addr, e.code, e.message)
            return
        self._start_transfer(request, opened, addr, transport)

    def _start_transfer(self, request, opened, addr, transport):
        fd, size, data = opened.fd, opened.size, None
        tsize = size
        if request.mode == 'netascii':
            try:
                if size > _MAX_NETASCII_SIZE:
                    raise OSError('file too large for netascii')
                raw = os.pread(fd, size, 0)
            except OSError as e:
                os.close(fd)
                LOG.warning('TFTP: cannot read %r for %s: %s',
                            request.filename, addr, e)
                self._refuse(transport, addr, pkt.ERR_UNDEFINED,
                             'Read error')
                return
            os.close(fd)
            data = pkt.to_netascii(raw)
            fd, size, tsize = None, len(data), None
        nego = pkt.negotiate(request.options, tsize, self.timeout,
                             self.max_blksize, self.max_windowsize)
        local = self.address if self.address != '0.0.0.0' else ''
        try:
            sock = tftp_transfer.udp_socket(local, 0, self.interface,
                                            connect_to=addr)
        except OSError as e:
            if fd is not None:
                os.close(fd)
            LOG.error('TFTP: cannot open a socket for %s: %s', addr, e)
            return
        transfer = tftp_transfer.Transfer(self, sock, addr, request.filename,
                                          (fd, size, data), nego)
        self.transfers[addr] = transfer
        LOG.debug('TFTP: sending %r to %s (options %s)', request.filename,
                  addr, nego.oack)
        self.loop.create_task(self.loop.create_datagram_endpoint(
            lambda: transfer, sock=sock))

    def transfer_done(self, transfer):
        if self.transfers.get(transfer.peer) is transfer:
            del self.transfers[transfer.peer]


def create_components(conf, table=None):
    """The agent's TFTP component, or none when TFTP is off.

    Called by :class:`vmetal_ironic.agent.service.AgentService`. When
    ``tftp_root`` is left at its default and that directory does not exist,
    TFTP stays off with a warning (nothing to serve); a configured root that
    is not a directory is a configuration error.

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param table: the agent's reservation table (unused).
    :returns: a list of zero or one :class:`TftpServer`.
    :raises ConfigError: if ``tftp_root`` is set but not a directory.
    """
    bridge_conf.register_opts(conf)
    group = conf.dhcp_agent
    if not group.tftp_enabled:
        LOG.info('TFTP is off ([dhcp_agent]tftp_enabled = false)')
        return []
    if (group.tftp_root == bridge_conf.DEFAULT_TFTP_ROOT
            and not os.path.isdir(group.tftp_root)):
        LOG.warning('TFTP is off: the default [dhcp_agent]tftp_root %s does '
                    'not exist; create it or set tftp_root (or set '
                    'tftp_enabled = false)', group.tftp_root)
        return []
    return [TftpServer.from_conf(conf, group.server_address or '0.0.0.0',
                                 interface=group.interface)]
