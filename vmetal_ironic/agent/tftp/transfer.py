"""One TFTP read transfer: its own socket (TID), window and retransmission.

RFC 1350 lock-step, or RFC 7440 windows: a window of blocks is sent, the
client acknowledges the last in-order block, and the next window starts
after it. Duplicate ACKs are never answered (RFC 1123's "Sorcerer's
Apprentice" fix); a block is sent again only when the timeout expires.
Block numbers roll over to 0 after 65535, so files larger than 65535
blocks work.

Limits against clients that never acknowledge or crawl: until the first
acknowledgement (of the OACK, or of block 1) only the server's
``initial_retries`` retransmissions are made, so a request from a spoofed
source costs one OACK or one block plus that many copies; afterwards
``retries``; and a transfer that has run ``max_transfer_time`` seconds is
ended whatever its progress.
"""

import errno
import os
import socket
import time

from oslo_log import log

from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import sockets
from vmetal_ironic.agent.tftp import netascii
from vmetal_ironic.agent.tftp import packet as pkt

LOG = log.getLogger(__name__)

# Out of descriptors: the request gets "busy", not "access violation".
EXHAUSTED = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
BUSY = 'Server busy'


def udp_socket(address, port, interface=None, connect_to=None):
    """A non-blocking UDP socket bound to ``address`` (either family).

    :param address: the local address ('' with ``connect_to``: any of
        the peer's family).
    :param connect_to: the peer's address (a 4-tuple for IPv6).
    """
    v6 = ':' in address or (connect_to is not None and len(connect_to) == 4)
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                         socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if v6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if interface:
            sockets.bind_to_device(sock, interface, 'TFTP', required=False)
        sockets.bind(sock, sockets.sockaddr(address or ('::' if v6 else ''),
                                            port, interface), 'TFTP')
        if connect_to is not None:
            sock.connect(connect_to)
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise


def prepare(server, request, opened, addr):
    """Negotiate a new transfer and open its socket (its TID).

    :param server: the :class:`~.server.TftpServer`.
    :param opened: the file (:func:`~.files.open_file`).
    :param addr: the client's address (a 4-tuple for IPv6).
    :returns: (socket, (fd, size, data), negotiation), or None when the
        request was refused (the file is closed then).
    """
    fd, size, data = opened.fd, opened.size, None
    netascii_mode = request.mode == 'netascii'
    # netascii: no tsize (the converted size is known only after a
    # pass over the file, which the server makes later, once).
    window = server.max_windowsize
    if netascii_mode:
        window = min(window, netascii.MAX_WINDOW)
    nego = pkt.negotiate(request.options, None if netascii_mode
                         else size, server.timeout, server.max_blksize,
                         window, server.max_timeout)
    if netascii_mode:
        try:
            data = netascii.NetasciiBlocks(fd, size, nego.blksize)
        except OSError as e:
            os.close(fd)
            server.log_refusal(addr, 'read', 'TFTP: cannot read %r for '
                               '%s: %s', request.filename, addr, e)
            server.refuse(addr, pkt.ERR_UNDEFINED, 'Read error')
            return None
        size = data.size
    local = server.address6 if len(addr) == 4 else server.address
    local = '' if local in ('0.0.0.0', None) else local
    try:
        sock = udp_socket(local, 0, server.interface, connect_to=addr)
    except OSError as e:
        os.close(fd)
        if e.errno in EXHAUSTED:
            server.log_refusal(addr, 'busy', 'TFTP: no socket for %s: %s',
                               addr, e)
            server.refuse(addr, pkt.ERR_UNDEFINED, BUSY)
        else:
            server.log_refusal(addr, 'socket', 'TFTP: cannot open a '
                               'socket for %s: %s', addr, e)
        return None
    return sock, (fd, size, data), nego


class Transfer(object):
    """One read transfer to one client, on its own connected socket.

    The server's loop calls :meth:`start` once, :meth:`on_datagram` for
    every datagram on :attr:`sock`, and :meth:`tick` when :attr:`deadline`
    has passed; the transfer calls ``server.transfer_done(self)`` when it
    ends.
    """

    def __init__(self, server, sock, peer, filename, source, nego):
        self.server = server
        self.sock = sock
        self.peer = peer
        # Whose per-client share it holds (set by the server).
        self.client_key = peer[0]
        self.filename = filename
        # ``data``: the whole content (bytes), or an object with
        # ``block(n)`` and ``release(acked)`` (netascii, see netascii.py),
        # or None to read blocks of ``fd``.
        self.fd, self.size, self.data = source
        self.blksize = nego.blksize
        self.timeout = nego.timeout
        self.window = nego.windowsize
        self.oack = pkt.build_oack(nego.oack) if nego.oack else None
        # Blocks 1..last; the last one is shorter than blksize (maybe 0).
        self.last = self.size // self.blksize + 1
        self.acked = 0          # highest block acknowledged
        self.sent = 0           # highest block sent
        self.started = self.oack is None
        self.retries = 0
        self.deadline = 0.0     # when to send again without an ACK
        self.done = False
        self.begin = time.monotonic()

    def start(self):
        """Send the OACK, or the first window when no option was agreed."""
        if self.oack is not None:
            self._send(self.oack)
        else:
            self._send_window_or_end()

    def on_datagram(self, data):
        """Handle a datagram from the client (ACK or ERROR)."""
        opcode = pkt.opcode_of(data)
        try:
            if opcode == pkt.OP_ACK:
                self._on_ack(pkt.parse_ack(data))
                return
            if opcode == pkt.OP_ERROR:
                code, message = pkt.parse_error(data)
        except pkt.PacketError as e:
            LOG.debug('TFTP %s: malformed packet from %s: %s',
                      self.filename, self.peer, e)
            return
        except OSError as e:
            LOG.warning('TFTP %s to %s: read error: %s', self.filename,
                        self.peer, e)
            self.send_error(pkt.ERR_UNDEFINED, 'Read error')
            self.finish(ok=False)
            return
        if opcode == pkt.OP_ERROR:
            LOG.debug('TFTP %s: client %s aborted with error %d "%s"',
                      self.filename, self.peer, code, message)
            self.finish(ok=False)
        else:
            LOG.debug('TFTP %s: ignoring opcode %d from %s',
                      self.filename, opcode, self.peer)

    def tick(self, now):
        """Send again what is unacknowledged, or give up, if it is time."""
        if self.done or now < self.deadline:
            return
        if now - self.begin >= self.server.max_transfer_time:
            self.server.log_refusal(
                self.peer, 'lifetime', 'TFTP %s to %s: still at block %d '
                'after %d s; transfer ended', self.filename, self.peer,
                self.acked + 1, int(now - self.begin))
            self.finish(ok=False)
            return
        self.retries += 1
        acknowledged = self.started if self.oack is not None \
            else self.acked > 0
        allowed = self.server.retries if acknowledged \
            else self.server.initial_retries
        if self.retries > allowed:
            self.server.log_refusal(
                self.peer, 'no-ack', 'TFTP %s to %s: no acknowledgement '
                'after %d retries at block %d; giving up', self.filename,
                self.peer, allowed, self.acked + 1)
            self.finish(ok=False)
            return
        if not self.started:
            self._send(self.oack)
        else:
            self._send_window_or_end()

    def finish(self, ok):
        """End the transfer: close the socket and the file."""
        if self.done:
            return
        self.done = True
        metrics.tftp_finished(ok, self.size)
        self.server.transfer_done(self)
        self.sock.close()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if ok:
            elapsed = time.monotonic() - self.begin
            LOG.info('TFTP sent %s (%d bytes, blksize %d, windowsize %d) '
                     'to %s in %.3f s', self.filename, self.size,
                     self.blksize, self.window, self.peer, elapsed)

    # protocol

    def _block(self, n):
        start = (n - 1) * self.blksize
        if isinstance(self.data, bytes):
            return self.data[start:start + self.blksize]
        if self.data is not None:
            return self.data.block(n)
        return os.pread(self.fd, self.blksize, start)

    def _send(self, data):
        # The socket is connected and non-blocking: a datagram the kernel
        # cannot queue is lost like any UDP datagram and sent again on
        # timeout. Returns False when the send buffer is full.
        self.deadline = time.monotonic() + self.timeout
        try:
            self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            LOG.debug('TFTP %s: cannot send to %s: %s', self.filename,
                      self.peer, e)
        return True

    def _send_window_or_end(self):
        try:
            self._send_window()
        except OSError as e:
            LOG.warning('TFTP %s to %s: read error: %s', self.filename,
                        self.peer, e)
            self.send_error(pkt.ERR_UNDEFINED, 'Read error')
            self.finish(ok=False)

    def send_error(self, code, message):
        """Tell the client the transfer is over (best effort)."""
        try:
            self.sock.send(pkt.build_error(code, message))
        except OSError:
            pass

    def _send_window(self):
        first = self.acked + 1
        end = min(self.acked + self.window, self.last)
        sent = self.acked
        for n in range(first, end + 1):
            if not self._send(pkt.build_data(n, self._block(n))):
                break   # the send buffer is full: the rest on timeout
            sent = n
        self.sent = sent

    def _on_ack(self, block):
        if not self.started:
            if block != 0:
                return
            self.started = True
            self.retries = 0
            self._send_window()
            return
        delta = (block - self.acked) & 0xFFFF
        if delta == 0 or self.acked + delta > self.sent:
            return  # duplicate or stale: never answer it (RFC 1123)
        self.acked += delta
        self.retries = 0
        if self.data is not None and not isinstance(self.data, bytes):
            self.data.release(self.acked)
        if self.acked >= self.last:
            self.finish(ok=True)
        else:
            self._send_window()
