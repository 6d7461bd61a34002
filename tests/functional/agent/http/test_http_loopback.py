"""The HTTP proxy's framing, timeouts and limits on the loopback interface.

No root needed: an in-process upstream and the proxy run on free ports of
127.0.0.1; the proxy listens on ::1 too (as on server_address6) and every
test that talks to it runs once per family.
"""

import http.client
import http.server
import json
import socket
import threading
import time

import pytest

from vmetal_ironic.agent.http import server as http_proxy
from vmetal_ironic import exception

# Set when the module's tests are done: releases the upstream's /slow.
RELEASE = threading.Event()


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == '/chunked':
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for piece in (b'hello ', b'chunked ', b'world'):
                self.wfile.write(b'%x\r\n%s\r\n' % (len(piece), piece))
            self.wfile.write(b'0\r\n\r\n')
        elif self.path == '/slow':
            # never answers within the client's patience: only the proxy's
            # read timeout can end the request
            RELEASE.wait(10)
            self.send_response(200)
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif self.path == '/redirect':
            self.send_response(302)
            self.send_header('Location', '/elsewhere')
            self.send_header('Content-Length', '0')
            self.end_headers()
        else:
            body = json.dumps({'path': self.path,
                               'xff': self.headers['X-Forwarded-For'],
                               'host': self.headers['Host']}).encode()
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('X-Upstream', 'yes')
            self.end_headers()
            self.wfile.write(body)

    do_HEAD = do_GET


@pytest.fixture(scope='module')
def upstream():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        RELEASE.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(params=['127.0.0.1', '::1'], ids=['ipv4', 'ipv6'])
def proxy(upstream, request):
    url = 'http://127.0.0.1:%d' % upstream
    p = http_proxy.HttpProxy('127.0.0.1', 0, http_url=url, api_url=url,
                             read_timeout=0.5, max_connections=2,
                             address6='::1')
    p.start()
    p.host = request.param
    try:
        yield p
    finally:
        p.stop()


def _get(proxy, path, method='GET', version=None):
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    if version:
        conn._http_vsn, conn._http_vsn_str = 10, 'HTTP/1.0'
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_chunked_upstream_to_http11_client(proxy):
    resp, body = _get(proxy, '/chunked')
    assert resp.status == 200 and body == b'hello chunked world'
    assert resp.getheader('Transfer-Encoding') == 'chunked'


def test_chunked_upstream_to_http10_client(proxy):
    resp, body = _get(proxy, '/chunked', version='1.0')
    assert body == b'hello chunked world'
    assert resp.getheader('Transfer-Encoding') is None


def test_keep_alive_and_headers(proxy, upstream):
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=5)
    for path in ('/a', '/b'):
        conn.request('GET', path, headers={'Host': 'evil.example'})
        resp = conn.getresponse()
        doc = json.loads(resp.read())
        assert doc == {'path': path, 'xff': proxy.host,
                       'host': '127.0.0.1:%d' % upstream}
        assert resp.getheader('X-Upstream') == 'yes'
    conn.close()


def test_redirect_passes_through(proxy):
    resp, _ = _get(proxy, '/redirect')
    assert resp.status == 302
    assert resp.getheader('Location') == '/elsewhere'


def test_head_on_api_root(proxy):
    resp, body = _get(proxy, '/', method='HEAD')
    assert resp.status == 200 and body == b''
    assert int(resp.getheader('Content-Length')) > 0


def test_upstream_read_timeout_is_504(proxy):
    resp, body = _get(proxy, '/slow')
    assert resp.status == 504
    assert b'timed out' in body


def test_connection_limit_is_503(proxy):
    held = [socket.create_connection((proxy.host, proxy.port))
            for _ in range(2)]
    try:
        # the held connections take both slots once the proxy accepts them
        resp = _until(lambda: _get(proxy, '/a')[0], 503)
        assert resp.status == 503
        # the IPv4 and IPv6 listeners share the slots
        other = '::1' if proxy.host == '127.0.0.1' else '127.0.0.1'
        conn = http.client.HTTPConnection(other, proxy.port, timeout=5)
        conn.request('GET', '/a')
        assert conn.getresponse().status == 503
        conn.close()
    finally:
        for s in held:
            s.close()
    # closed (or timed out), the slots are free again
    resp = _until(lambda: _get(proxy, '/a')[0], 200)
    assert resp.status == 200


def test_bad_content_length_is_400(proxy):
    s = socket.create_connection((proxy.host, proxy.port), timeout=5)
    s.sendall(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
              b'Content-Length: -5\r\n\r\n')
    assert s.recv(100).startswith(b'HTTP/1.1 400')
    s.close()


def test_idle_client_is_dropped(proxy):
    s = socket.create_connection((proxy.host, proxy.port), timeout=5)
    s.sendall(b'GET /a HTTP/1.1\r\n')   # never finishes its headers
    # the proxy closes it (read_timeout 0.5 s) long before the client's
    # own 5 s timeout would raise
    assert s.recv(100) == b''
    s.close()


@pytest.mark.parametrize('kwargs', [
    {}, {'http_url': 'ftp://x'}, {'api_url': 'http://x/?q=1'},
    {'http_url': 'not a url'},
])
def test_bad_configuration(kwargs):
    with pytest.raises(exception.ConfigError):
        http_proxy.HttpProxy('127.0.0.1', 0, **kwargs)


def test_malformed_chunked_body_is_400(proxy):
    s = socket.create_connection((proxy.host, proxy.port), timeout=5)
    s.sendall(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
              b'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n')
    assert s.recv(100).startswith(b'HTTP/1.1 400')
    s.close()


def _until(get_response, status, deadline=5.0):
    """Call until the response has ``status`` or the deadline passes."""
    end = time.monotonic() + deadline
    while True:
        resp = get_response()
        if resp.status == status or time.monotonic() > end:
            return resp
        time.sleep(0.05)


def test_an_ipv6_address_not_on_the_host_stops_the_start(upstream,
                                                         monkeypatch):
    """Waited for as if tentative, then the error; nothing stays bound."""
    from vmetal_ironic.agent import sockets
    monkeypatch.setattr(sockets, 'TENTATIVE_WAIT', 0.3)
    url = 'http://127.0.0.1:%d' % upstream
    p = http_proxy.HttpProxy('127.0.0.1', 0, http_url=url,
                             address6='fd00:dead::1')
    with pytest.raises(OSError):
        p.start()
    assert p._servers == [] and p._threads == []
    p.stop()        # a second stop is harmless
