"""Run fuzz cases against the real handler and check them (test support).

Two stand-in upstreams (boot and API) listen on loopback and record every
request head they receive; the proxy's :class:`Handler` serves each case
over a socket pair. :func:`check` holds the invariants:

* a case the RFC 9112 oracle rejects reaches no upstream;
* the boot upstream never sees an API-ish path (first segment "v1" in any
  case or encoding), an encoded slash or a path parameter; the API
  upstream sees only allow-listed paths, exactly;
* every response is a well-formed HTTP/1.1 response head whose
  Content-Length matches its body.
"""

import re
import socket
import ssl
import threading
import urllib.parse

from tests.unit.agent.http import fuzz_cases
from tests.unit.agent.http import rfc9112
from vmetal_ironic.agent.http import handler
from vmetal_ironic.agent.http import routes

_STATUS_RE = re.compile(rb'^HTTP/1\.1 ([1-5][0-9][0-9]) [\x20-\x7e]*$')
_API_SEEN_RE = re.compile(
    r'^/(v1(/(lookup|continue_inspection|heartbeat/[A-Za-z0-9._~-]+))?/?)?'
    r'(\?[^#]*)?$')


_SYNC = b'SYNC\r\n\r\n'


class Recorder:
    """A loopback upstream answering 200 and recording request lines."""

    def __init__(self):
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b''
                try:
                    while b'\r\n\r\n' not in data and len(data) < 65536:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self._record(data)
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n'
                                 b'Connection: close\r\n\r\nok')
                except OSError:
                    self._record(data)

    def _record(self, data):
        if data != _SYNC:
            self.seen.append(data.split(b'\r\n', 1)[0])

    def sync(self):
        """Return once every connection made before has been recorded.

        Connections are accepted in order, so when the one made here is
        answered, the proxy's earlier ones (even those it dropped before
        reading an answer) are in :attr:`seen`.
        """
        with socket.create_connection(('127.0.0.1', self.port),
                                      timeout=30) as s:
            s.sendall(_SYNC)
            while s.recv(65536):
                pass

    def close(self):
        self.sock.close()


class FuzzProxy:
    """The attributes of an HttpProxy the handler reads."""

    read_timeout = 2.0
    connect_timeout = 1.0
    header_timeout = 2.0
    max_body_size = 64
    ssl_context = ssl.create_default_context()
    heartbeat = None

    def __init__(self, boot, api):
        self.boot = routes.parse_upstream('http://127.0.0.1:%d' % boot.port)
        self.api = routes.parse_upstream('http://127.0.0.1:%d' % api.port)


class FuzzServer:
    def __init__(self, proxy):
        self.proxy = proxy


def exchange(server, raw):
    """Serve ``raw`` on a socket pair; the complete response bytes."""
    client, served = socket.socketpair()
    client.settimeout(10)
    try:
        client.sendall(raw)
    except OSError:
        pass
    client.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=handler.Handler,
                         args=(served, ('192.0.2.50', 4000), server))
    t.start()
    # generous: the handler's own timeouts are 1-2 s, a loaded CI machine
    # may be slow
    t.join(30)
    assert not t.is_alive(), raw
    served.close()
    out = b''
    while True:
        try:
            chunk = client.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    client.close()
    return out


def responses(out, head_request=False):
    """Split a response stream into (status, head, body).

    AssertionError if it is not well-formed. ``head_request``: the first
    request was a HEAD, so its answer carries no body. For a pipelined
    request after it the method is not known here: an answer directly
    followed by a status line is taken as an answer to HEAD (no body the
    proxy sends starts with one).
    """
    found = []
    while out:
        head, sep, rest = out.partition(b'\r\n\r\n')
        assert sep, out[:200]
        lines = head.split(b'\r\n')
        m = _STATUS_RE.match(lines[0])
        assert m, lines[0]
        length = None
        for line in lines[1:]:
            name, colon, value = line.partition(b':')
            assert colon and rfc9112._token(name), line
            if name.lower() == b'content-length':
                length = int(value.strip())
        status = int(m.group(1))
        if status == 100:
            out = rest
            continue
        assert length is not None, head
        if head_request and not found or (
                found and rest.startswith(b'HTTP/1.1 ')):
            length = 0
        found.append((status, head, rest[:length]))
        assert len(rest) >= length
        out = rest[length:]
    return found


def _api_ish(path):
    first = urllib.parse.unquote(path).split('/')
    return path == '/' or (len(first) > 1 and first[1].lower() == 'v1')


def check(server, boot, api, data):
    """Run one case and check the invariants; returns the oracle verdict."""
    head = fuzz_cases.split(data)
    verdict = rfc9112.oracle(head)
    before = len(boot.seen), len(api.seen)
    out = exchange(server, data)
    boot.sync()
    api.sync()
    got = responses(out, verdict is not None
                    and verdict['method'] == 'HEAD')
    if verdict is None:
        assert (len(boot.seen), len(api.seen)) == before, data
        assert len(got) <= 1 and all(s >= 400 for s, _, _ in got), data
    for line in boot.seen[before[0]:]:
        target = line.split(b' ')[1].decode()
        path = target.partition('?')[0]
        assert not _api_ish(path), (data, line)
        assert ';' not in path and '%2f' not in path.lower(), (data, line)
    for line in api.seen[before[1]:]:
        target = line.split(b' ')[1].decode()
        assert _API_SEEN_RE.match(target), (data, line)
    return verdict
