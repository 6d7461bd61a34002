"""Relaying an upstream's response to the proxy's client (a mixin).

Status and the filtered headers first, then the body: one of known
length between two plain TCP sockets moves with splice(2)
(:mod:`~vmetal_ironic.agent.http.splice`: bytes never enter Python);
others go through one fixed buffer, re-chunked for an HTTP/1.1 client
when the upstream gave no length. Once the head is sent, a failure can
only cut the body short: the connection is dropped.
"""

import http.client
import ssl

from vmetal_ironic.agent.http import routes
from vmetal_ironic.agent.http import splice

BUFFER_SIZE = 256 * 1024


class ResponseRelay:
    """The response half of :class:`~.handler.Handler`.

    Expects the request handler's attributes (``command``,
    ``request_version``, ``connection``, ``server``, ``client_address``,
    ``send_*``) and ``client_log``, the handler's rate-limited log.
    """

    def _relay(self, response, upstream):
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
        if length is not None and self._can_splice(upstream):
            return self._splice_body(response, upstream, int(length))
        return self._copy_body(response, chunk)

    def _can_splice(self, upstream):
        """Whether a body of known length may move with splice(2).

        Only between two plain TCP sockets: TLS on either side needs the
        bytes in user space (to decrypt or encrypt them), and a body
        without Content-Length is re-framed (chunked) on the way.
        """
        return (getattr(self.server.proxy, 'zero_copy', True)
                and splice.AVAILABLE
                and not isinstance(upstream, ssl.SSLSocket)
                and not isinstance(self.connection, ssl.SSLSocket))

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
                total += splice.splice(
                    upstream.fileno(), self.connection.fileno(),
                    length - total, self.server.proxy.read_timeout)
        except (OSError, http.client.HTTPException) as e:
            self._aborted(total, e)
        return total

    def _aborted(self, total, error):
        # Status and headers are gone: all that is left is to drop the
        # connection so the client sees a short body.
        client = self.client_address[0]
        self.client_log.warning(
            self.limit_key, 'transfer aborted',
            'HTTP %s: %s %r: transfer aborted after %d bytes: %s', client,
            self.command, self._shown_path(), total, error)
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
