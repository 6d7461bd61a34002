"""Stand-ins for the callback tests: an Ironic API and a ramdisk.

    python stand_ins.py api --address A --port P --log FILE
    python stand_ins.py ramdisk --address A --port P --name N
        [--cert FILE --key FILE]

The API answers ``POST /v1/heartbeat/<node>`` with 202 and appends
``{"path": ..., "body": <the JSON received>}`` to ``--log``, one line per
heartbeat. The ramdisk answers every ``/v1/commands/`` request with a JSON
echo (its name, method, path, query, Host header, body length) and
``GET /big/<n>`` with ``n`` bytes of a fixed pattern, as the Ironic Python
Agent would answer the conductor; with ``--cert`` it serves HTTPS.
"""

import argparse
import http.server
import json
import re
import socket
import ssl


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        with open(self.server.log_path, 'a') as f:
            f.write(json.dumps({'path': self.path,
                                'body': json.loads(body)}) + '\n')
        self.send_response(202)
        self.send_header('Content-Length', '0')
        self.end_headers()


class Ramdisk(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    wbufsize = 0

    def log_message(self, format, *args):
        pass

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        path, _, query = self.path.partition('?')
        m = re.match(r'^/big/(\d+)$', path)
        if m and self.command == 'GET':
            size = int(m.group(1))
            self.send_response(200)
            self.send_header('Content-Length', str(size))
            self.end_headers()
            chunk = b'0123456789abcdef' * 65536
            while size:
                n = min(size, len(chunk))
                self.wfile.write(chunk[:n])
                size -= n
            return
        doc = json.dumps({'ramdisk': self.server.name,
                          'method': self.command, 'path': path,
                          'query': query, 'host': self.headers.get('Host'),
                          'body_length': len(body)}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(doc)))
        self.end_headers()
        self.wfile.write(doc)

    do_GET = do_POST = _answer


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=('api', 'ramdisk'))
    p.add_argument('--address', required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--log')
    p.add_argument('--name', default='ramdisk')
    p.add_argument('--cert')
    p.add_argument('--key')
    a = p.parse_args()
    handler = Api if a.role == 'api' else Ramdisk
    cls = http.server.ThreadingHTTPServer
    if ':' in a.address:
        cls = type('Server6', (cls,), {'address_family': socket.AF_INET6})
    server = cls((a.address, a.port), handler)
    server.log_path = a.log
    server.name = a.name
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
