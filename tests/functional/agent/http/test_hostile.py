"""The HTTP proxy under hostile clients: deadlines, caps, limits, failures.

The proxy runs in its own process on loopback (so its RSS and descriptors
are its own), in front of an in-test upstream. Client addresses are taken
from 127.0.0.0/8 so that each hostile "machine" has its own address. No
duration is asserted: every wait has a deadline and the assertions are on
outcomes (served, cut, back to the baseline).
"""

import concurrent.futures
import socket
import threading
import time

import pytest

from tests.functional.agent.http import hostile

MB = hostile.MB
# The documented worst case per connection (doc/limits-http.md): 256 KiB
# relay buffer + max_body_size + thread stack touched; here
# max_body_size is 64 KiB, so 512 KiB is generous.
PER_CONNECTION_KB = 512
FDS_PER_CONNECTION = 4


@pytest.fixture(scope='module')
def upstream():
    srv = hostile.start_upstream()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _proxy(upstream, **kwargs):
    url = 'http://127.0.0.1:%d' % upstream.server_address[1]
    args = dict(http_url=url, api_url=url, read_timeout=2.0,
                max_body_size=65536)
    args.update(kwargs)
    return hostile.ProxyProcess(**args)


def _until(predicate, deadline=15.0):
    end = time.monotonic() + deadline
    while not predicate() and time.monotonic() < end:
        time.sleep(0.05)
    return predicate()


def _settled(count, still=10, deadline=5.0):
    """``count()`` once it held still for ``still`` polls in a row."""
    end = time.monotonic() + deadline
    last, same = count(), 0
    while same < still and time.monotonic() < end:
        time.sleep(0.05)
        now = count()
        last, same = now, (same + 1 if now == last else 0)
    return last


def test_trickling_clients_are_cut_while_a_real_request_succeeds(upstream):
    p = _proxy(upstream, header_timeout=1.0, max_connections=64,
               max_connections_per_client=4)
    socks, stop = [], threading.Event()
    try:
        for i in range(40):     # 10 addresses x 4 connections
            s = hostile.connect(p.port, '127.0.1.%d' % (i // 4 + 1))
            s.sendall(b'GET /boot.ipxe HTTP/1.1\r\n')
            socks.append(s)

        def trickle():
            n = 0
            while not stop.wait(0.2):
                n += 1
                for s in socks:
                    try:
                        s.sendall(b'X-%d: y\r\n' % n)
                    except OSError:
                        pass
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        # a fifth connection of a trickling address is refused outright
        assert hostile.request(p.port, source='127.0.1.1')[0] == 503
        # the legitimate client is served meanwhile
        status, body = hostile.request(p.port, '/json', '127.0.2.1')
        assert status == 200 and b'"/json"' in body
        # and every trickling connection is cut by the head deadline
        assert all(hostile.closed_by_peer(s, 10) for s in socks)
        stop.set()
        t.join(5)
        assert upstream.seen.count('/boot.ipxe') == 0
    finally:
        stop.set()
        for s in socks:
            s.close()
        p.close()


def test_chunk_size_minus_one_with_32_mib_behind_it(upstream):
    """A chunk size of -1 followed by 32 MiB.

    It once let 32 MiB through past a 64 KiB limit: now 400 at once,
    nothing upstream, the proxy's memory flat.
    """
    p = _proxy(upstream)
    try:
        before_seen = len(upstream.seen)
        rss = p.status('VmRSS')
        s = hostile.connect(p.port)
        s.sendall(b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                  b'Transfer-Encoding: chunked\r\n\r\n-1\r\n')
        sent = 0
        block = b'x' * MB
        try:
            while sent < 32 * MB:
                s.sendall(block)
                sent += len(block)
        except OSError:
            pass        # the proxy closed: nothing more is read
        s.settimeout(10)
        try:
            answer = s.recv(100)
        except OSError:
            answer = b''
        s.close()
        assert answer == b'' or answer.startswith(b'HTTP/1.1 400')
        assert sent < 32 * MB
        assert len(upstream.seen) == before_seen
        assert p.status('VmRSS') - rss < 8 * 1024
    finally:
        p.close()


def test_limits_under_hostile_clients(upstream):
    """Hostile clients at their caps; a legitimate client is served.

    They fill their caps with every kind of bad head; RSS and descriptors
    stay under the documented figure.
    """
    max_conn, per_client = 64, 8
    p = _proxy(upstream, header_timeout=3.0, max_connections=max_conn,
               max_connections_per_client=per_client)
    held = []
    try:
        base_rss, base_fds = p.status('VmRSS'), p.fds()
        kinds = [b'GET /boot.ipxe HTTP/1.1\r\n',          # never finishes
                 b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                 b'Content-Length: 65536\r\n\r\n' + b'x' * 1000,
                 b'POST /v1/continue_inspection HTTP/1.1\r\nHost: x\r\n'
                 b'Transfer-Encoding: chunked\r\n\r\nffff\r\n' + b'x' * 9000,
                 b'GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n' % (64 * MB),
                 b'']
        refused = 0
        for i in range(7 * per_client + 40):
            source = '127.0.3.%d' % (i % 7 + 1)
            try:
                s = hostile.connect(p.port, source)
                s.sendall(kinds[i % len(kinds)])
                held.append(s)
            except OSError:
                refused += 1
        status, _ = hostile.request(p.port, '/json', '127.0.4.1')
        assert status == 200
        rss, fds = p.status('VmRSS'), p.fds()
        print('proxy RSS %d -> %d kB, descriptors %d -> %d'
              % (base_rss, rss, base_fds, fds))
        assert rss - base_rss < max_conn * PER_CONNECTION_KB
        assert fds - base_fds <= max_conn * FDS_PER_CONNECTION
    finally:
        for s in held:
            s.close()
        p.close()


def _abort_download(port, size):
    s = hostile.connect(port)
    s.sendall(b'GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n' % size)
    s.recv(65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 b'\x01\x00\x00\x00\x00\x00\x00\x00')
    s.close()       # RST in the middle of the body


def test_aborted_downloads_give_everything_back(upstream):
    """300 downloads dropped mid-body give every resource back.

    Of 64 MiB each (not 1 GB, to stay quick): slots, threads and
    descriptors come back, and 200 connections at once are served.
    """
    p = _proxy(upstream, max_connections=200, max_connections_per_client=0)
    try:
        hostile.request(p.port)
        threads, fds = p.status('Threads'), p.fds()
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda _: _abort_download(p.port, 64 * MB),
                          range(300)))
        assert _until(lambda: p.fds() <= fds and
                      p.status('Threads') <= threads)
        with concurrent.futures.ThreadPoolExecutor(200) as pool:
            results = list(pool.map(lambda _: hostile.request(p.port)[0],
                                    range(200)))
        assert results == [200] * 200
    finally:
        p.close()


def test_upstream_closing_mid_body_gives_a_short_body(upstream):
    p = _proxy(upstream)
    try:
        s = hostile.connect(p.port)
        s.sendall(b'GET /cut/100000 HTTP/1.1\r\nHost: x\r\n\r\n')
        out = hostile.read_all(s)
        s.close()
        head, _, body = out.partition(b'\r\n\r\n')
        assert head.startswith(b'HTTP/1.1 200')
        assert b'Content-Length: 100000' in head and len(body) == 1000
        assert hostile.request(p.port)[0] == 200
    finally:
        p.close()


def test_stalled_client_hits_the_read_timeout(upstream):
    p = _proxy(upstream, read_timeout=1.0)
    try:
        hostile.request(p.port)
        # (the first request's sockets may still be closing)
        fds = _settled(p.fds)
        s = hostile.connect(p.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b'GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n' % (64 * MB))
        # The proxy takes the transfer on (the client's socket, the
        # upstream's, a pipe) ...
        assert _until(lambda: p.fds() > fds)
        # ... and, never read, gives up on its own and frees everything.
        assert _until(lambda: p.fds() <= fds)
        s.close()
        assert hostile.request(p.port)[0] == 200
    finally:
        p.close()


def test_https_upstream_with_a_test_ca(tmp_path):
    context, ca = hostile.tls_context_pair(str(tmp_path))
    srv = hostile.start_upstream(context)
    url = 'https://127.0.0.1:%d' % srv.server_address[1]
    p = hostile.ProxyProcess(http_url=url, api_url=url, cafile=ca)
    try:
        status, body = hostile.request(p.port, '/json')
        assert status == 200 and b'"/json"' in body
        status, _ = hostile.request(p.port, '/size/%d' % MB)
        assert status == 200
    finally:
        p.close()
        srv.shutdown()
        srv.server_close()
    # without the CA the upstream is not trusted: 502, never plain text
    srv = hostile.start_upstream(context)
    url = 'https://127.0.0.1:%d' % srv.server_address[1]
    p = hostile.ProxyProcess(http_url=url, api_url=url)
    try:
        assert hostile.request(p.port, '/json')[0] == 502
    finally:
        p.close()
        srv.shutdown()
        srv.server_close()
