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

from tests.unit.agent.http import fuzz_harness
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
    return fuzz_harness.exchange(FakeServer(), raw)


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


# --- the hostile-input findings: each is refused before any upstream work


@pytest.fixture
def recorded():
    """A proxy whose upstreams are loopback recorders."""
    boot, api = fuzz_harness.Recorder(), fuzz_harness.Recorder()
    server = fuzz_harness.FuzzServer(fuzz_harness.FuzzProxy(boot, api))
    try:
        yield server, boot, api
    finally:
        boot.close()
        api.close()


def _served(recorded, raw):
    server, boot, api = recorded
    out = fuzz_harness.exchange(server, raw)
    boot.sync()
    api.sync()
    return out, boot.seen + api.seen


POST = b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'


@pytest.mark.parametrize('framing', [
    b'Transfer-Encoding: chunked\r\n\r\n-1\r\n' + b'x' * 200,
    b'Transfer-Encoding: chunked\r\n\r\n0x4\r\nabcd\r\n0\r\n\r\n',
    b'Transfer-Encoding: chunked\r\n\r\n+4\r\nabcd\r\n0\r\n\r\n',
    b'Transfer-Encoding: chunked\r\n\r\n4\r\nabcdX0\r\n\r\n',
    b'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nBad Trailer\r\n\r\n',
    b'Content-Length: +3\r\n\r\nabc',
    b'Content-Length: 1_0\r\n\r\n0123456789',
    b'Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    b'Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    b'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'
    b'0\r\n\r\n',
    b'X-A: a\r\n Content-Length: 99\r\n\r\n',
    b'Transfer-Encoding: gzip\r\n\r\n',
])
def test_lenient_framing_is_refused_before_the_upstream(recorded, framing):
    out, seen = _served(recorded, POST + framing)
    assert out.startswith(b'HTTP/1.1 4') or out.startswith(b'HTTP/1.1 501')
    assert status(out) in (400, 501)
    assert seen == []


def test_chunked_minus_one_does_not_read_past_the_limit(recorded):
    """The -1 chunk once made the proxy read (and forward) to EOF."""
    client, served = socket.socketpair()
    server, boot, api = recorded
    t = threading.Thread(target=handler.Handler,
                         args=(served, ('192.0.2.50', 4000), server))
    t.start()
    client.settimeout(5)
    client.sendall(POST + b'Transfer-Encoding: chunked\r\n\r\n-1\r\n')
    # the answer comes before any more of the body is sent
    assert client.recv(100).startswith(b'HTTP/1.1 400')
    t.join(5)
    assert not t.is_alive()
    served.close()
    client.close()
    boot.sync()
    api.sync()
    assert boot.seen + api.seen == []


@pytest.mark.parametrize('line', [
    b'GET /a?b\x01c HTTP/1.1', b'GET /a b HTTP/1.1', b'GET /a\x7f HTTP/1.1',
    b'GET /\xff HTTP/1.1', b'GET /a HTTP/1.1 ', b'GET /a HTTP/1.2',
])
def test_malformed_request_line_is_refused_before_the_upstream(
        recorded, line):
    out, seen = _served(recorded, line + b'\r\nHost: x\r\n\r\n')
    assert status(out) in (400, 505) and b'Traceback' not in out
    assert seen == []


@pytest.mark.parametrize('target,code', [
    (b'/%76%31/nodes', 403), (b'/%2fv1/nodes', 400), (b'/V1/nodes', 403),
    (b'/v1;x/nodes', 400), (b'//v1/nodes', 403), (b'/v1/lookup;x', 400),
])
def test_api_ish_paths_never_reach_an_upstream(recorded, target, code):
    out, seen = _served(recorded, b'GET ' + target +
                        b' HTTP/1.1\r\nHost: x\r\n\r\n')
    assert status(out) == code
    assert seen == []


def test_the_normalized_path_is_what_goes_upstream(recorded):
    out, seen = _served(recorded, b'GET /%69mages//deploy%5Fkernel?x=%41 '
                        b'HTTP/1.1\r\nHost: x\r\n\r\n')
    assert status(out) == 200
    assert seen == [b'GET /images/deploy_kernel?x=%41 HTTP/1.1']
    out, seen = _served(recorded, b'GET /v%31/lookup HTTP/1.1\r\n'
                        b'Host: x\r\n\r\n')
    assert seen[-1] == b'GET /v1/lookup HTTP/1.1'


def test_missing_or_second_host_is_400(recorded):
    out, seen = _served(recorded, b'GET /boot.ipxe HTTP/1.1\r\n\r\n')
    assert status(out) == 400
    out, seen = _served(recorded, b'GET /boot.ipxe HTTP/1.1\r\nHost: a\r\n'
                        b'Host: b\r\n\r\n')
    assert status(out) == 400
    assert seen == []


def test_head_deadline_cuts_a_trickling_client():
    """A header line every 0.2 s is cut by the head deadline.

    Each receive is quick, the head never completes; the overall deadline
    (0.5 s) ends it with 408.
    """
    class Quick(FakeProxy):
        header_timeout = 0.5

    class QuickServer:
        proxy = Quick()

    client, served = socket.socketpair()
    client.settimeout(5)
    t = threading.Thread(target=handler.Handler,
                         args=(served, ('192.0.2.50', 4000), QuickServer()))
    t.start()
    client.sendall(b'GET /boot.ipxe HTTP/1.1\r\n')
    for i in range(50):
        try:
            client.sendall(b'X-%d: y\r\n' % i)
        except OSError:
            break
        if not t.is_alive():
            break
        t.join(0.2)
    t.join(5)
    assert not t.is_alive()
    # read what was answered before closing the unread side
    out = client.recv(65536)
    served.close()
    client.close()
    assert status(out) == 408


def test_expect_100_continue_before_the_body():
    resp = exchange(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                    b'Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}')
    assert resp.startswith(b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 50')
    resp = exchange(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                    b'Expect: 100-continue\r\nContent-Length: 101\r\n\r\n')
    assert status(resp) == 413 and b'100 Continue' not in resp
