"""A fake Ironic Python Agent, just enough for agent deploys and cleaning.

One HTTP server answers for every attached node at ``/<node uuid>/v1/
commands/`` (that prefix is the node's ``callback_url``). A heartbeat
thread does what a ramdisk does: look the node up by MAC while it waits
for an agent (``GET /v1/lookup``, which hands out the agent token), then
heartbeat (``POST /v1/heartbeat/<uuid>``). Commands succeed at once; the
parameters of ``execute_deploy_step`` are kept, so tests can read the
config drive Ironic sent with ``write_image``.
"""

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

    def __init__(self, api_url, interval=0.5):
        self.api_url = api_url
        self.interval = interval
        self.agents = {}
        self._stop = threading.Event()
        self._session = requests.Session()
        self._session.headers.update(HEADERS)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _agent(self):
                parts = self.path.split('?')[0].strip('/').split('/')
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

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
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
        elif short == 'execute_clean_step':
            result = {'clean_result': None, 'clean_step': params.get('step')}
        elif short == 'get_partition_uuids':
            result = {'root uuid': None}
        command = {'id': str(uuid.uuid4()), 'command_name': short,
                   'command_status': 'SUCCEEDED', 'command_error': None,
                   'command_result': result}
        with agent.lock:
            agent.commands.append(command)
            del agent.commands[:-20]
        return command

    # -- ramdisk side ---------------------------------------------------------

    def _beat(self, agent):
        resp = self._session.get(self.api_url + '/v1/lookup',
                                 params={'addresses': agent.mac}, timeout=10)
        if resp.status_code != 200:
            return                      # not waiting for an agent
        token = resp.json().get('config', {}).get('agent_token')
        if token and token != '******':
            agent.token = token
            agent.commands = []
        if not agent.token:
            return
        self._session.post(
            self.api_url + '/v1/heartbeat/%s' % agent.node_uuid,
            json={'callback_url': self.callback_url(agent.node_uuid),
                  'agent_version': AGENT_VERSION,
                  'agent_token': agent.token}, timeout=10)

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
        return 'http://127.0.0.1:%d/%s' % (self.port, node_uuid)

    def attach(self, node_uuid, mac):
        """Answer as the ramdisk of ``node_uuid`` (PXE port ``mac``)."""
        self.agents[node_uuid] = _Agent(node_uuid, mac)

    def detach(self, node_uuid):
        self.agents.pop(node_uuid, None)

    def deploy_steps(self, node_uuid):
        return self.agents[node_uuid].deploy_steps

    def start(self):
        for target in (self.server.serve_forever, self._loop):
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
