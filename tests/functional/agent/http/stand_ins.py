"""Stand-ins for the callback tests: an Ironic API and a ramdisk.

    python stand_ins.py api --address A --port P --log FILE
    python stand_ins.py ramdisk --address A --port P --name N
        [--cert FILE --key FILE]
    python stand_ins.py ipa --address A --port P --cert FILE --key FILE
    python stand_ins.py conductor --url URL --cert CA --plan JSON

The API answers ``POST /v1/heartbeat/<node>`` with 202 and appends
``{"path": ..., "body": <the JSON received>}`` to ``--log``, one line per
heartbeat. The ramdisk answers every ``/v1/commands/`` request with a JSON
echo (its name, method, path, query, Host header, body length) and
``GET /big/<n>`` with ``n`` bytes of a fixed pattern, as the Ironic Python
Agent would answer the conductor; with ``--cert`` it serves HTTPS.

``ipa`` is the Ironic Python Agent 13's own HTTP stack: cheroot's WSGI
server with its TLS adapter and a werkzeug application answering
``POST /v1/commands/`` as IPA's ``jsonify`` does (Content-Length set), or,
for a command whose ``params`` ask ``"chunked": true``, a body of unknown
length (cheroot then sends it chunked); ``params.size`` pads the result.

``conductor`` calls ``URL/v1/commands/`` as Ironic's ``AgentClient``
does: one ``requests`` session (keep-alive), ``?wait=true&agent_token=``,
a JSON body, ``response.json()`` on every answer whatever its status; the
plan is a list of command ``params``. It prints one JSON line: for each
call the status and the decoded document, the decoding error, or the
connection failure (the exceptions AgentClient takes for one).
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


def ipa_app(name):
    """A werkzeug application answering like IPA 13's API."""
    import werkzeug

    @werkzeug.Request.application
    def app(request):
        doc = request.get_json(silent=True) or {}
        params = doc.get('params') or {}
        result = json.dumps({
            'id': name, 'command_name': doc.get('name'),
            'command_status': 'SUCCEEDED', 'command_error': None,
            'command_result': {'pad': 'x' * int(params.get('size', 0)),
                               'query': request.query_string.decode()},
        })
        if params.get('chunked'):
            def parts():
                for i in range(0, len(result), 1000):
                    yield result[i:i + 1000].encode()
            return werkzeug.Response(parts(), mimetype='application/json')
        return werkzeug.Response(result, mimetype='application/json')
    return app


def serve_ipa(a):
    from cheroot.ssl import builtin
    from cheroot import wsgi
    server = wsgi.Server(bind_addr=(a.address, a.port),
                         wsgi_app=ipa_app(a.name),
                         server_name='ironic-python-agent')
    server.ssl_adapter = builtin.BuiltinSSLAdapter(a.cert, a.key)
    server.safe_start()


def conductor(a):
    import requests
    session = requests.Session()
    session.headers.update({'Content-Type': 'application/json'})
    out = []
    for params in json.loads(a.plan):
        body = json.dumps({'name': 'deploy.get_deploy_steps',
                           'params': params})
        try:
            r = session.post(a.url + '/v1/commands/', data=body,
                             verify=a.cert, timeout=60,
                             params={'wait': 'true', 'agent_token': 'tok'})
        except (requests.ConnectionError, requests.Timeout,
                ssl.SSLError) as e:
            # What AgentClient._command takes for AgentConnectionFailed
            # (retried, and "not up yet" with fast track).
            out.append({'connection_failed': type(e).__name__,
                        'error': str(e)[:200]})
            continue
        try:
            out.append({'status': r.status_code, 'doc': r.json()})
        except ValueError as e:
            out.append({'status': r.status_code, 'error': str(e),
                        'text': r.text[:200]})
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=('api', 'ramdisk', 'ipa', 'conductor'))
    p.add_argument('--address')
    p.add_argument('--port', type=int)
    p.add_argument('--url')
    p.add_argument('--plan')
    p.add_argument('--log')
    p.add_argument('--name', default='ramdisk')
    p.add_argument('--cert')
    p.add_argument('--key')
    a = p.parse_args()
    if a.role == 'ipa':
        return serve_ipa(a)
    if a.role == 'conductor':
        return conductor(a)
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
