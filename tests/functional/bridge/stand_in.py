"""A stand-in for Ironic on the cluster side: HTTP boot server and API.

Run as a process (``python stand_in.py --root DIR --address A --port P
[--log FILE]``). Files below ``--root`` are served with HEAD and single
Range support and sent with sendfile(2), as nginx or Apache would. The API
part answers ``/``, ``/v1``, ``/v1/lookup``, ``/v1/heartbeat/<node>`` and
``/v1/continue_inspection`` with a JSON echo of what it received (path,
query, method, X-Forwarded-For, Host, body length); any other ``/v1``
path answers 200 with "API-SECRET", so a test can prove the proxy never
forwards it. Every request line is appended to ``--log``.
"""

import argparse
import email.utils
import http.server
import json
import os
import re

_RANGE = re.compile(r'^bytes=(\d*)-(\d*)$')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    wbufsize = 0

    def log_message(self, format, *args):
        pass

    def _record(self):
        if self.server.log_path:
            with open(self.server.log_path, 'a') as f:
                f.write('%s %s %s\n' % (self.command, self.path,
                                        self.headers.get('Host')))

    def _send_json(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('X-Stand-In', 'api')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _api(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        path, _, query = self.path.partition('?')
        if path.startswith('/v1/') and not re.match(
                r'^/v1/(lookup|heartbeat/[^/]+|continue_inspection)$', path):
            payload = b'API-SECRET'
            self.send_response(200)
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self._send_json(202 if self.command == 'POST' else 200, {
            'stand_in': 'api', 'method': self.command, 'path': path,
            'query': query, 'body_length': len(body),
            'x_forwarded_for': self.headers.get('X-Forwarded-For'),
            'host': self.headers.get('Host'),
            'connection': self.headers.get('Connection')})

    def _file(self):
        path = self.path.partition('?')[0]
        full = os.path.realpath(os.path.join(self.server.root,
                                             path.lstrip('/')))
        if not full.startswith(self.server.root + os.sep) or \
                not os.path.isfile(full):
            self.send_error(404)
            return
        size = os.path.getsize(full)
        start, end, status = 0, size - 1, 200
        match = _RANGE.match(self.headers.get('Range', ''))
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else size - 1
            else:
                start = max(0, size - int(match.group(2)))
            end = min(end, size - 1)
            if start > end:
                self.send_response(416)
                self.send_header('Content-Range', 'bytes */%d' % size)
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(end - start + 1))
        self.send_header('Accept-Ranges', 'bytes')
        self.send_header('ETag', '"%x-%x"' % (size, int(
            os.path.getmtime(full))))
        self.send_header('Last-Modified', email.utils.formatdate(
            os.path.getmtime(full), usegmt=True))
        if status == 206:
            self.send_header('Content-Range', 'bytes %d-%d/%d'
                             % (start, end, size))
        self.end_headers()
        if self.command == 'HEAD':
            return
        with open(full, 'rb') as f:
            self.connection.sendfile(f, start, end - start + 1)

    def _dispatch(self):
        self._record()
        path = self.path.partition('?')[0]
        if path in ('/', '/v1', '/v1/') or path.startswith('/v1/'):
            self._api()
        else:
            self._file()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--root', required=True)
    parser.add_argument('--address', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--log')
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer((args.address, args.port),
                                             Handler)
    server.daemon_threads = True
    server.root = os.path.realpath(args.root)
    server.log_path = args.log
    server.serve_forever()


if __name__ == '__main__':
    main()
