"""deploy/ rendered (both overlays) and checked against the Kubernetes API
schemas and against what the agent and the image expect."""

import configparser
import json

import kubernetes_validate
from oslo_config import cfg
import pytest

from tests.unit.deploy import render as r
from vmetal_ironic.conf import opts as conf_opts

K8S_VERSION = '1.32'
CAPS = ['NET_BIND_SERVICE', 'NET_RAW']


@pytest.fixture(scope='module', params=r.OVERLAYS)
def rendered(request):
    return request.param, r.render(r.overlay_dir(request.param))


def agent_conf(objects):
    cm = r.find(objects, 'ConfigMap', 'vmetal-dhcp-agent')
    parser = configparser.ConfigParser(interpolation=None,
                                       default_section='-')
    parser.read_string(cm['data']['vmetal-ironic.conf'])
    return parser


def _name(group):
    return str(getattr(group, 'name', group))


def container(objects, name='agent'):
    sts = r.find(objects, 'StatefulSet', 'vmetal-dhcp-agent')
    return sts, r.container(sts, name)


def nad_config(objects):
    nad = r.find(objects, 'NetworkAttachmentDefinition',
                 'vmetal-provisioning')
    return nad, json.loads(nad['spec']['config'])


def test_same_as_kubectl_kustomize(rendered):
    name, objects = rendered
    theirs = r.kubectl_render(r.overlay_dir(name))
    if theirs is None:
        pytest.skip('kubectl is not installed (not a Debian package)')
    key = lambda o: (o['kind'], o['metadata']['name'])  # noqa: E731
    assert sorted(objects, key=key) == sorted(theirs, key=key)


def test_unsupported_kustomization_is_refused(tmp_path):
    (tmp_path / 'kustomization.yaml').write_text(
        'resources: []\npatches: [{path: p.yaml}]\n')
    with pytest.raises(r.RenderError, match='patches'):
        r.render(str(tmp_path))


def test_api_objects_validate_against_the_schemas(rendered):
    _, objects = rendered
    kinds = sorted(o['kind'] for o in objects)
    assert kinds == sorted([
        'Namespace', 'ServiceAccount', 'ConfigMap', 'StatefulSet', 'Service',
        'PodDisruptionBudget', 'NetworkPolicy',
        'NetworkAttachmentDefinition'])
    for obj in objects:
        if obj['kind'] == 'NetworkAttachmentDefinition':
            continue        # a CRD: its CNI config is run by the plugins
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        if obj['kind'] != 'Namespace':
            assert obj['metadata']['namespace'] == 'vmetal-ironic'


def test_schema_validation_is_strict():
    bad = {'apiVersion': 'v1', 'kind': 'Service',
           'metadata': {'name': 'x'}, 'spec': {'portz': []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_network_attachment_definition(rendered):
    name, objects = rendered
    nad, config = nad_config(objects)
    assert nad['apiVersion'] == 'k8s.cni.cncf.io/v1'
    assert nad['metadata']['namespace'] == 'vmetal-ironic'
    assert config['type'] == name
    assert config['name'] == nad['metadata']['name']
    # No IPAM: one attachment for every replica, each pod's init
    # container sets its own address; no gateway or routes.
    assert config['ipam'] == {}
    assert not config.get('isGateway') and not config.get('ipMasq')


def test_multus_annotation_names_prov0(rendered):
    _, objects = rendered
    dep, _ = container(objects)
    ann = dep['spec']['template']['metadata']['annotations']
    networks = json.loads(ann['k8s.v1.cni.cncf.io/networks'])
    nad, _ = nad_config(objects)
    assert networks == [{'name': nad['metadata']['name'],
                         'interface': 'prov0'}]
    assert agent_conf(objects)['dhcp_agent']['interface'] == 'prov0'


def test_security_context(rendered):
    _, objects = rendered
    dep, c = container(objects)
    pod = dep['spec']['template']['spec']
    assert pod['securityContext']['runAsNonRoot'] is True
    assert pod['securityContext']['runAsUser'] == 1000
    sc = c['securityContext']
    assert sc['runAsNonRoot'] is True and sc['runAsUser'] == 1000
    assert sc['capabilities'] == {'drop': ['ALL'], 'add': CAPS}
    assert sc['readOnlyRootFilesystem'] is True
    # The interpreter's file capabilities stay within the permitted set:
    # no escalation (tests/functional/deploy/test_image.py).
    assert sc['allowPrivilegeEscalation'] is False
    ns = r.find(objects, 'Namespace')
    assert ns['metadata']['labels'][
        'pod-security.kubernetes.io/enforce'] == 'privileged'


def test_two_replicas_kept_apart(rendered):
    _, objects = rendered
    dep, _ = container(objects)
    assert dep['spec']['replicas'] == 2
    assert dep['spec']['podManagementPolicy'] == 'Parallel'
    assert dep['spec']['serviceName'] == r.find(objects, 'Service')[
        'metadata']['name']
    anti = dep['spec']['template']['spec']['affinity']['podAntiAffinity']
    (term,) = anti['requiredDuringSchedulingIgnoredDuringExecution']
    assert term['topologyKey'] == 'kubernetes.io/hostname'
    labels = dep['spec']['template']['metadata']['labels']
    assert term['labelSelector']['matchLabels'].items() <= labels.items()
    pdb = r.find(objects, 'PodDisruptionBudget')
    assert pdb['spec']['selector'] == dep['spec']['selector']
    assert pdb['spec'] == {'minAvailable': 1,
                           'selector': dep['spec']['selector']}


def test_probes_service_and_policy_use_the_agent_ports(rendered):
    _, objects = rendered
    dep, c = container(objects)
    ports = {p['name']: p['containerPort'] for p in c['ports']}
    conf = agent_conf(objects)['dhcp_agent']
    assert ports['callback'] == int(conf['callback_port']) == 8081
    assert ports['metrics'] == int(conf['metrics_port']) == 9180
    assert c['livenessProbe']['httpGet'] == {'path': '/healthz',
                                             'port': 'metrics'}
    assert c['readinessProbe']['httpGet'] == {'path': '/readyz',
                                              'port': 'metrics'}
    svc = r.find(objects, 'Service')
    assert {(p['port'], p['targetPort']) for p in svc['spec']['ports']} == {
        (8081, 'callback'), (9180, 'metrics')}
    assert svc['spec']['selector'] == dep['spec']['selector']['matchLabels']
    pol = r.find(objects, 'NetworkPolicy')
    assert pol['spec']['policyTypes'] == ['Ingress']
    rules = {rule['ports'][0]['port']: rule['from'][0]['podSelector']
             for rule in pol['spec']['ingress']}
    assert rules == {
        8081: {'matchLabels': {'app.kubernetes.io/name': 'ironic'}},
        9180: {'matchLabels': {'app.kubernetes.io/name': 'prometheus'}}}


def test_configmap_is_a_valid_agent_config(rendered, tmp_path, monkeypatch):
    _, objects = rendered
    parser = agent_conf(objects)
    known = {o.dest for g, group_opts in conf_opts.list_opts()
             if _name(g) == 'dhcp_agent'
             for o in group_opts}
    assert set(parser['dhcp_agent']) - known == set()
    # The Secret's values reach the agent through oslo.config's
    # environment source under the names the Deployment uses.
    _, c = container(objects)
    env = {e['name']: e['valueFrom']['secretKeyRef'] for e in c['env']}
    assert env == {
        'OS_VMETAL_DATABASE__CONNECTION': {'name': 'vmetal-ironic',
                                           'key': 'database-url'},
        'OS_DEFAULT__TRANSPORT_URL': {'name': 'vmetal-ironic',
                                      'key': 'transport-url'}}
    monkeypatch.setenv('OS_VMETAL_DATABASE__CONNECTION', 'sqlite://')
    monkeypatch.setenv('OS_DEFAULT__TRANSPORT_URL', 'rabbit://u:p@mq:5672/')
    path = tmp_path / 'agent.conf'
    path.write_text(r.find(objects, 'ConfigMap')['data'][
        'vmetal-ironic.conf'])
    conf = cfg.ConfigOpts()
    for group, group_opts in conf_opts.list_opts():
        if _name(group) in ('dhcp_agent', 'vmetal_database'):
            conf.register_opts(group_opts, group=group)
    conf.register_opt(cfg.StrOpt('transport_url', secret=True))
    conf(['--config-file', str(path)], project='vmetal-ironic')
    assert conf.vmetal_database.connection == 'sqlite://'
    assert conf.transport_url == 'rabbit://u:p@mq:5672/'
    assert conf.dhcp_agent.interface == 'prov0'
    assert conf.dhcp_agent.state_dir == '/var/lib/vmetal-ironic/agent'
    assert conf.dhcp_agent.service_address == '172.22.0.2'
    # server_address is per pod: the init step's agent.conf, read after
    # the ConfigMap's file.
    assert 'server_address' not in parser['dhcp_agent']
    assert c['args'] == ['--config-file',
                         '/etc/vmetal-ironic/vmetal-ironic.conf',
                         '--config-file', '/run/vmetal/agent.conf']
    dep, c = container(objects)
    mounts = {m['mountPath'] for m in c['volumeMounts']}
    assert conf.dhcp_agent.state_dir in mounts
    assert '/etc/vmetal-ironic' in mounts
