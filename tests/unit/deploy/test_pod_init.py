"""The StatefulSet's per-pod pieces: the init step (pod-init.py, from the
rendered ConfigMap) planning each pod's address and keepalived.conf, the
init and keepalived containers, the shared callback Secret."""

import configparser
import http.server
import os
import subprocess
import sys
import threading
import types

import pytest

from tests.unit.deploy import render as r
from vmetal_ironic.agent.http import tls

PODS = ('vmetal-dhcp-agent-0', 'vmetal-dhcp-agent-1')


@pytest.fixture(scope='module', params=r.OVERLAYS)
def objects(request):
    return r.render(r.overlay_dir(request.param))


def load_pod_init(objects):
    """pod-init.py from the ConfigMap, as a module."""
    cm = r.find(objects, 'ConfigMap', 'vmetal-dhcp-agent')
    mod = types.ModuleType('pod_init')
    exec(compile(cm['data']['pod-init.py'], 'pod-init.py', 'exec'),
         mod.__dict__)
    return mod


def parsed(objects, key):
    cm = r.find(objects, 'ConfigMap', 'vmetal-dhcp-agent')
    p = configparser.ConfigParser(interpolation=None, default_section='-')
    p.read_string(cm['data'][key])
    return p


def plans(objects):
    mod = load_pod_init(objects)
    pods = parsed(objects, 'pods.conf')
    agent = parsed(objects, 'vmetal-ironic.conf')
    return mod, {n: mod.plan(n, pods, agent, '10.99.0.%d' % (2 + i))
                 for i, n in enumerate(PODS)}


def test_one_address_per_replica_and_the_vip_apart(objects):
    _, p = plans(objects)
    sts = r.find(objects, 'StatefulSet')
    # One line per replica, named as the StatefulSet names its pods.
    names = list(parsed(objects, 'pods.conf')['addresses'])
    assert names == ['%s-%d' % (sts['metadata']['name'], i)
                     for i in range(sts['spec']['replicas'])]
    assert p[PODS[0]]['address'] == '172.22.0.3/24'
    assert p[PODS[1]]['address'] == '172.22.0.4/24'
    assert p[PODS[0]]['agent_conf'] == (
        '[dhcp_agent]\nserver_address = 172.22.0.3\n')


def test_keepalived_conf_per_pod(objects):
    _, p = plans(objects)
    k0, k1 = (p[n]['keepalived_conf'] for n in PODS)
    assert 'priority 200' in k0 and 'priority 190' in k1
    assert 'unicast_src_ip 172.22.0.3' in k0
    assert 'unicast_peer {\n    172.22.0.4\n  }' in k0
    assert 'unicast_peer {\n    172.22.0.3\n  }' in k1
    for k in (k0, k1):
        assert '172.22.0.2/24 dev prov0' in k
        assert 'nopreempt' in k and 'virtual_router_id 51' in k
        assert 'track_script {\n    agent_alive\n  }' in k
    # Each keepalived asks its own agent's /healthz (eth0, metrics_port).
    assert ('script "/opt/vmetal/bin/python3 /etc/vmetal-ironic/pod-init.py'
            ' --healthz http://10.99.0.2:9180/healthz"') in k0
    assert '--healthz http://10.99.0.3:9180/healthz"' in k1


@pytest.mark.parametrize('pods_conf,agent_conf,error', [
    ('[addresses]\nvmetal-dhcp-agent-1 = 172.22.0.4/24\n', None,
     'no address'),
    ('[vrrp]\n', None, r'no \[addresses\]'),
    ('[addresses]\nvmetal-dhcp-agent-0 = 172.22.0.999/24\n', None, 'bad'),
    ('[addresses]\nvmetal-dhcp-agent-0 = 172.22.0.2/24\n', None,
     'must differ'),
    ('[addresses]\nvmetal-dhcp-agent-0 = 172.22.0.3/24\n'
     'x = 172.22.0.3/24\n', None, 'must differ'),
    ('[addresses]\nvmetal-dhcp-agent-0 = 10.0.0.3/24\n', None, 'outside'),
    ('[vrrp]\nvirtual_router_id = 300\n[addresses]\n'
     'vmetal-dhcp-agent-0 = 172.22.0.3/24\n', None, 'virtual_router_id'),
    ('[addresses]\nvmetal-dhcp-agent-0 = 172.22.0.3/24\n',
     '[dhcp_agent]\n', 'service_address'),
    ('[addresses]\nvmetal-dhcp-agent-0 = 172.22.0.3/24\n',
     '[dhcp_agent]\nservice_address = 172.22.0.2\nmetrics_address = x\n',
     'metrics_address')])
def test_bad_pods_conf_is_a_clear_error(objects, pods_conf, agent_conf,
                                        error):
    mod = load_pod_init(objects)
    pods = configparser.ConfigParser(interpolation=None, default_section='-')
    pods.read_string(pods_conf)
    agent = parsed(objects, 'vmetal-ironic.conf')
    if agent_conf is not None:
        agent = configparser.ConfigParser(interpolation=None,
                                          default_section='-')
        agent.read_string(agent_conf)
    with pytest.raises(mod.PodInitError, match=error):
        mod.plan(PODS[0], pods, agent, '10.99.0.2')


def test_init_and_keepalived_containers(objects):
    sts = r.find(objects, 'StatefulSet')
    init = r.container(sts, 'pod-init')
    assert init['command'] == ['/opt/vmetal/bin/python3',
                               '/etc/vmetal-ironic/pod-init.py']
    assert init['env'] == [{'name': 'POD_NAME', 'valueFrom': {
        'fieldRef': {'fieldPath': 'metadata.name'}}}]
    ka = r.container(sts, 'keepalived')
    for c, caps in ((init, ['NET_ADMIN']),
                    (ka, ['NET_ADMIN', 'NET_RAW', 'SETGID'])):
        sc = c['securityContext']
        assert sc['capabilities'] == {'drop': ['ALL'], 'add': caps}
        assert sc['runAsUser'] == 0 and sc['allowPrivilegeEscalation'] \
            is False and sc['readOnlyRootFilesystem'] is True
        assert c['image'] == r.container(sts, 'agent')['image']
    assert '/run/vmetal/keepalived.conf' in ka['command']
    mounts = {m['name']: m for m in init['volumeMounts']}
    assert 'readOnly' not in mounts['pod']
    assert mounts['pod']['mountPath'] == '/run/vmetal'


def test_the_callback_secret_lands_where_the_agent_reads_it(objects):
    sts = r.find(objects, 'StatefulSet')
    agent = r.container(sts, 'agent')
    state = parsed(objects, 'vmetal-ironic.conf')['dhcp_agent']['state_dir']
    laid = {m['subPath']: m['mountPath'] for m in agent['volumeMounts']
            if m['name'] == 'callback'}
    assert laid == {f: '%s/%s' % (state, f)
                    for f in (tls.SECRET, tls.CA_CERT, tls.CA_KEY)}
    (vol,) = [v for v in sts['spec']['template']['spec']['volumes']
              if v['name'] == 'callback']
    assert vol['secret']['secretName'] == 'vmetal-dhcp-agent-callback'
    # Readable by the agent's group (fsGroup), not by others.
    assert vol['secret']['defaultMode'] == 0o440
    assert sts['spec']['template']['spec']['securityContext'][
        'fsGroup'] == 1000


def test_unknown_pod_stops_with_a_message_and_writes_nothing(
        objects, tmp_path):
    cm = r.find(objects, 'ConfigMap', 'vmetal-dhcp-agent')
    etc = tmp_path / 'etc'
    out = tmp_path / 'out'
    etc.mkdir()
    out.mkdir()
    for key, text in cm['data'].items():
        (etc / key).write_text(text)
    env = dict(os.environ, POD_NAME='vmetal-dhcp-agent-7',
               VMETAL_ETC=str(etc), VMETAL_POD_DIR=str(out))
    res = subprocess.run([sys.executable, str(etc / 'pod-init.py')],
                         env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=30)
    assert res.returncode == 2
    assert res.stderr == (
        "pod-init: pod 'vmetal-dhcp-agent-7' has no address in pods.conf "
        "(known: vmetal-dhcp-agent-0, vmetal-dhcp-agent-1)\n")
    assert list(out.iterdir()) == []


def test_healthz_track_script(objects, tmp_path):
    """pod-init.py --healthz: 0 while a /healthz answers 200, else 1."""
    cm = r.find(objects, 'ConfigMap', 'vmetal-dhcp-agent')
    script = tmp_path / 'pod-init.py'
    script.write_text(cm['data']['pod-init.py'])

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == '/healthz' else 503)
            self.send_header('Content-Length', '0')
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(('127.0.0.1', 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = 'http://127.0.0.1:%d' % server.server_port
    try:
        def rc(url):
            return subprocess.run([sys.executable, str(script), '--healthz',
                                   url], timeout=30).returncode
        assert rc(base + '/healthz') == 0
        assert rc(base + '/other') == 1
        assert rc('not a url') == 1
    finally:
        server.shutdown()
        server.server_close()
    assert rc(base + '/healthz') == 1
