"""The image, built from a local base, run under podman with the
StatefulSet's user and capabilities in a pod namespace whose prov0 the real
macvlan plugin made (its address from the init step): it serves a real
DHCP client on prov0, nothing on eth0, and its capabilities really reach
the uid-1000 process."""

import configparser
import os

from cryptography import x509
import pytest

from tests.fixtures import netns
from tests.functional.deploy import clients
from tests.functional.deploy import image
from tests.functional.deploy import oci
from tests.functional.deploy import pod

CAP_NET_BIND_SERVICE = 10
CAP_NET_RAW = 13


@pytest.fixture(scope='module')
def built():
    netns.require_root_and('podman', 'podman', 'runc', 'debootstrap')
    return image.build()


def proc_status(pid):
    with open('/proc/%s/status' % pid) as f:
        return dict(line.split(':\t', 1) for line in f.read().splitlines()
                    if ':\t' in line)


def prepare(lab, net):
    """The ConfigMap's config and a state volume, as the pod mounts them."""
    etc = lab.path('etc')
    os.makedirs(etc)
    netns.write_json(os.path.join(etc, 'hosts.json'), pod.HOSTS)
    parser = configparser.ConfigParser(interpolation=None)
    parser['DEFAULT'] = {'debug': 'true', 'use_stderr': 'true'}
    parser['dhcp_agent'] = net.agent_conf(
        reservations_file='/etc/vmetal-ironic/hosts.json')
    path = os.path.join(etc, 'vmetal-ironic.conf')
    with open(path, 'w') as f:
        parser.write(f)
    os.chmod(path, 0o644)
    return etc, pod.state_dir(lab)


def start(lab, net, built, **kw):
    net.add()
    out = net.init()
    etc, state = prepare(lab, net)
    volumes = {'config': etc, 'pod': out, 'state': state,
               'callback': pod.callback_secret(lab)}
    container = image.Container(image.run_argv(
        net.objects, built, net.pod.name, volumes, **kw))
    return container, state


@pytest.mark.timeout(image.BUILD_TIMEOUT + 180)
@pytest.mark.parametrize('no_new_privs', [None, False],
                         ids=['as-deployed', 'escalation-allowed'])
def test_image_serves_prov0_as_uid_1000_with_two_capabilities(
        lab, built, no_new_privs):
    """podman with the StatefulSet's settings (no_new_privs), and without.

    podman (unlike a CRI runtime, see oci.py) also sets the added
    capabilities as ambient for a non-root user; the exec of an
    interpreter with file capabilities clears them, so what the agent has
    comes from its file capabilities. They need no escalation beyond the
    permitted set the runtime sets before exec, so no_new_privs
    (allowPrivilegeEscalation false) does not stop them.
    """
    net = pod.PodNetwork(lab, 'macvlan')
    container = None
    try:
        container, state = start(lab, net, built, no_new_privs=no_new_privs)
        assert container.wait_log('DHCP server started', 60), \
            container.logs()[-3000:]
        status = proc_status(container.inspect('{{.State.Pid}}'))
        assert status['Uid'].split() == ['1000'] * 4
        assert status['Gid'].split() == ['1000'] * 4
        assert status['NoNewPrivs'] == ('0' if no_new_privs is False
                                        else '1')
        want = (1 << CAP_NET_BIND_SERVICE) | (1 << CAP_NET_RAW)
        # From the interpreter's file capabilities, not ambient ones.
        assert int(status['CapEff'], 16) == want
        assert int(status['CapPrm'], 16) == want
        assert int(status['CapBnd'], 16) == want
        assert int(status['CapAmb'], 16) == 0
        clients.check_both_sides(net, net.server_address())
        # The callback's CA and secret are the Secret's (laid over the
        # state volume); the certificate is issued into it.
        kept = set(os.listdir(state))
        assert {'ca.crt', 'callback.crt', 'callback.secret'} <= kept, kept
        with open(os.path.join(pod.callback_secret(lab), 'ca.crt')) as f:
            ca = x509.load_pem_x509_certificate(f.read().encode())
        with open(os.path.join(state, 'callback.crt')) as f:
            cert = x509.load_pem_x509_certificate(f.read().encode())
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)
        assert 'Traceback' not in container.logs()
    finally:
        if container:
            container.remove()
        net.close()


AGENT_ARGS = ['-m', 'vmetal_ironic.cmd.dhcp_agent', '--config-file',
              '/etc/vmetal-ironic/vmetal-ironic.conf']


@pytest.mark.timeout(image.BUILD_TIMEOUT + 180)
@pytest.mark.parametrize('interpreter,no_new_privs,serves', [
    ('/opt/vmetal/bin/python3-agent', None, True),
    ('/opt/vmetal/bin/python3-agent', False, True),
    ('/opt/vmetal/bin/python3', None, False)],
    ids=['file-caps', 'file-caps-escalation-allowed', 'plain'])
def test_capabilities_as_a_cri_runtime_sets_them(lab, built, interpreter,
                                                 no_new_privs, serves):
    """runc with the CRI's capability sets: no ambient ones.

    The image's interpreter gets the two capabilities from its file
    capabilities and serves; the plain interpreter of the same venv gets
    none, cannot open its sockets, says so and stops.
    """
    net = pod.PodNetwork(lab, 'macvlan')
    container = None
    try:
        net.add()
        net.init()
        etc, state = prepare(lab, net)
        container = oci.RuncContainer(lab, net.objects, built, net.pod.name,
                                      etc, state, [interpreter] + AGENT_ARGS,
                                      no_new_privs=no_new_privs)
        started = container.wait_log('DHCP server started', 60)
        if serves:
            assert started, container.logs()[-3000:]
            status = proc_status(container.pid())
            assert status['Uid'].split() == ['1000'] * 4
            want = (1 << CAP_NET_BIND_SERVICE) | (1 << CAP_NET_RAW)
            assert int(status['CapEff'], 16) == want
            assert int(status['CapAmb'], 16) == 0
            assert status['NoNewPrivs'] == ('0' if no_new_privs is False
                                            else '1')
            clients.check_both_sides(net, net.server_address())
        else:
            assert not started
            assert container.proc.wait(timeout=30) != 0
            assert 'ermission' in container.logs(), container.logs()[-3000:]
        assert 'Traceback' not in container.logs()
    finally:
        if container:
            container.remove()
        net.close()
