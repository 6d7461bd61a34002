"""The HTTP proxy's request handler on a socket pair: framing, limits and
refusals, decided before any upstream is contacted.

The upstreams point at an address nothing answers (TEST-NET-1, port 9);
a request that reached one would get 502/504 instead of the status these
tests expect.
"""

import socket
import ssl
import threading

import pytest

from vmetal_ironic.agent.http import handler
from vmetal_ironic.agent.http import routes


class FakeProxy:
    """The attributes of an HttpProxy the handler reads."""

    read_timeout = 2.0
    connect_timeout = 0.2
    max_body_size = 100
    boot = routes.parse_upstream('http://192.0.2.1:9')
    api = routes.parse_upstream('http://192.0.2.1:9')
    ssl_context = ssl.create_default_context()


class FakeServer:
    proxy = FakeProxy()


def exchange(raw):
    """Send ``raw`` to a Handler; the complete response bytes."""
    client, served = socket.socketpair()
    client.settimeout(5)
    client.sendall(raw)
    client.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=handler.Handler,
                         args=(served, ('192.0.2.50', 4000), FakeServer()))
    t.start()
    t.join(10)
    assert not t.is_alive()
    served.close()
    out = b''
    while True:
        chunk = client.recv(65536)
        if not chunk:
            break
        out += chunk
    client.close()
    return out


def status(response):
    return int(response.split(b' ', 2)[1])


@pytest.mark.parametrize('request_line,code', [
    (b'GET /v1/nodes HTTP/1.1', 403),
    (b'DELETE /v1/lookup HTTP/1.1', 405),
    (b'GET http://10.0.0.1/v1/nodes HTTP/1.1', 400),
    (b'CONNECT 10.0.0.1:443 HTTP/1.1', 405),
    (b'POST /boot.ipxe HTTP/1.1', 405),
    (b'GET /a/../boot.ipxe HTTP/1.1', 400),
])
def test_refused_requests(request_line, code):
    resp = exchange(request_line + b'\r\nHost: x\r\n\r\n')
    assert status(resp) == code
    body = resp.split(b'\r\n\r\n', 1)[1]
    assert body.startswith(b'%d ' % code) and body.endswith(b'\n')


def test_refusal_to_head_has_no_body():
    resp = exchange(b'HEAD /v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n')
    head, body = resp.split(b'\r\n\r\n', 1)
    assert status(resp) == 403 and body == b''
    assert b'Content-Length: ' in head


def test_invalid_content_length_is_400():
    resp = exchange(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                    b'Content-Length: -5\r\n\r\n')
    assert status(resp) == 400 and b'invalid Content-Length' in resp


def test_body_over_the_limit_is_413():
    resp = exchange(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                    b'Content-Length: 101\r\n\r\n' + b'x' * 101)
    assert status(resp) == 413
    assert b'larger than 100 bytes' in resp
    assert b'Connection: close' in resp


def test_chunked_body_over_the_limit_is_413():
    resp = exchange(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                    b'Transfer-Encoding: chunked\r\n\r\n'
                    b'40\r\n' + b'x' * 64 + b'\r\n'
                    b'40\r\n' + b'x' * 64 + b'\r\n0\r\n\r\n')
    assert status(resp) == 413


def test_malformed_chunked_body_is_400():
    resp = exchange(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                    b'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n'
                    b'0\r\n\r\n')
    assert status(resp) == 400 and b'malformed chunked body' in resp


def test_body_on_the_boot_server_path_is_400():
    resp = exchange(b'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\n'
                    b'Content-Length: 3\r\n\r\nabc')
    assert status(resp) == 400
    assert b'request bodies are not accepted here' in resp


def test_unreachable_upstream_is_502_or_504():
    """The control case: an allowed request does go upstream."""
    resp = exchange(b'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\n\r\n')
    assert status(resp) in (502, 504)


def test_garbage_request_line_gets_an_error_not_a_traceback():
    resp = exchange(b'\x16\x03\x01\x02\x00garbage\r\n\r\n')
    # no status line (the client spoke no HTTP version): the error page
    assert b'Error code: 400' in resp and b'Traceback' not in resp
