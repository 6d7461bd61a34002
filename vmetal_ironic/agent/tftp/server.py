"""The agent's read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440).

It serves ``[dhcp_agent]tftp_root`` on the provisioning address, and on
the IPv6 one too when ``server_address6`` is set (doc/ipv6.md). Every
transfer runs on its own UDP socket (its own TID); one thread waits on all
of them with epoll(7) and checks retransmission deadlines every few tens of
milliseconds, so many transfers proceed at once without a thread each (a
plain epoll loop costs less per packet than asyncio's, which matters for
lock-step transfers). Which requests are served (read-only, limits, names
that stay in the root) is :mod:`vmetal_ironic.agent.tftp.admission`.

Usage::

    server = TftpServer('/srv/tftp', address='172.22.0.2')
    server.start()   # returns once the socket is bound
    ...
    server.stop()
"""

import os
import select
import threading
import time

from oslo_log import log

from vmetal_ironic.agent import clientkey
from vmetal_ironic.agent import component
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent.ratelimit import RateLimitedLog
from vmetal_ironic.agent.tftp import admission
from vmetal_ironic.agent.tftp import files as tftp_files
from vmetal_ironic.agent.tftp import packet as pkt
from vmetal_ironic.agent.tftp import transfer as tftp_transfer
from vmetal_ironic.conf.dhcp_agent import bridge as bridge_conf
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

BUSY = tftp_transfer.BUSY


class TftpServer(component.Component):
    """A read-only TFTP server for one directory; an agent component.

    :param root: the directory served.
    :param address: the IPv4 address to listen on.
    :param address6: an IPv6 address to listen on too (same port), or
        None; a link-local one is scoped to ``interface``.
    :param port: the UDP port (0: any free port; see :attr:`port`).
    :param interface: optional device name to bind to.
    :param timeout: retransmission timeout in seconds.
    :param retries: retransmissions before a transfer is abandoned.
    :param max_blksize: largest block size granted.
    :param max_windowsize: largest window granted.
    :param max_transfers: transfers served at once.
    :param max_timeout: largest retransmission timeout a client may
        negotiate (RFC 2349); larger asked values are ignored.
    :param max_transfer_time: seconds after which a transfer is ended.
    :param max_per_client: transfers served at once to one client (one
        key of ``client_key``).
    :param initial_retries: retransmissions before the client has
        acknowledged anything.
    :param client_key: source address -> the key of its per-client share
        (default: the address; :class:`~vmetal_ironic.agent.clientkey.
        ClientKeys` aggregates unreserved IPv6 sources).
    """

    name = 'tftp'

    def __init__(self, root, address='0.0.0.0', port=69, interface=None,
                 timeout=1.0, retries=5, max_blksize=pkt.MAX_BLKSIZE,
                 max_windowsize=64, max_transfers=500, max_timeout=5,
                 max_transfer_time=600.0, max_per_client=32,
                 initial_retries=1, address6=None, client_key=None):
        try:
            self.root = tftp_files.real_root(root)
        except ValueError as e:
            raise exception.ConfigError(reason='[dhcp_agent]tftp_root: %s'
                                        % e)
        self.address = address
        self.address6 = address6
        self.client_key = client_key or clientkey.identity
        self.port = port
        self.interface = interface
        self.timeout = timeout
        self.retries = retries
        self.max_blksize = max_blksize
        self.max_windowsize = max_windowsize
        self.max_transfers = max_transfers
        self.max_timeout = max_timeout
        self.max_transfer_time = max_transfer_time
        self.max_per_client = max_per_client
        self.initial_retries = initial_retries
        self.transfers = {}         # peer address -> Transfer
        self._per_ip = {}           # client key -> transfers in progress
        # Client-triggered log lines: per source address and reason.
        self._log = RateLimitedLog(burst=5, period=10.0,
                                   logger=lambda: LOG)
        self._by_fd = {}            # socket fd -> Transfer
        self._thread = None
        self._listener = None
        self._listener6 = None
        self._epoll = None
        self._wake_r, self._wake_w = None, None
        self._stopping = False
        self._tick = min(0.05, timeout / 4)

    # lifecycle

    def start(self):
        """Bind and serve in a background thread; returns once bound.

        :raises OSError: if the socket cannot be bound.
        """
        self._listener = tftp_transfer.udp_socket(self.address, self.port,
                                                  self.interface)
        self.port = self._listener.getsockname()[1]
        if self.address6:
            try:
                self._listener6 = tftp_transfer.udp_socket(
                    self.address6, self.port, self.interface)
            except BaseException:
                self._listener.close()
                raise
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._epoll = select.epoll()
        self._epoll.register(self._listener.fileno(), select.EPOLLIN)
        if self._listener6 is not None:
            self._epoll.register(self._listener6.fileno(), select.EPOLLIN)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name='tftp',
                                        daemon=True)
        self._thread.start()
        LOG.info('TFTP serving %s on %s:%d%s', self.root, self.address,
                 self.port, ' and [%s]:%d' % (self.address6, self.port)
                 if self._listener6 is not None else '')

    def stop(self, timeout=5.0):
        """Abort every transfer, close the socket and end the thread."""
        if self._thread is None:
            return
        self._stopping = True
        try:
            os.write(self._wake_w, b'x')
        except OSError:
            pass  # the loop wakes up within one tick anyway
        self._thread.join(timeout)
        self._thread = None
        os.close(self._wake_r)
        os.close(self._wake_w)

    @property
    def active_transfers(self):
        """How many transfers are in progress."""
        return len(self.transfers)

    def _run(self):
        try:
            while not self._stopping:
                try:
                    self._loop()
                except Exception:
                    # Never let one bad event stop the server.
                    LOG.exception('TFTP: unexpected error in the server '
                                  'loop; going on')
        finally:
            for transfer in list(self.transfers.values()):
                self._guard(transfer, transfer.finish, False)
            self._epoll.close()
            self._listener.close()
            if self._listener6 is not None:
                self._listener6.close()

    def _guard(self, transfer, method, *args):
        """Call a transfer's method; an error ends only that transfer."""
        try:
            method(*args)
        except Exception:
            LOG.exception('TFTP %s to %s: unexpected error; transfer '
                          'aborted', transfer.filename, transfer.peer)
            if not transfer.done:
                try:
                    transfer.finish(ok=False)
                except Exception:
                    self.transfer_done(transfer)

    def _loop(self):
        listeners = {self._listener.fileno(): self._listener}
        if self._listener6 is not None:
            listeners[self._listener6.fileno()] = self._listener6
        next_check = time.monotonic() + self._tick
        while not self._stopping:
            wait = -1.0
            if self.transfers:
                wait = max(0.0, next_check - time.monotonic())
            for fd, _ in self._epoll.poll(wait):
                if fd in listeners:
                    self._read_requests(listeners[fd])
                elif fd in self._by_fd:
                    self._read_transfer(self._by_fd[fd])
            now = time.monotonic()
            if now >= next_check:
                for transfer in list(self.transfers.values()):
                    self._guard(transfer, transfer.tick, now)
                next_check = now + self._tick

    def _read_requests(self, listener):
        for _ in range(64):
            try:
                data, addr = listener.recvfrom(pkt.MAX_BLKSIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                LOG.debug('TFTP: receive error on the request port: %s', e)
                return
            try:
                self._on_request(data, addr)
            except Exception:
                LOG.exception('TFTP: unexpected error on a request from %s',
                              addr)

    def _read_transfer(self, transfer):
        for _ in range(64):
            if transfer.done:
                return
            try:
                data = transfer.sock.recv(pkt.MAX_BLKSIZE)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                LOG.info('TFTP %s: %s is gone (port unreachable)',
                         transfer.filename, transfer.peer)
                transfer.finish(ok=False)
                return
            except OSError as e:
                LOG.debug('TFTP %s: receive error from %s: %s',
                          transfer.filename, transfer.peer, e)
                return
            self._guard(transfer, transfer.on_datagram, data)

    # requests

    def log_refusal(self, addr, reason, msg, *args, level='warning'):
        """A line a client can trigger: limited per client and reason.

        :param level: ``warning`` or ``info``.
        :returns: whether the line was logged.
        """
        return getattr(self._log, level)(
            msg, *args, key=(self.client_key(addr[0]), reason))

    def in_progress(self, key):
        """How many transfers client ``key`` has in progress."""
        return self._per_ip.get(key, 0)

    @property
    def suppressed_logs(self):
        """Client-triggered log lines suppressed so far."""
        return self._log.suppressed

    def _listener_of(self, addr):
        """The request socket of ``addr``'s family (IPv6: 4-tuples)."""
        return self._listener6 if len(addr) == 4 else self._listener

    def refuse(self, addr, code, message):
        """Answer ``addr`` with a TFTP error from the request port."""
        metrics.TFTP_ERRORS.labels(code=str(code)).inc()
        try:
            self._listener_of(addr).sendto(pkt.build_error(code, message),
                                           addr)
        except OSError as e:
            LOG.debug('TFTP: cannot send an error to %s: %s', addr, e)

    def _on_request(self, data, addr):
        admitted = admission.admit(self, data, addr)
        if admitted is not None:
            self._start_transfer(*admitted)

    def _start_transfer(self, request, opened, addr, key=None):
        prepared = tftp_transfer.prepare(self, request, opened, addr)
        if prepared is None:
            return
        sock, source, nego = prepared
        transfer = tftp_transfer.Transfer(self, sock, addr, request.filename,
                                          source, nego)
        transfer.client_key = key = key or self.client_key(addr[0])
        self.transfers[addr] = transfer
        self._per_ip[key] = self._per_ip.get(key, 0) + 1
        LOG.debug('TFTP: sending %r to %s (options %s)', request.filename,
                  addr, nego.oack)
        self._by_fd[sock.fileno()] = transfer
        self._epoll.register(sock.fileno(), select.EPOLLIN)
        self._guard(transfer, transfer.start)

    def transfer_done(self, transfer):
        """Forget a transfer that ended (called by the transfer)."""
        if self.transfers.get(transfer.peer) is transfer:
            del self.transfers[transfer.peer]
            key = transfer.client_key
            left = self._per_ip.get(key, 1) - 1
            if left > 0:
                self._per_ip[key] = left
            else:
                self._per_ip.pop(key, None)
        fd = transfer.sock.fileno()
        if self._by_fd.get(fd) is transfer:
            del self._by_fd[fd]
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass


def create_components(conf, table):
    """The agent's TFTP component, or none when TFTP is off.

    The :class:`~vmetal_ironic.agent.component.ComponentFactory` of entry
    point ``tftp``. When ``tftp_root`` is left at its default and that
    directory does not exist, TFTP stays off with a warning (nothing to
    serve); a configured root that is not a directory is a configuration
    error.

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param table: the agent's reservation table (the reserved IPv6
        addresses have a per-client share each).
    :returns: a list of zero or one :class:`TftpServer`.
    :raises ConfigError: if ``tftp_root`` is set but not a directory.
    """
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
    return [TftpServer(group.tftp_root,
                       address=group.server_address or '0.0.0.0',
                       address6=group.server_address6,
                       client_key=clientkey.ClientKeys(
                           table, group.limit_prefix6),
                       port=group.tftp_port, interface=group.interface,
                       timeout=group.tftp_timeout,
                       retries=group.tftp_retries,
                       max_blksize=group.tftp_max_blksize,
                       max_windowsize=group.tftp_max_windowsize,
                       max_transfers=group.tftp_max_transfers,
                       max_timeout=group.tftp_max_timeout,
                       max_transfer_time=group.tftp_max_transfer_time,
                       max_per_client=group.tftp_max_transfers_per_client,
                       initial_retries=group.tftp_initial_retries)]
