"""Both body paths of the proxy: splice(2) and the copy loop.

Real TCP sockets on 127.0.0.1 (an in-process upstream, the proxy, and
http.client or raw sockets as the client), each case run with
``zero_copy`` on and off: the bytes, the framing and the failures must be
the same on both paths, and splice(2) must be used exactly where it can
apply (a body of known length between two plain TCP sockets, whether the
upstream keeps its connection or closes it) and nowhere else (chunked,
TLS on either side).
"""

import http.client
import http.server
import random
import socket
import ssl
import threading
import time

import pytest

from vmetal_ironic.agent.http import server as http_proxy
from vmetal_ironic.agent.http import splice
from vmetal_ironic.agent.http import tls

BLOCK = random.Random(16).randbytes(65536)


def payload(n):
    return (BLOCK * (n // len(BLOCK) + 1))[:n]


class Upstream(http.server.BaseHTTPRequestHandler):
    """``/<kind>/<bytes>``.

    cl (keep-alive), close (Connection: close), chunked, short (announces
    more than it sends, then closes).
    """

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        _, kind, n = self.path.split('/')
        body = payload(int(n))
        self.send_response(200)
        if kind == 'chunked':
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for k in range(0, len(body), 100000):
                piece = body[k:k + 100000]
                self.wfile.write(b'%x\r\n%s\r\n' % (len(piece), piece))
            self.wfile.write(b'0\r\n\r\n')
            return
        self.send_header('Content-Length', str(len(body)))
        if kind in ('close', 'short'):
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body[:len(body) // 3] if kind == 'short' else body)


def serve(context=None):
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Upstream)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope='module')
def upstream():
    server = serve()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def spliced(monkeypatch):
    """Bytes handed to splice(2) during the test.

    Recorded on entry: the client may hold the last byte before the
    proxy's thread returns from the call.
    """
    moved = []
    real = splice.splice

    def counting(src, dst, length, timeout):
        moved.append(length)
        return real(src, dst, length, timeout)
    monkeypatch.setattr(splice, 'splice', counting)
    return moved


@pytest.fixture(params=[True, False], ids=['splice', 'copy'])
def zero_copy(request):
    return request.param


def start_proxy(url, zero_copy, **kw):
    p = http_proxy.HttpProxy('127.0.0.1', 0, http_url=url, read_timeout=1.0,
                             zero_copy=zero_copy, **kw)
    p.start()
    return p


def get(port, path, context=None, version=None):
    if context is None:
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    else:
        conn = http.client.HTTPSConnection('127.0.0.1', port, timeout=10,
                                           context=context)
    if version:
        conn._http_vsn, conn._http_vsn_str = 10, 'HTTP/1.0'
    conn.request('GET', path)
    resp = conn.getresponse()
    try:
        return resp, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize('kind', ['cl', 'close'])
def test_body_of_known_length(upstream, zero_copy, spliced, kind):
    p = start_proxy('http://127.0.0.1:%d' % upstream, zero_copy)
    try:
        n = 3 * 1024 * 1024 + 7
        resp, body = get(p.port, '/%s/%d' % (kind, n))
        assert resp.status == 200 and body == payload(n)
        assert resp.getheader('Content-Length') == str(n)
        # What http.client had buffered goes first; the rest is spliced.
        assert (sum(spliced) > n // 2) == zero_copy
        assert bool(spliced) == zero_copy
    finally:
        p.stop()


@pytest.mark.parametrize('version', [None, '1.0'])
def test_chunked_body_is_copied_and_reframed(upstream, zero_copy, spliced,
                                             version):
    p = start_proxy('http://127.0.0.1:%d' % upstream, zero_copy)
    try:
        n = 1024 * 1024 + 3
        resp, body = get(p.port, '/chunked/%d' % n, version=version)
        assert resp.status == 200 and body == payload(n)
        assert resp.getheader('Transfer-Encoding') == (
            None if version else 'chunked')
        assert spliced == []
    finally:
        p.stop()


def test_upstream_closing_early_cuts_the_client_short(upstream, zero_copy,
                                                      spliced):
    p = start_proxy('http://127.0.0.1:%d' % upstream, zero_copy)
    try:
        n = 3 * 1024 * 1024
        with pytest.raises(http.client.IncompleteRead) as err:
            get(p.port, '/short/%d' % n)
        assert len(err.value.partial) == n // 3
        assert err.value.partial == payload(n)[:n // 3]
        # the proxy serves the next request as before
        resp, body = get(p.port, '/cl/1000')
        assert body == payload(1000)
    finally:
        p.stop()


def test_stalled_client_is_dropped_after_the_read_timeout(upstream,
                                                          zero_copy):
    p = start_proxy('http://127.0.0.1:%d' % upstream, zero_copy)
    try:
        n = 64 * 1024 * 1024
        with socket.create_connection(('127.0.0.1', p.port)) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.sendall(b'GET /cl/%d HTTP/1.1\r\nHost: x\r\n\r\n' % n)
            time.sleep(3.0)         # never reads: the proxy's sends stall
            s.settimeout(10)
            got = 0
            while True:
                try:
                    chunk = s.recv(1 << 20)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                got += len(chunk)
            assert got < n          # dropped, not completed
        resp, body = get(p.port, '/cl/1000')
        assert body == payload(1000)
    finally:
        p.stop()


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    ca_pem, ca_key = tls.generate_ca('zero-copy test CA')
    cert, key = tls.issue_server_cert(ca_pem, ca_key, '127.0.0.1')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_chain(ctx, cert, key)
    cafile = tmp_path_factory.mktemp('pki') / 'ca.pem'
    cafile.write_text(ca_pem)
    client = ssl.create_default_context(cafile=str(cafile))
    return ctx, str(cafile), client


def test_tls_upstream_falls_back_to_the_copy_loop(pki, zero_copy, spliced):
    server_ctx, cafile, _ = pki
    server = serve(server_ctx)
    p = start_proxy('https://127.0.0.1:%d' % server.server_address[1],
                    zero_copy, cafile=cafile)
    try:
        n = 2 * 1024 * 1024 + 1
        resp, body = get(p.port, '/cl/%d' % n)
        assert resp.status == 200 and body == payload(n)
        assert spliced == []
    finally:
        p.stop()
        server.shutdown()
        server.server_close()


def test_tls_client_falls_back_to_the_copy_loop(upstream, pki, zero_copy,
                                                spliced):
    server_ctx, _, client_ctx = pki
    p = start_proxy('http://127.0.0.1:%d' % upstream, zero_copy,
                    https_context=server_ctx)
    try:
        n = 2 * 1024 * 1024 + 1
        resp, body = get(p.https_port, '/cl/%d' % n, context=client_ctx)
        assert resp.status == 200 and body == payload(n)
        assert spliced == []
        # the plain listener of the same proxy still splices
        resp, body = get(p.port, '/cl/%d' % n)
        assert body == payload(n) and bool(spliced) == zero_copy
    finally:
        p.stop()
