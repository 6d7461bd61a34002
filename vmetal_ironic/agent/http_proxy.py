"""The agent's HTTP proxy from the provisioning segment to Ironic.

Servers on the provisioning segment cannot reach the cluster; the agent
can. This proxy listens on the provisioning address (``[dhcp_agent]
http_port``) and forwards to Ironic's HTTP boot server (``boot.ipxe``,
per-node iPXE configs, kernels, ramdisks, images) and to the few Ironic API
endpoints the ramdisk uses; :mod:`vmetal_ironic.agent.http_routes` decides
which requests go where, and refuses the rest.

Built on the standard library (``http.server`` threads, ``http.client``
upstream): no dependency, and a thread per connection is the simplest way
to stream both directions with bounded memory. Bodies are copied through
one fixed buffer per connection, so a multi-gigabyte image never sits in
memory.

Usage::

    proxy = HttpProxy.from_conf(CONF, address='172.22.0.2')
    proxy.start()    # returns once the socket is bound
    ...
    proxy.stop()
"""

import http.client
import http.server
import os
import socket
import ssl
import threading
import time

from oslo_log import log

from vmetal_ironic.agent import http_routes as routes
from vmetal_ironic.agent import http_splice
from vmetal_ironic.conf import bridge as bridge_conf
from vmetal_ironic import exception

LOG = log.getLogger(__name__)

BUFFER_SIZE = 256 * 1024


class UpstreamError(Exception):
    """An upstream could not be reached; ``status`` is 502 or 504."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'vmetal-agent'
    sys_version = ''
    # Write responses straight to the socket (no buffering of bodies).
    wbufsize = 0

    def setup(self):
        self.timeout = self.server.proxy.read_timeout
        super().setup()

    def log_message(self, format, *args):
        LOG.debug('HTTP %s: ' + format, self.client_address[0], *args)

    def log_request(self, code='-', size='-'):
        pass  # one line per request is logged by _proxy instead

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout) as e:
            LOG.debug('HTTP %s: connection dropped: %s',
                      self.client_address[0], e)
            self.close_connection = True

    def __getattr__(self, name):
        if name.startswith('do_'):
            return self._proxy
        raise AttributeError(name)

    # --- one request

    def _refuse(self, status, reason):
        body = ('%d %s\n' % (status, reason)).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _proxy(self):
        proxy = self.server.proxy
        client = self.client_address[0]
        begin = time.monotonic()
        decision = routes.route(self.command, self.path,
                                api_configured=proxy.api is not None,
                                boot_configured=proxy.boot is not None)
        body_length, chunked = self._request_body_framing()
        if body_length < 0:
            self.close_connection = True
            self._refuse(400, 'invalid Content-Length')
            return
        if isinstance(decision, routes.Refusal):
            if body_length or chunked:
                self.close_connection = True
            level = LOG.warning if decision.status == 403 else LOG.info
            level('HTTP %s: refused %s %r with %d: %s', client,
                  self.command, self.path, decision.status, decision.reason)
            self._refuse(decision.status, decision.reason)
            return
        upstream = proxy.api if decision.upstream == routes.API else \
            proxy.boot
        if decision.upstream == routes.BOOT and (body_length or chunked):
            self.close_connection = True
            self._refuse(400, 'request bodies are not accepted here')
            return
        if body_length is not None and body_length > proxy.max_body_size:
            self.close_connection = True
            LOG.warning('HTTP %s: refused %s %r: body of %d bytes exceeds '
                        'the limit of %d', client, self.command, self.path,
                        body_length, proxy.max_body_size)
            self._refuse(413, 'request body larger than %d bytes'
                         % proxy.max_body_size)
            return
        body = None
        if chunked:
            body = self._read_chunked(proxy.max_body_size)
            if body is None:
                self.close_connection = True
                self._refuse(413, 'request body larger than %d bytes'
                             % proxy.max_body_size)
                return
            body_length = len(body)
        try:
            sent = self._forward(upstream, decision, body_length, body)
        except UpstreamError as e:
            LOG.warning('HTTP %s: %s %r: upstream %s: %s', client,
                        self.command, self.path, upstream.netloc, e)
            self.close_connection = True
            self._refuse(e.status, str(e))
            return
        status, size = sent
        LOG.info('HTTP %s: %s %r -> %s %d, %d bytes in %.3f s', client,
                 self.command, self.path, decision.upstream, status, size,
                 time.monotonic() - begin)

    def _request_body_framing(self):
        te = self.headers.get('Transfer-Encoding', '')
        if te and te.strip().lower() != 'identity':
            return 0, True
        length = self.headers.get('Content-Length')
        if length is None:
            return 0, False
        try:
            value = int(length)
            if value < 0:
                raise ValueError(length)
        except ValueError:
            return -1, False
        return value, False

    def _read_chunked(self, limit):
        """The de-chunked body, or None past ``limit`` bytes."""
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            size = int(line.split(b';', 1)[0].strip() or b'0', 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                    pass
                return b''.join(parts)
            total += size
            if total > limit:
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline(16)

    def _connect(self, upstream):
        proxy = self.server.proxy
        if upstream.scheme == 'https':
            conn = http.client.HTTPSConnection(
                upstream.host, upstream.port,
                timeout=proxy.connect_timeout, context=proxy.ssl_context)
        else:
            conn = http.client.HTTPConnection(
                upstream.host, upstream.port, timeout=proxy.connect_timeout)
        try:
            conn.connect()
        except socket.timeout:
            conn.close()
            raise UpstreamError(504, 'connect timed out')
        except OSError as e:
            conn.close()
            raise UpstreamError(502, 'cannot connect: %s' % e)
        conn.sock.settimeout(proxy.read_timeout)
        return conn

    def _forward(self, upstream, decision, body_length, body):
        """Send the request upstream and stream the answer back."""
        conn = self._connect(upstream)
        try:
            headers = routes.request_headers(
                list(self.headers.items()), self.client_address[0], upstream)
            conn.putrequest(self.command,
                            routes.upstream_target(upstream,
                                                   decision.target),
                            skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body_length or self.command in ('POST', 'PUT', 'PATCH'):
                conn.putheader('Content-Length', str(body_length or 0))
            try:
                conn.endheaders()
                if body is not None:
                    conn.send(body)
                elif body_length:
                    self._copy_request_body(conn, body_length)
                response = conn.getresponse()
            except socket.timeout:
                raise UpstreamError(504, 'timed out')
            except (OSError, http.client.HTTPException) as e:
                raise UpstreamError(502, 'bad upstream exchange: %s' % e)
            return response.status, self._relay(response, conn)
        finally:
            conn.close()

    def _copy_request_body(self, conn, remaining):
        buf = bytearray(min(BUFFER_SIZE, remaining))
        view = memoryview(buf)
        while remaining:
            n = self.rfile.readinto(view[:min(len(buf), remaining)])
            if not n:
                raise ConnectionError('client closed during the body')
            conn.sock.sendall(view[:n])
            remaining -= n

    def _relay(self, response, conn):
        """Send status, headers and body of ``response``; bytes sent."""
        headers = routes.response_headers(response.getheaders())
        no_body = (self.command == 'HEAD' or response.status in (204, 304)
                   or 100 <= response.status < 200)
        length = response.getheader('Content-Length')
        framed = length is not None or no_body
        chunk = not framed and self.request_version == 'HTTP/1.1'
        if not framed and not chunk:
            self.close_connection = True
        self.send_response_only(response.status, response.reason)
        for name, value in headers:
            self.send_header(name, value)
        if chunk:
            self.send_header('Transfer-Encoding', 'chunked')
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if no_body:
            return 0
        if (length is not None and hasattr(os, 'splice')
                and not isinstance(conn.sock, ssl.SSLSocket)):
            return self._splice_body(response, conn.sock, int(length))
        return self._copy_body(response, chunk)

    def _splice_body(self, response, upstream, length):
        """Move a body of known length with splice(2): no copy to Python.

        What http.client already buffered is sent first; the rest goes
        socket -> pipe -> socket in the kernel.
        """
        total = 0
        try:
            if length:
                head = response.fp.read1(min(BUFFER_SIZE, length))
                if not head:
                    raise ConnectionError('upstream closed early')
                self.connection.sendall(head)
                total = len(head)
            if total < length:
                total += http_splice.splice(
                    upstream.fileno(), self.connection.fileno(),
                    length - total, self.server.proxy.read_timeout)
        except (OSError, http.client.HTTPException) as e:
            self._aborted(total, e)
        return total

    def _aborted(self, total, error):
        # Status and headers are gone: all that is left is to drop the
        # connection so the client sees a short body.
        LOG.warning('HTTP %s: %s %r: transfer aborted after %d bytes: %s',
                    self.client_address[0], self.command, self.path, total,
                    error)
        self.close_connection = True

    def _copy_body(self, response, chunk):
        sock = self.connection
        buf = bytearray(BUFFER_SIZE)
        view = memoryview(buf)
        total = 0
        try:
            while True:
                n = response.readinto(buf)
                if not n:
                    break
                if chunk:
                    sock.sendall(b'%x\r\n' % n)
                    sock.sendall(view[:n])
                    sock.sendall(b'\r\n')
                else:
                    sock.sendall(view[:n])
                total += n
        except (OSError, http.client.HTTPException) as e:
            self._aborted(total, e)
            return total
        if chunk:
            sock.sendall(b'0\r\n\r\n')
        return total


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, proxy, address, interface):
        self.proxy = proxy
        self.slots = threading.BoundedSemaphore(proxy.max_connections)
        self._interface = interface
        super().__init__(address, _Handler)

    def server_bind(self):
        if self._interface:
            try:
                self.socket.setsockopt(socket.SOL_SOCKET,
                                       socket.SO_BINDTODEVICE,
                                       self._interface.encode() + b'\0')
            except PermissionError:
                LOG.debug('HTTP: no permission to bind to device %s',
                          self._interface)
        super().server_bind()

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            LOG.warning('HTTP %s: %d connections in use; answered 503',
                        client_address[0], self.proxy.max_connections)
            try:
                request.sendall(b'HTTP/1.1 503 Service Unavailable\r\n'
                                b'Content-Length: 0\r\n'
                                b'Connection: close\r\n\r\n')
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class HttpProxy(object):
    """The proxy to Ironic's HTTP boot server and API; an agent component.

    :param address: the address to listen on (the provisioning address).
    :param port: the TCP port (0: any free port; see :attr:`port`).
    :param http_url: URL of Ironic's HTTP boot server, or None.
    :param api_url: URL of the Ironic API, or None.
    :param connect_timeout: seconds to connect to an upstream.
    :param read_timeout: seconds to wait for data from either side.
    :param max_body_size: largest request body on the API paths.
    :param max_connections: client connections served at once.
    :param cafile: CA bundle for https upstreams.
    :param interface: optional device name to bind to.
    :raises ConfigError: if a URL is invalid or neither is given.
    """

    name = 'http-proxy'

    def __init__(self, address, port=8080, http_url=None, api_url=None,
                 connect_timeout=10.0, read_timeout=60.0,
                 max_body_size=1048576, max_connections=200, cafile=None,
                 interface=None):
        if not http_url and not api_url:
            raise exception.ConfigError(
                reason='[dhcp_agent]ironic_http_url is required when '
                       'http_proxy_enabled is true')
        self.boot = self._upstream('ironic_http_url', http_url)
        self.api = self._upstream('ironic_api_url', api_url)
        self.address = address
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body_size = max_body_size
        self.max_connections = max_connections
        self.interface = interface
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        self._server = None
        self._thread = None

    @staticmethod
    def _upstream(option, url):
        if not url:
            return None
        try:
            return routes.parse_upstream(url)
        except ValueError as e:
            raise exception.ConfigError(reason='[dhcp_agent]%s: %s'
                                        % (option, e))

    @classmethod
    def from_conf(cls, conf, address, interface=None):
        """A proxy configured by ``[dhcp_agent]``.

        :param conf: an oslo.config ConfigOpts.
        :param address: the provisioning address to listen on.
        :param interface: the provisioning interface, if known.
        :raises ConfigError: if the upstream URLs are missing or invalid.
        """
        bridge_conf.register_opts(conf)
        group = conf.dhcp_agent
        return cls(address, port=group.http_port,
                   http_url=group.ironic_http_url,
                   api_url=group.ironic_api_url,
                   connect_timeout=group.http_connect_timeout,
                   read_timeout=group.http_read_timeout,
                   max_body_size=group.http_max_body_size,
                   max_connections=group.http_max_connections,
                   cafile=group.ironic_cafile, interface=interface)

    def start(self):
        """Bind and serve in a background thread; returns once bound.

        :raises OSError: if the socket cannot be bound.
        """
        self._server = _Server(self, (self.address, self.port),
                               self.interface)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.5},
                                        name='http-proxy', daemon=True)
        self._thread.start()
        LOG.info('HTTP proxy on %s:%d to boot server %s and API %s',
                 self.address, self.port,
                 self.boot.netloc if self.boot else None,
                 self.api.netloc if self.api else None)

    def stop(self):
        """Stop accepting connections and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = None


def create_components(conf, table=None):
    """The agent's HTTP proxy component, or none when the proxy is off.

    Called by :class:`vmetal_ironic.agent.service.AgentService`. With
    neither ``ironic_http_url`` nor ``ironic_api_url`` set the proxy stays
    off with a warning (it would have nowhere to forward).

    :param conf: an oslo.config ConfigOpts with ``[dhcp_agent]``.
    :param table: the agent's reservation table (unused).
    :returns: a list of zero or one :class:`HttpProxy`.
    :raises ConfigError: if an upstream URL is invalid.
    """
    bridge_conf.register_opts(conf)
    group = conf.dhcp_agent
    if not group.http_proxy_enabled:
        LOG.info('HTTP proxy is off ([dhcp_agent]http_proxy_enabled = '
                 'false)')
        return []
    if not group.ironic_http_url and not group.ironic_api_url:
        LOG.warning('HTTP proxy is off: set [dhcp_agent]ironic_http_url '
                    '(and ironic_api_url), or http_proxy_enabled = false')
        return []
    return [HttpProxy.from_conf(conf, group.server_address or '0.0.0.0',
                                interface=group.interface)]
