"""The devstack plugin that enables the drivers: lint and configure.

``configure_vmetal_ironic`` runs in bash with devstack's ini helpers
replaced by small stand-ins, and the resulting ironic.conf is checked.
"""

import configparser
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
FILES = [os.path.join(ROOT, 'devstack', name)
         for name in ('plugin.sh', 'lib/vmetal-ironic', 'settings')]

# Minimal stand-ins for devstack's functions (inifuncs, functions-common).
STUBS = r'''
_ini() { "$PYTHON" - "$@" <<'PY'
import configparser, sys
op, f, sec, opt = sys.argv[1:5]
c = configparser.RawConfigParser(strict=False)
c.optionxform = str
c.read(f)
if op == 'get':
    print(c.get(sec, opt, fallback=''))
    sys.exit(0)
if sec != 'DEFAULT' and not c.has_section(sec):
    c.add_section(sec)
value = sys.argv[5]
if op == 'add' and c.get(sec, opt, fallback=''):
    value = c.get(sec, opt) + '\n' + value
c.set(sec, opt, value)
with open(f, 'w') as fp:
    c.write(fp)
PY
}
iniset() { _ini set "$@"; }
iniadd() { _ini add "$@"; }
iniget() { _ini get "$@"; }
iniget_multiline() { _ini get "$@"; }
database_connection_url() { echo "mysql+pymysql://root:pw@db/$1"; }
trueorfalse() { local v=${!2:-$1}; echo "$v"; }
define_plugin() { :; }
plugin_requires() { :; }
sudo() {
    if [[ "$1" != install ]]; then "$@"; return; fi
    shift
    while [[ "$1" == -* ]]; do [[ "$1" == -o ]] && shift; shift; done
    mkdir -p "$@"
}
run_process() { printf '%s\n' "$@" > "$RUN_LOG"; }
die() { echo "die: $2" >&2; exit 1; }
'''


def test_syntax():
    for name in FILES:
        subprocess.run(['bash', '-n', name], check=True)


def test_bashate():
    bashate = shutil.which('bashate') or os.path.join(
        os.path.dirname(sys.executable), 'bashate')
    if not os.path.exists(bashate):
        pytest.skip('bashate is not installed (test-requirements.txt)')
    # E005: "settings" is sourced, it has no #! line (as in devstack).
    subprocess.run([bashate, '-i', 'E005'] + FILES, check=True)


def _configure(tmp_path, hardware_types, extra=''):
    conf = tmp_path / 'ironic.conf'
    conf.write_text('[DEFAULT]\nenabled_hardware_types = %s\n'
                    'enabled_network_interfaces = flat,noop\n'
                    '[oslo_messaging_notifications]\ndriver = log\n'
                    % hardware_types)
    script = STUBS + '''
set -eu
DEST=%(root)s/..; DATA_DIR=%(tmp)s/data; STACK_USER=$(id -un)
IRONIC_CONF_FILE=%(conf)s
VMETAL_IRONIC_CONF_DIR=%(tmp)s/etc
VMETAL_POOL_RANGES=10.0.5.100-10.0.5.200
%(extra)s
source %(root)s/devstack/settings
source %(root)s/devstack/lib/vmetal-ironic
configure_vmetal_ironic
configure_vmetal_ironic   # twice: idempotent
''' % {'root': ROOT, 'tmp': tmp_path, 'conf': conf, 'extra': extra}
    out = subprocess.run(['bash', '-c', script], check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, PYTHON=sys.executable))
    parser = configparser.RawConfigParser(strict=False)
    parser.read(conf)
    return parser, out.stdout


def test_configure(tmp_path):
    conf, _ = _configure(tmp_path, 'fake-hardware')
    default = conf['DEFAULT']
    assert default['enabled_network_interfaces'] == 'flat,noop,vmetal'
    assert default['enabled_hardware_types'] == \
        'fake-hardware,vmetal-ipmi,vmetal-redfish'
    assert default['default_network_interface'] == 'vmetal'
    assert default['notification_level'] == 'info'
    assert conf['dhcp']['dhcp_provider'] == 'vmetal'
    assert conf['oslo_messaging_notifications']['driver'].split() == \
        ['log', 'vmetal']
    assert conf['vmetal_database']['connection'] == \
        'mysql+pymysql://root:pw@db/vmetal_ipam'
    assert conf['vmetal_ipam']['pools'] == 'provisioning'
    pool = conf['vmetal_pool:provisioning']
    assert pool['cidr'] == '10.0.5.1/24'
    assert pool['ranges'] == '10.0.5.100-10.0.5.200'
    assert pool['resource_classes'] == 'baremetal'
    agent = configparser.RawConfigParser()
    agent.read(tmp_path / 'etc' / 'vmetal-dhcp-agent.conf')
    assert agent['vmetal_database']['connection'] == \
        conf['vmetal_database']['connection']


def test_no_default_when_a_type_rejects_vmetal(tmp_path):
    conf, out = _configure(tmp_path, 'ipmi')
    assert 'default_network_interface' not in conf['DEFAULT']
    assert 'WARNING' in out


def test_agent_configuration_starts(tmp_path):
    """The agent's file passes the agent's own start-up checks."""
    from oslo_config import cfg

    from vmetal_ironic.agent import service
    from vmetal_ironic.conf import database
    from vmetal_ironic.conf import dhcp_agent

    _configure(tmp_path, 'fake-hardware',
               'VMETAL_DHCP_AGENT_INTERFACE=lo\n'
               'VMETAL_DHCP_AGENT_ADDRESS=127.0.0.1')
    path = tmp_path / 'etc' / 'vmetal-dhcp-agent.conf'
    agent = configparser.RawConfigParser()
    agent.read(path)
    assert agent['dhcp_agent']['interface'] == 'lo'
    assert agent['dhcp_agent']['server_address'] == '127.0.0.1'
    assert agent['dhcp_agent']['sources'] == 'ipam'
    assert agent['dhcp_agent']['tftp_root'] == str(
        tmp_path / 'data' / 'vmetal-ironic' / 'tftpboot')
    assert agent['dhcp_agent']['ironic_api_url'].endswith('/baremetal')
    conf = cfg.ConfigOpts()
    for group in (database, dhcp_agent):
        group.register_opts(conf)
    conf(['--config-file', str(path)], project='vmetal-test',
         default_config_files=[])
    assert service.validate(conf) == ['ipam']


def test_agent_defaults(tmp_path):
    _configure(tmp_path, 'fake-hardware',
               'IRONIC_VM_NETWORK_BRIDGE=brbm\n'
               'IRONIC_PROVISION_SUBNET_GATEWAY=10.0.5.1')
    agent = configparser.RawConfigParser()
    agent.read(tmp_path / 'etc' / 'vmetal-dhcp-agent.conf')
    assert agent['dhcp_agent']['interface'] == 'brbm'
    assert agent['dhcp_agent']['server_address'] == '10.0.5.1'


def _start(tmp_path, interface, address):
    ipxe = tmp_path / 'ipxe'
    ipxe.mkdir()
    (ipxe / 'undionly.kpxe').write_bytes(b'ipxe')
    script = STUBS + '''
set -eu
DEST=%(root)s/..; DATA_DIR=%(tmp)s/data; STACK_USER=$(id -un)
VMETAL_IRONIC_CONF_DIR=%(tmp)s/etc
VMETAL_DHCP_AGENT_INTERFACE=%(dev)s
VMETAL_DHCP_AGENT_ADDRESS=%(addr)s
VMETAL_DHCP_AGENT_IPXE_DIR=%(tmp)s/ipxe
source %(root)s/devstack/settings
source %(root)s/devstack/lib/vmetal-ironic
start_vmetal_dhcp_agent
''' % {'root': ROOT, 'tmp': tmp_path, 'dev': interface, 'addr': address}
    return subprocess.run(['bash', '-c', script], capture_output=True,
                          text=True, env=dict(
                                              os.environ,
                                              PYTHON=sys.executable,
                                              RUN_LOG=str(tmp_path / 'run'),
                                              PATH=BIN + os.pathsep +
                                              os.environ['PATH']))


def test_agent_runs_as_root_on_an_existing_interface(tmp_path):
    proc = _start(tmp_path, 'lo', '127.0.0.1')
    assert proc.returncode == 0, proc.stderr
    args = (tmp_path / 'run').read_text().splitlines()
    assert args[0] == 'vmetal-dhcp-agent'
    assert args[1].endswith('vmetal-dhcp-agent --config-file %s' % (
        tmp_path / 'etc' / 'vmetal-dhcp-agent.conf'))
    assert args[2:] == ['', 'root']
    tftp = tmp_path / 'data' / 'vmetal-ironic' / 'tftpboot'
    assert (tftp / 'undionly.kpxe').read_bytes() == b'ipxe'


@pytest.mark.parametrize('interface, address, words', [
    ('vmetal-none0', '127.0.0.1', 'does not exist'),
    ('lo', '192.0.2.77', 'does not carry'),
])
def test_agent_refuses_a_missing_interface_or_address(tmp_path, interface,
                                                      address, words):
    proc = _start(tmp_path, interface, address)
    assert proc.returncode == 1
    assert words in proc.stderr
    assert not (tmp_path / 'run').exists()
