"""vmetal-ipam's commands against a fake IPAM manager (pure logic).

The functional tests (tests/functional/ipam/test_cli.py) run the installed
command against a real database; these check what the command does with
the manager's answers: output formats, input checks, exit statuses.
"""

import json

import pytest

from vmetal_ironic.cmd.ipam import app as app_mod


class FakePool:
    name = 'compute'
    version = 4
    network = '192.168.100.0/24'
    gateway = '192.168.100.1'
    resource_classes = ('baremetal',)

    class space:
        size = 254


class FakeConfig:
    pools = [FakePool()]
    default_pool = 'compute'


class FakeManager:
    """The IPAM manager methods vmetal-ipam calls, answering canned data."""

    def __init__(self):
        self.calls = []
        self.pool_config = FakeConfig()
        self.drift = []
        self.changes = []
        self.allocations = []

    def pool_drift(self):
        return self.drift

    def sync_pools(self):
        self.calls.append(('sync_pools',))
        return self.changes

    def list_allocations(self, pool=None):
        self.calls.append(('list_allocations', pool))
        return self.allocations

    def allocate(self, node, pool=None, resource_class=None, scope=None):
        self.calls.append(('allocate', node, pool, resource_class, scope))
        return {'node_uuid': node, 'address': '192.168.100.10',
                'scope': scope or 'deployment'}

    def release(self, node, scope=None):
        self.calls.append(('release', node, scope))
        return []

    def close(self):
        self.calls.append(('close',))


@pytest.fixture
def fake(monkeypatch):
    manager = FakeManager()
    monkeypatch.setattr(app_mod.IPAMApp, 'ipam', lambda self: manager)
    return manager


def run(capsys, *argv):
    status = app_mod.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


ALLOCATION = {'pool': 'compute', 'node_uuid': 'node-1',
              'address': '192.168.100.10', 'state': 'active',
              'scope': 'deployment', 'pinned': False,
              'allocated_at': '2026-01-01 00:00:00', 'released_at': None}


def test_output_options_follow_the_command(fake, capsys):
    fake.allocations = [ALLOCATION]
    status, out, _ = run(capsys, 'allocation', 'list', '-f', 'json')
    assert status == 0
    assert json.loads(out) == [ALLOCATION]
    status, out, _ = run(capsys, 'allocation', 'list', '-f', 'value',
                         '-c', 'address', '-c', 'state')
    assert (status, out) == (0, '192.168.100.10 active\n')
    status, out, _ = run(capsys, 'allocation', 'list', '--pool', 'compute')
    lines = out.splitlines()
    assert lines[0].split() == ['pool', 'node_uuid', 'address', 'state',
                                'scope', 'pinned', 'allocated_at',
                                'released_at']
    assert lines[2].split()[:3] == ['compute', 'node-1', '192.168.100.10']
    assert ('list_allocations', 'compute') in fake.calls


def test_show_one_record(fake, capsys):
    status, out, _ = run(capsys, 'allocation', 'create', 'node-1',
                         '--scope', 'rescue', '-f', 'json')
    assert status == 0
    assert json.loads(out) == {'node_uuid': 'node-1',
                               'address': '192.168.100.10',
                               'scope': 'rescue'}
    assert ('allocate', 'node-1', None, None, 'rescue') in fake.calls
    status, out, _ = run(capsys, 'allocation', 'create', 'node-1')
    assert out.splitlines()[0].split() == ['field', 'value']
    assert out.splitlines()[3].split() == ['address', '192.168.100.10']


@pytest.mark.parametrize('node', ['bad\nnode', 'x\x1b[31mred', 'tab\there',
                                  ''])
def test_node_identifier_must_be_printable(fake, capsys, node):
    status, out, err = run(capsys, 'allocation', 'create', node)
    assert status == 2
    assert out == ''
    assert len(err.strip().splitlines()) == 1
    assert '\x1b' not in err and '\t' not in err
    assert not [c for c in fake.calls if c[0] == 'allocate']
    status, _, err = run(capsys, 'reservation', 'list', '--node', node)
    assert status == 2 and '\x1b' not in err


def test_scope_from_its_choices(fake, capsys):
    status, _, err = run(capsys, 'allocation', 'create', 'n', '--scope',
                         'x' * 200)
    assert status == 2
    assert 'invalid choice' in err and len(err.strip().splitlines()) == 1
    status, _, err = run(capsys, 'allocation', 'release', 'n', '--scope',
                         'bogus')
    assert status == 2
    for scope in ('deployment', 'node', 'cleaning', 'rescue', 'inspection',
                  'servicing'):
        status, _, err = run(capsys, 'allocation', 'create', 'n', '--scope',
                             scope)
        assert status == 0, err
    assert not [c for c in fake.calls if c[0] == 'release']


def test_table_escapes_control_characters(fake, capsys):
    fake.allocations = [dict(ALLOCATION, node_uuid='evil\x1b[2J\nnode')]
    status, out, _ = run(capsys, 'allocation', 'list')
    assert status == 0
    assert '\x1b' not in out
    assert len(out.splitlines()) == 3
    assert 'evil\\x1b[2J\\nnode' in out


def test_release_nothing_is_an_operational_error(fake, capsys):
    status, out, err = run(capsys, 'allocation', 'release', 'node-9')
    assert status == 1
    assert err.strip() == 'Node node-9 has no allocation.'
    assert ('release', 'node-9', None) in fake.calls


def test_check_config_without_drift(fake, capsys):
    status, out, err = run(capsys, 'check-config')
    assert status == 0, err
    assert out.splitlines()[-1] == 'configuration OK: 1 pool(s)'
    status, out, _ = run(capsys, 'check-config', '-f', 'json')
    assert json.loads(out) == [{
        'pool': 'compute', 'version': 4, 'cidr': '192.168.100.0/24',
        'gateway': '192.168.100.1', 'size': 254,
        'resource_classes': ['baremetal'], 'default': True, 'drift': []}]


def test_check_config_shows_drift(fake, capsys):
    fake.drift = [{'pool': 'compute', 'field': 'cidr',
                   'configured': '192.168.100.0/24',
                   'recorded': '10.0.0.0/24'}]
    status, out, err = run(capsys, 'check-config', '-f', 'json')
    assert status == 1
    assert json.loads(out)[0]['drift'] == ['cidr']
    assert err.strip() == (
        'The database records other pools than the configuration: pool '
        'compute: cidr configured 192.168.100.0/24, recorded 10.0.0.0/24. '
        '"vmetal-ipam pool sync" records the configuration.')
    status, out, _ = run(capsys, 'check-config')
    assert 'configuration OK' not in out


def test_pool_sync_lists_the_changes(fake, capsys):
    status, out, _ = run(capsys, 'pool', 'sync', '-f', 'json')
    assert (status, json.loads(out)) == (0, [])
    fake.changes = ['compute']
    status, out, _ = run(capsys, 'pool', 'sync', '-f', 'json')
    assert json.loads(out) == [{'pool': 'compute'}]
    assert fake.calls.count(('sync_pools',)) == 2


@pytest.mark.parametrize('argv', [[], ['frobnicate'], ['pool', 'nope'],
                                  ['allocation', 'pin', 'only-node'],
                                  ['allocation', 'release', 'n', '--forget',
                                   '--scope', 'node']])
def test_usage_errors_exit_2_in_one_line(fake, capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
