"""The agent's HTTP proxy from the provisioning segment to Ironic.

Servers on the provisioning segment cannot reach the cluster; the agent
can. This proxy listens on the provisioning address (``[dhcp_agent]
http_port``) and forwards to Ironic's HTTP boot server (``boot.ipxe``,
per-node iPXE configs, kernels, ramdisks, images) and to the few Ironic API
endpoints the ramdisk uses; :mod:`vmetal_ironic.agent.http.routes` decides
which requests go where, and refuses the rest.

Built on the standard library (``http.server`` threads, ``http.client``
upstream): no dependency, and a thread per connection is the simplest way
to stream both directions with bounded memory. A body of known length moves
socket to socket with splice(2), others through one fixed buffer per
connection, so a multi-gigabyte image never sits in memory
(:mod:`~vmetal_ironic.agent.http.handler`).

Usage::

    proxy = HttpProxy('172.22.0.2', http_url='http://ironic:8088')
    proxy.start()    # returns once the socket is bound
    ...
    proxy.stop()
"""

import collections
import errno
import http.server
import socket
import ssl
import threading
import time

from oslo_log import log

from vmetal_ironic.agent import clientkey
from vmetal_ironic.agent import component
from vmetal_ironic.agent.http import handler
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent import ratelimit
from vmetal_ironic.agent import sockets
from vmetal_ironic import exception

LOG = log.getLogger(__name__)
_BUSY_LOG = ratelimit.SourceLog(LOG, burst=5, period=10.0)
# After accept(2) failed for want of descriptors: pause before the next try
# instead of spinning on the ready listening socket.
ACCEPT_BACKOFF = 0.1
_BUSY = (b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n'
         b'Connection: close\r\n\r\n')


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, proxy, address, interface, context=None,
                 share=None):
        self.proxy = proxy
        self.per_client = getattr(proxy, 'max_connections_per_client', None)
        self.client_key = getattr(proxy, 'client_key', None) or str
        if share is None:
            self.slots = threading.BoundedSemaphore(proxy.max_connections)
            self.clients = collections.Counter()
            self._clients_lock = threading.Lock()
        else:
            # The IPv6 listener of a proxy: the same caps as its IPv4 one.
            self.slots, self.clients = share.slots, share.clients
            self._clients_lock = share._clients_lock
        self._keys = {}
        self._interface = interface
        self._context = context
        # An IPv6 listener: (address, port, flowinfo, scope id).
        self.address_family = sockets.family_of(address[0])
        super().__init__(address, getattr(proxy, 'handler_class',
                                          handler.Handler))

    def get_request(self):
        try:
            sock, address = super().get_request()
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS,
                           errno.ENOMEM):
                _BUSY_LOG.warning('accept', str(e.errno),
                                  'HTTP: cannot accept a connection: %s',
                                  e)
                time.sleep(ACCEPT_BACKOFF)
            raise
        if self._context is not None:
            # The handshake runs on the first read, in the request's
            # thread and under its timeout, never in the accept loop.
            sock = self._context.wrap_socket(sock, server_side=True,
                                             do_handshake_on_connect=False)
        return sock, address

    def server_bind(self):
        if self._interface:
            sockets.bind_to_device(self.socket, self._interface, 'HTTP',
                                   required=False)
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY,
                                   1)
            # bound once out of DAD (sockets.bind), then the usual way
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,
                                   1)
            sockets.bind(self.socket, self.server_address, 'HTTP')
            self.server_address = self.socket.getsockname()
            self.server_name, self.server_port = self.server_address[:2]
            return
        super().server_bind()

    def _client_slot(self, ip):
        """Count a connection of ``ip``; False when it has its share."""
        if not self.per_client:
            return True
        with self._clients_lock:
            if self.clients[ip] >= self.per_client:
                return False
            self.clients[ip] += 1
            return True

    def _client_done(self, ip):
        if not self.per_client:
            return
        with self._clients_lock:
            self.clients[ip] -= 1
            if self.clients[ip] <= 0:
                del self.clients[ip]

    def _busy(self, request, client_address, why):
        _BUSY_LOG.warning(self.client_key(client_address[0]), why,
                          'HTTP %s: %s; answered 503', client_address[0],
                          why)
        try:
            if isinstance(request, ssl.SSLSocket):
                raise OSError('no handshake in the accept loop')
            request.setblocking(False)
            request.send(_BUSY)
        except OSError:
            pass
        self.shutdown_request(request)

    def process_request(self, request, client_address):
        # The share of the client (its address; IPv6: see clientkey),
        # kept with the request so that it is released as counted.
        ip = self._keys[request] = self.client_key(client_address[0])
        if not self._client_slot(ip):
            self._keys.pop(request, None)
            self._busy(request, client_address, '%d connections of this '
                       'client (%s) in use' % (self.per_client, ip))
            return
        if not self.slots.acquire(blocking=False):
            self._client_done(self._keys.pop(request, ip))
            self._busy(request, client_address, '%d connections in use'
                       % self.proxy.max_connections)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            # no thread to hand the connection to (e.g. out of memory)
            self.slots.release()
            self._client_done(self._keys.pop(request, ip))
            self.shutdown_request(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()
            self._client_done(self._keys.pop(request, client_address[0]))


# Descriptors one client connection may hold: its socket, the upstream's,
# and the splice(2) pipe (doc/limits-http.md).
FDS_PER_CONNECTION = 4


def descriptor_budget(max_connections, https=False):
    """Descriptors the proxy may hold at most (for a start-up check).

    :param max_connections: ``[dhcp_agent]http_max_connections``.
    :param https: whether the HTTPS listener runs too (its own share).
    :returns: the number of file descriptors.
    """
    listeners = 2 if https else 1
    return listeners * (max_connections * FDS_PER_CONNECTION + 1)


class HttpProxy(component.Component):
    """The proxy to Ironic's HTTP boot server and API; an agent component.

    :param address: the address to listen on (the provisioning address).
    :param port: the TCP port (0: any free port; see :attr:`port`).
    :param http_url: URL of Ironic's HTTP boot server, or None.
    :param api_url: URL of the Ironic API, or None.
    :param connect_timeout: seconds to connect to an upstream.
    :param read_timeout: seconds to wait for data from either side.
    :param max_body_size: largest request body on the API paths.
    :param max_connections: client connections served at once.
    :param max_connections_per_client: of those, at most this many from
        one client address (None: no cap of its own).
    :param header_timeout: seconds a client has to send a request head
        (one deadline for the whole head, not per receive).
    :param cafile: CA bundle for https upstreams.
    :param interface: optional device name to bind to.
    :param zero_copy: move bodies of known length with splice(2) where
        both sides are plain TCP (False: always the copy loop).
    :param address6: an IPv6 address to listen on too (same ports, the
        same connection caps shared with the IPv4 listener), or None.
    :param client_key: source address -> its per-client share (default:
        the address; see :mod:`vmetal_ironic.agent.clientkey`).
    :raises ConfigError: if a URL is invalid or neither is given.
    """

    name = 'http-proxy'

    def __init__(self, address, port=8080, http_url=None, api_url=None,
                 connect_timeout=10.0, read_timeout=60.0,
                 max_body_size=1048576, max_connections=200, cafile=None,
                 interface=None, https_port=0, https_context=None,
                 max_connections_per_client=None,
                 header_timeout=handler.DEFAULT_HEADER_TIMEOUT,
                 zero_copy=True, address6=None, client_key=None):
        if not http_url and not api_url:
            raise exception.ConfigError(
                reason='[dhcp_agent]ironic_http_url is required when '
                       'http_proxy_enabled is true')
        self.boot = self._upstream('ironic_http_url', http_url)
        self.api = self._upstream('ironic_api_url', api_url)
        self.address = address
        self.address6 = address6
        self.client_key = client_key
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body_size = max_body_size
        self.max_connections = max_connections
        self.max_connections_per_client = max_connections_per_client
        self.header_timeout = header_timeout
        # False: every body through the copy loop (the benchmark's
        # reference, and where splice(2) is missing).
        self.zero_copy = zero_copy
        self.interface = interface
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        # The HTTPS listener (same routes) when a certificate is set.
        self.https_port = https_port
        self.https_context = https_context
        # Set by create_components when the callback path is on: the
        # heartbeat rewrite (vmetal_ironic.agent.http.callback).
        self.heartbeat = None
        self._server = None     # the IPv4 listeners of HTTP and HTTPS
        self._https = None
        self._servers = []      # every listener, with the IPv6 twins
        self._threads = []

    @staticmethod
    def _upstream(option, url):
        if not url:
            return None
        try:
            return routes.parse_upstream(url)
        except ValueError as e:
            raise exception.ConfigError(reason='[dhcp_agent]%s: %s'
                                        % (option, e))

    def start(self):
        """Bind and serve in background threads; returns once bound.

        :raises OSError: if a socket cannot be bound.
        """
        try:
            self._server = self._listen(self.port, None, 'http-proxy')
            self.port = self._server.server_address[1]
            if self.https_context is not None:
                self._https = self._listen(self.https_port,
                                           self.https_context, 'https-proxy')
                self.https_port = self._https.server_address[1]
        except BaseException:
            self.stop()
            raise
        also = ' and [%s]' % self.address6 if self.address6 else ''
        LOG.info('HTTP proxy on %s%s port %d%s to boot server %s and API %s',
                 self.address, also, self.port,
                 ', HTTPS port %d' % self.https_port if self._https else '',
                 self.boot.netloc if self.boot else None,
                 self.api.netloc if self.api else None)

    def _listen(self, port, context, name):
        """A listener on ``address`` and its IPv6 twin (shared caps)."""
        first = self._run(_Server(self, (self.address, port),
                                  self.interface, context), name)
        if self.address6:
            self._run(_Server(self, sockets.sockaddr(
                self.address6, first.server_address[1], self.interface),
                self.interface, context, share=first), name + '6')
        return first

    def _run(self, server, name):
        # started at once: stop() may shut down only a serving server
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.5},
                                  name=name, daemon=True)
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return server

    def stop(self):
        """Stop accepting connections and close the sockets."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)
        self._servers, self._threads = [], []
        self._server = self._https = None


def create_components(conf, table):
    """The agent's HTTP proxy component, or none when the proxy is off.

    The :class:`~vmetal_ironic.agent.component.ComponentFactory` of entry
    point ``http_proxy``. With neither ``ironic_http_url`` nor
    ``ironic_api_url`` set the proxy stays off with a warning (it would
    have nowhere to forward).

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param table: the agent's reservation table (heartbeats are checked
        against it when the callback path is on).
    :returns: a list of zero or one :class:`HttpProxy`.
    :raises ConfigError: if an upstream URL is invalid.
    """
    group = conf.dhcp_agent
    if not group.http_proxy_enabled:
        LOG.info('HTTP proxy is off ([dhcp_agent]http_proxy_enabled = '
                 'false)')
        return []
    if not group.ironic_http_url and not group.ironic_api_url:
        LOG.warning('HTTP proxy is off: set [dhcp_agent]ironic_http_url '
                    '(and ironic_api_url), or http_proxy_enabled = false')
        return []
    https_context = None
    if group.https_port:
        from vmetal_ironic.agent.http import tls
        try:
            https_context = tls.file_server_context(
                group.https_cert_file, group.https_key_file)
        except tls.TLSError as e:
            raise exception.ConfigError(
                reason='[dhcp_agent]https_cert_file / https_key_file: '
                       '%s' % e)
    # Active-active (service_address, a VIP): listen on every address of
    # the interface, so the proxy answers on the VIP once VRRP moves it
    # here (the socket stays bound to the provisioning device).
    address = ('0.0.0.0' if group.service_address
               else group.server_address or '0.0.0.0')
    proxy = HttpProxy(address,
                      port=group.http_port,
                      http_url=group.ironic_http_url,
                      api_url=group.ironic_api_url,
                      connect_timeout=group.http_connect_timeout,
                      read_timeout=group.http_read_timeout,
                      max_body_size=group.http_max_body_size,
                      max_connections=group.http_max_connections,
                      max_connections_per_client=(
                          group.http_max_connections_per_client or None),
                      header_timeout=group.http_header_timeout,
                      cafile=group.ironic_cafile,
                      interface=group.interface,
                      https_port=group.https_port,
                      https_context=https_context,
                      address6=group.server_address6,
                      client_key=clientkey.ClientKeys(
                          table, group.limit_prefix6))
    if table is not None:
        from vmetal_ironic.agent.http import callback
        proxy.heartbeat = callback.heartbeat_hook(conf, table)
    return [proxy]


def proxy_url(conf, path=''):
    """The proxy's URL as servers on the provisioning segment see it.

    For the DHCP side: when the proxy serves the HTTP boot server, the
    default iPXE script URL is ``proxy_url(conf, '/boot.ipxe')``.

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param path: a path to append (starting with ``/``).
    :returns: the URL, or None when the proxy is off, has no HTTP boot
        server to forward to, or no ``server_address`` is set.
    """
    group = conf.dhcp_agent
    if (not group.http_proxy_enabled or not group.ironic_http_url
            or not group.server_address):
        return None
    return 'http://%s:%d%s' % (group.server_address, group.http_port, path)
