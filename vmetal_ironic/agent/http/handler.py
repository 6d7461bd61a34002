"""One client connection of the agent's HTTP proxy (a request handler).

For each request: read the head within its deadline and parse it strictly
(:mod:`~vmetal_ironic.agent.http.framing`,
:mod:`~vmetal_ironic.agent.http.parse`; anything malformed is answered
before any upstream work), route it on the normalized path
(:mod:`~vmetal_ironic.agent.http.routes`), check the body, connect to
the chosen upstream with a connect timeout, send the request with the
filtered headers and X-Forwarded-For, and relay status, headers and body
back (:mod:`~vmetal_ironic.agent.http.relay`). Log lines a client can trigger
go through :data:`CLIENT_LOG` (limited per client and reason).
"""

import http.client
import http.server
import socket
import ssl
import time

from oslo_log import log

from vmetal_ironic.agent.http import framing
from vmetal_ironic.agent.http import parse
from vmetal_ironic.agent.http import relay
from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent import metrics
from vmetal_ironic.agent import ratelimit

LOG = log.getLogger(__name__)
# What a client can make the proxy log: 5 lines per client and reason
# every 10 s, the rest counted.
CLIENT_LOG = ratelimit.SourceLog(LOG, burst=5, period=10.0)

BUFFER_SIZE = relay.BUFFER_SIZE
DEFAULT_HEADER_TIMEOUT = 10.0


class UpstreamError(Exception):
    """An upstream could not be reached; ``status`` is 502 or 504."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


class Handler(relay.ResponseRelay, http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'vmetal-agent'
    sys_version = ''
    client_log = CLIENT_LOG
    # Write responses straight to the socket (no buffering of bodies).
    wbufsize = 0

    def setup(self):
        self.timeout = self.server.proxy.read_timeout
        # The client's share of rate-limited log lines (IPv6: clientkey).
        self.limit_key = getattr(self.server, 'client_key', str)(
            self.client_address[0])
        super().setup()

    def log_message(self, format, *args):
        LOG.debug('HTTP %s: ' + format, self.client_address[0], *args)

    def log_request(self, code='-', size='-'):
        pass  # one line per request is logged by _proxy instead

    def handle_one_request(self):
        """Read, parse and answer one request (or drop the connection)."""
        self.close_connection = True
        self.command, self.path, self.request_version = '', '', 'HTTP/1.1'
        self.requestline = ''
        try:
            self._one_request()
        except framing.HeadTimeout:
            CLIENT_LOG.info(self.limit_key, 'head deadline',
                            'HTTP %s: request head not complete within '
                            '%.1f s; dropped', self.client_address[0],
                            self._header_timeout())
            self._answer_error(408, 'request head not complete in time')
        except (OSError, ssl.SSLError) as e:
            LOG.debug('HTTP %s: connection dropped: %s',
                      self.client_address[0], e)

    def _header_timeout(self):
        return getattr(self.server.proxy, 'header_timeout',
                       DEFAULT_HEADER_TIMEOUT)

    def _one_request(self):
        deadline = time.monotonic() + self._header_timeout()
        data = framing.read_head(self.rfile, self.connection, self.timeout,
                                 deadline)
        if data is None:
            return
        head = parse.parse_head(data)
        if isinstance(head, parse.Invalid):
            CLIENT_LOG.info(self.limit_key, 'malformed head',
                            'HTTP %s: malformed request head: %s',
                            self.client_address[0], head.reason)
            self._answer_error(head.status, head.reason)
            return
        self.connection.settimeout(self.timeout)
        self.command, self.path = head.method, head.target
        self.request_version = head.version
        self.requestline = '%s %s %s' % (head.method, head.target,
                                         head.version)
        self.headers = head.fields
        self._head = head
        self.close_connection = not head.keep_alive
        self._proxy()
        self.wfile.flush()

    def _answer_error(self, status, reason):
        self.close_connection = True
        try:
            self.send_error(status, reason)
        except OSError:
            pass

    # --- one request

    def _refuse(self, status, reason):
        metrics.http_answered(getattr(self.server.proxy, 'name', ''),
                              'refused', status)
        content_type, body = self._refusal_body(status, reason)
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _upstream_failed(self, error):
        """Tell the client that ``error`` (an UpstreamError) happened."""
        self._refuse(error.status, str(error))

    def _refusal_body(self, status, reason):
        """(Content-Type, body) of an answer the proxy gives itself."""
        return 'text/plain', ('%d %s\n' % (status, reason)).encode()

    def _route(self):
        """(decision, upstream); upstream is None for a refusal."""
        proxy = self.server.proxy
        decision = routes.route(self.command, self.path,
                                api_configured=proxy.api is not None,
                                boot_configured=proxy.boot is not None)
        if isinstance(decision, routes.Refusal):
            return decision, None
        upstream = proxy.api if decision.upstream == routes.API else \
            proxy.boot
        return decision, upstream

    def _shown_path(self):
        """The request target as logged."""
        return self.path

    def _proxy(self):
        proxy = self.server.proxy
        client = self.client_address[0]
        begin = time.monotonic()
        decision, upstream = self._route()
        body_length, chunked = self._request_body_framing()
        if isinstance(decision, routes.Refusal):
            if body_length or chunked:
                self.close_connection = True
            level = 'warning' if decision.status == 403 else 'info'
            CLIENT_LOG.at(level, self.limit_key,
                          'refused %d' % decision.status,
                          'HTTP %s: refused %s %r with %d: %s', client,
                          self.command, self._shown_path(), decision.status,
                          decision.reason)
            self._refuse(decision.status, decision.reason)
            return
        if decision.upstream == routes.BOOT and (body_length or chunked):
            self.close_connection = True
            self._refuse(400, 'request bodies are not accepted here')
            return
        if body_length is not None and body_length > proxy.max_body_size:
            self.close_connection = True
            CLIENT_LOG.warning(self.limit_key, 'body too large',
                               'HTTP %s: refused %s %r: body of %d bytes '
                               'exceeds the limit of %d', client,
                               self.command, self._shown_path(), body_length,
                               proxy.max_body_size)
            self._refuse(413, 'request body larger than %d bytes'
                         % proxy.max_body_size)
            return
        if not self._expect_continue():
            return
        body = None
        if chunked:
            body = framing.read_chunked(self.rfile, proxy.max_body_size)
            if isinstance(body, parse.Invalid):
                self.close_connection = True
                CLIENT_LOG.info(self.limit_key, 'malformed chunked body',
                                'HTTP %s: %s %r: malformed chunked body: '
                                '%s', client, self.command,
                                self._shown_path(), body.reason)
                self._refuse(400, 'malformed chunked body')
                return
            if body is None:
                self.close_connection = True
                self._refuse(413, 'request body larger than %d bytes'
                             % proxy.max_body_size)
                return
            body_length = len(body)
        pending = None
        hook = getattr(proxy, 'heartbeat', None)
        if hook is not None and hook.applies(self.command, decision.target):
            # The callback path: vmetal_ironic.agent.http.callback
            if body is None:
                body = self.rfile.read(body_length) if body_length else b''
                if len(body) != body_length:
                    raise ConnectionError('client closed during the body')
            outcome = hook.check(client, decision.target,
                                 self.headers.get('Content-Type'), body)
            if isinstance(outcome, routes.Refusal):
                self._refuse(outcome.status, outcome.reason)
                return
            body, pending = outcome
            body_length = len(body)
        try:
            sent = self._forward(upstream, decision, body_length, body)
        except UpstreamError as e:
            CLIENT_LOG.warning(self.limit_key, 'upstream %d' % e.status,
                               'HTTP %s: %s %r: upstream %s: %s', client,
                               self.command, self._shown_path(),
                               upstream.netloc, e)
            self.close_connection = True
            self._upstream_failed(e)
            return
        status, size = sent
        metrics.http_answered(getattr(proxy, 'name', ''), decision.upstream,
                              status, size)
        if pending is not None:
            pending(status)
        LOG.info('HTTP %s: %s %r -> %s %d, %d bytes in %.3f s', client,
                 self.command, self._shown_path(), decision.upstream, status,
                 size, time.monotonic() - begin)

    def _request_body_framing(self):
        """(Content-Length, chunked) of the request being served."""
        return self._head.content_length, self._head.chunked

    def _expect_continue(self):
        """Answer "Expect: 100-continue" before reading a body.

        :returns: False when the request was answered (417) instead.
        """
        expect = self.headers.get('Expect')
        if expect is None:
            return True
        if expect.lower() != '100-continue':
            self.close_connection = True
            self._refuse(417, 'only "Expect: 100-continue" is understood')
            return False
        if self.request_version == 'HTTP/1.1':
            self.send_response_only(100)
            self.end_headers()
        return True

    def _connect(self, upstream):
        proxy = self.server.proxy
        if upstream.scheme == 'https':
            conn = http.client.HTTPSConnection(
                upstream.host, upstream.port,
                timeout=proxy.connect_timeout,
                context=getattr(upstream, 'context', None)
                or proxy.ssl_context)
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
        sock = None
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
                # Held here: when the upstream closes after this response
                # http.client drops conn.sock, but the descriptor stays
                # open (the response reads from it) and can be spliced.
                sock = conn.sock
                if body is not None:
                    conn.send(body)
                elif body_length:
                    self._copy_request_body(conn, body_length)
                response = conn.getresponse()
            except socket.timeout:
                raise UpstreamError(504, 'timed out')
            except (OSError, http.client.HTTPException) as e:
                raise UpstreamError(502, 'bad upstream exchange: %s' % e)
            try:
                return response.status, self._relay(response, sock)
            finally:
                response.close()
        finally:
            conn.close()
            if sock is not None:
                # What http.client dropped is closed now, not whenever the
                # garbage collector frees a traceback that holds it.
                sock.close()

    def _copy_request_body(self, conn, remaining):
        buf = bytearray(min(BUFFER_SIZE, remaining))
        view = memoryview(buf)
        while remaining:
            n = self.rfile.readinto(view[:min(len(buf), remaining)])
            if not n:
                raise ConnectionError('client closed during the body')
            conn.sock.sendall(view[:n])
            remaining -= n
