"""A fake Ironic Python Agent, just enough for agent deploys and cleaning.

One HTTP server answers for every attached node at ``/<node uuid>/v1/
commands/`` (that prefix is the node's ``callback_url``). A heartbeat
thread does what a ramdisk does: look the node up by MAC while it waits
for an agent (``GET /v1/lookup``, which hands out the agent token), then
heartbeat (``POST /v1/heartbeat/<uuid>``). Commands succeed at once; the
parameters of ``execute_deploy_step`` are kept, so tests can read the
config drive Ironic sent with ``write_image``.

A real ramdisk serves one node at ``http(s)://<its address>:9999`` with
the commands at ``/v1/commands/``; ``FakeIPA(..., address=..., port=9999,
one_node=True)`` does the same (``ssl_context`` serves HTTPS and
``verify_ca`` sends the certificate as ``agent_verify_ca``, IPA's automatic
TLS), learns the node's UUID from the lookup when attached with ``None``,
downloads the image of ``write_image`` and checks its hash when
``fetch_images`` is set, and reports what happens to ``on_event``.
"""

import hashlib
import http.server
import json
import random
import threading
import time
import uuid

import requests

AGENT_VERSION = '10.0.0'
HEADERS = {'X-OpenStack-Ironic-API-Version': 'latest'}

_CLEAN_STEPS = {'GenericHardwareManager': [
    {'step': 'erase_devices', 'priority': 0, 'interface': 'deploy',
     'reboot_requested': False, 'abortable': True}]}
_DEPLOY_STEPS = {'GenericHardwareManager': [
    {'step': 'write_image', 'priority': 0, 'interface': 'deploy',
     'reboot_requested': False, 'argsinfo': None}]}
_VERSION = {'generic_hardware_manager': '1.2'}


def random_mac():
    return '52:54:00:%02x:%02x:%02x' % tuple(random.randrange(256)
                                             for _ in range(3))


class _Agent(object):
    def __init__(self, node_uuid, mac):
        self.node_uuid = node_uuid
        self.mac = mac
        self.token = None
        self.commands = []
        self.deploy_steps = []          # params of execute_deploy_step
        self.lock = threading.Lock()


class FakeIPA(object):
    """Fake agents for many nodes, behind one HTTP server."""

    def __init__(self, api_url, interval=0.5, address='127.0.0.1', port=0,
                 one_node=False, ssl_context=None, verify_ca=None,
                 fetch_images=False, on_event=None):
        self.api_url = api_url
        self.interval = interval
        self.agents = {}
        self.one_node = one_node
        self.verify_ca = verify_ca
        self.fetch_images = fetch_images
        self.on_event = on_event or (lambda **event: None)
        self.scheme = 'https' if ssl_context else 'http'
        self._stop = threading.Event()
        self._session = requests.Session()
        self._session.headers.update(HEADERS)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _agent(self):
                parts = self.path.split('?')[0].strip('/').split('/')
                fake.on_event(event='command-request', method=self.command,
                              path=self.path, peer=self.client_address[0],
                              scheme=fake.scheme)
                if fake.one_node and parts[:2] == ['v1', 'commands']:
                    return next(iter(fake.agents.values()), None)
                if len(parts) >= 3 and parts[1:3] == ['v1', 'commands']:
                    return fake.agents.get(parts[0])
                return None

            def _reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                agent = self._agent()
                if agent is None:
                    return self._reply(404, {'faultstring': 'no agent'})
                with agent.lock:
                    return self._reply(200, {'commands': agent.commands})

            def do_POST(self):
                agent = self._agent()
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length) or b'{}')
                if agent is None:
                    return self._reply(404, {'faultstring': 'no agent'})
                self._reply(200, fake._execute(agent, body.get('name', ''),
                                               body.get('params') or {}))

        self.server = http.server.ThreadingHTTPServer((address, port),
                                                      Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(
                self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.address = address
        self.port = self.server.server_address[1]
        self._threads = []

    # -- agent side -----------------------------------------------------------

    def _execute(self, agent, name, params):
        short = name.split('.', 1)[-1]
        result = {}
        if short == 'get_clean_steps':
            result = {'clean_steps': _CLEAN_STEPS,
                      'hardware_manager_version': _VERSION}
        elif short == 'get_deploy_steps':
            result = {'deploy_steps': _DEPLOY_STEPS,
                      'hardware_manager_version': _VERSION}
        elif short == 'execute_deploy_step':
            agent.deploy_steps.append(params)
            result = {'deploy_result': None, 'deploy_step': params.get('step')}
            error = self._write_image(params) if self.fetch_images else None
            if error:
                return self._record(agent, short, result, error)
        elif short == 'execute_clean_step':
            result = {'clean_result': None, 'clean_step': params.get('step')}
        elif short == 'get_partition_uuids':
            result = {'root uuid': None}
        return self._record(agent, short, result)

    def _record(self, agent, short, result, error=None):
        command = {'id': str(uuid.uuid4()), 'command_name': short,
                   'command_status': 'FAILED' if error else 'SUCCEEDED',
                   'command_error': error and {'type': 'CommandFailed',
                                               'message': error,
                                               'code': 500},
                   'command_result': result}
        self.on_event(event='command', name=short,
                      status=command['command_status'])
        with agent.lock:
            agent.commands.append(command)
            del agent.commands[:-20]
        return command

    def _write_image(self, params):
        """Download and hash the image of ``write_image``; error or None."""
        args = (params.get('step') or {}).get('args') or {}
        info = args.get('image_info') or {}
        if not info.get('urls'):
            return None
        digest = hashlib.new(info.get('os_hash_algo') or 'sha256')
        size = 0
        try:
            with self._session.get(info['urls'][0], stream=True,
                                   timeout=30) as resp:
                for chunk in resp.iter_content(65536):
                    digest.update(chunk)
                    size += len(chunk)
                status = resp.status_code
        except requests.RequestException as exc:
            return 'image download failed: %s' % exc
        self.on_event(event='image', url=info['urls'][0], status=status,
                      bytes=size, hash_ok=digest.hexdigest() ==
                      info.get('os_hash_value'))
        if status != 200 or digest.hexdigest() != info.get('os_hash_value'):
            return 'image %s: HTTP %s, hash %s' % (
                info['urls'][0], status, digest.hexdigest())
        return None

    # -- ramdisk side ---------------------------------------------------------

    def beat(self, agent):
        """Look up and heartbeat once.

        :returns: the lookup's HTTP status, or the heartbeat's if it failed.
        """
        resp = self._session.get(self.api_url + '/v1/lookup',
                                 params={'addresses': agent.mac}, timeout=10)
        if resp.status_code != 200:
            return resp.status_code     # not waiting for an agent
        doc = resp.json()
        agent.node_uuid = agent.node_uuid or doc.get('node', {}).get('uuid')
        token = doc.get('config', {}).get('agent_token')
        self.on_event(event='lookup', status=resp.status_code,
                      node=agent.node_uuid, new_token=bool(
                          token and token != '******'))
        if token and token != '******':
            agent.token = token
            agent.commands = []
        if not agent.token:
            return resp.status_code
        body = {'callback_url': self.callback_url(agent.node_uuid),
                'agent_version': AGENT_VERSION,
                'agent_token': agent.token}
        if self.verify_ca:
            body['agent_verify_ca'] = self.verify_ca
        beat = self._session.post(
            self.api_url + '/v1/heartbeat/%s' % agent.node_uuid,
            json=body, timeout=10)
        self.on_event(event='heartbeat', status=beat.status_code,
                      callback_url=body['callback_url'],
                      error=beat.text if beat.status_code >= 300 else None)
        return resp.status_code if beat.status_code < 300 \
            else beat.status_code

    _beat = beat

    def _loop(self):
        while not self._stop.is_set():
            for agent in list(self.agents.values()):
                if self._stop.is_set():
                    break
                try:
                    self._beat(agent)
                except (requests.RequestException, ValueError, KeyError):
                    pass
            self._stop.wait(self.interval)

    # -- API ------------------------------------------------------------------

    def callback_url(self, node_uuid):
        if self.one_node:
            return '%s://%s:%d' % (self.scheme, self.address, self.port)
        return 'http://127.0.0.1:%d/%s' % (self.port, node_uuid)

    def attach(self, node_uuid, mac):
        """Answer as the ramdisk of ``node_uuid`` (PXE port ``mac``).

        ``node_uuid`` None: the node the lookup of ``mac`` finds.
        """
        self.agents[node_uuid or mac] = _Agent(node_uuid, mac)

    def detach(self, node_uuid):
        self.agents.pop(node_uuid, None)

    def deploy_steps(self, node_uuid):
        return self.agents[node_uuid].deploy_steps

    def start(self, heartbeat=True):
        """Serve commands; heartbeat for every node unless told not to.

        With ``heartbeat`` False the caller calls :meth:`beat` itself.
        """
        targets = [self.server.serve_forever]
        if heartbeat:
            targets.append(self._loop)
        for target in targets:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._session.close()
        time.sleep(0)
