"""Support of the hostile-client tests: upstream, proxy process, probes."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'proxy_process.py')
MB = 1024 * 1024


class Upstream(http.server.BaseHTTPRequestHandler):
    """The upstream stand-in; records every path in ``server.seen``.

    GET /size/<n>: n bytes; /cut/<n>: announces n, sends 1000, closes;
    anything else a small JSON echo.
    """

    protocol_version = 'HTTP/1.1'
    wbufsize = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append(self.path)
        parts = self.path.split('/')
        if len(parts) == 3 and parts[1] in ('size', 'cut'):
            size = int(parts[2])
            self.send_response(200)
            self.send_header('Content-Length', str(size))
            self.end_headers()
            if parts[1] == 'cut':
                self.wfile.write(b'x' * 1000)
                self.close_connection = True
                return
            block = b'x' * MB
            try:
                while size:
                    n = min(size, len(block))
                    self.wfile.write(block[:n])
                    size -= n
            except OSError:
                self.close_connection = True
            return
        body = json.dumps({'path': self.path}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.server.seen.append(self.path)
        length = int(self.headers.get('Content-Length') or 0)
        try:
            self.rfile.read(length)
            self.send_response(200)
            self.send_header('Content-Length', '2')
            self.end_headers()
            self.wfile.write(b'{}')
        except OSError:
            self.close_connection = True


def start_upstream(context=None):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Upstream)
    srv.daemon_threads = True
    srv.seen = []
    if context is not None:
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class ProxyProcess:
    """The proxy in a child process (killed by PID on close)."""

    def __init__(self, **kwargs):
        env = dict(os.environ, PYTHONPATH=REPO)
        self.proc = subprocess.Popen(
            [sys.executable, RUNNER, json.dumps(kwargs)], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def status(self, field):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
        raise AssertionError(field)

    def fds(self):
        return len(os.listdir('/proc/%d/fd' % self.proc.pid))

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def connect(port, source='127.0.0.1', timeout=10):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout,
                                 source_address=(source, 0))
    return s


def request(port, target='/json', source='127.0.0.1', method='GET',
            timeout=10):
    """One request on a fresh connection: (status, body)."""
    s = connect(port, source, timeout)
    try:
        s.sendall(b'%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
                  % (method.encode(), target.encode()))
        out = read_all(s)
    finally:
        s.close()
    head, _, body = out.partition(b'\r\n\r\n')
    return int(head.split(b' ')[1]) if head else 0, body


def read_all(s):
    """Everything ``s`` receives until the peer closes."""
    out = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return out
        out += chunk


def closed_by_peer(s, deadline):
    """True once the proxy closed ``s`` (reading what it sent first)."""
    s.settimeout(deadline)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionError, OSError) as e:
        return not isinstance(e, socket.timeout)


def tls_context_pair(tmpdir):
    """(server context, CA file) for a local HTTPS upstream on 127.0.0.1."""
    from vmetal_ironic.agent.http import tls
    material = tls.generate_material('127.0.0.1')
    ca = os.path.join(tmpdir, 'ca.pem')
    with open(ca, 'w') as f:
        f.write(material.ca_pem)
    return tls.server_context(material), ca
