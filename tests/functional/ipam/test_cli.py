"""vmetal-dbsync and vmetal-ipam as an operator runs them."""

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy

from tests import confutils
from vmetal_ironic.ipam import manager as manager_mod

BIN = os.path.dirname(sys.executable)

CONFIG = """
[vmetal_database]
connection = sqlite:///{db}

[vmetal_ipam]
pools = compute, storage
default_pool = compute

[vmetal_pool:compute]
cidr = 192.168.100.1/24
ranges = 192.168.100.10-192.168.100.11
resource_classes = baremetal-compute

[vmetal_pool:storage]
cidr = 192.168.200.1/24
resource_classes = storage
"""


def run(*args, config=None, check=None):
    cmd = [os.path.join(BIN, args[0])]
    if config:
        cmd += ['--config-file', str(config)]
    cmd += list(args[1:])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check is not None:
        assert proc.returncode == check, (proc.stdout, proc.stderr)
    assert 'Traceback' not in proc.stderr
    return proc


@pytest.fixture
def config(tmp_path):
    path = tmp_path / 'vmetal.conf'
    path.write_text(CONFIG.format(db=tmp_path / 'ipam.sqlite'))
    run('vmetal-dbsync', 'upgrade', config=path, check=0)
    return path


def ipam_json(config, *args, check=0):
    proc = run('vmetal-ipam', *args, '-f', 'json', config=config,
               check=check)
    return json.loads(proc.stdout) if check == 0 else proc


def test_operator_session(config):
    proc = run('vmetal-ipam', 'check-config', config=config, check=0)
    assert 'configuration OK: 2 pool(s)' in proc.stdout

    pools = ipam_json(config, 'pool', 'list')
    assert [(p['pool'], p['size'], p['free']) for p in pools] == \
        [('compute', 2, 2), ('storage', 253, 253)]

    first = ipam_json(config, 'allocation', 'create', 'node-1')
    assert first['address'] == '192.168.100.10'
    again = ipam_json(config, 'allocation', 'create', 'node-1')
    assert again == first
    storage = ipam_json(config, 'allocation', 'create', 'node-2',
                        '--resource-class', 'storage')
    assert storage['pool'] == 'storage'
    pinned = ipam_json(config, 'allocation', 'pin', 'node-3',
                       '192.168.100.200')
    assert pinned['pinned'] is True and pinned['pool'] == 'compute'

    listing = ipam_json(config, 'allocation', 'list', '--pool', 'compute')
    assert {a['node_uuid'] for a in listing} == {'node-1', 'node-3'}
    shown = ipam_json(config, 'allocation', 'show', 'node-2')
    assert shown[0]['address'] == storage['address']

    released = ipam_json(config, 'allocation', 'release', 'node-1')
    assert released[0]['state'] == 'released'
    pool = ipam_json(config, 'pool', 'show', 'compute')
    assert (pool['used'], pool['quarantined'], pool['held']) == (1, 1, 0)
    # node-3's pin lies outside the ranges: it takes nothing from them
    assert (pool['outside'], pool['free']) == (1, 1)
    assert pool['ranges'] == ['192.168.100.10-192.168.100.11']
    assert ipam_json(config, 'reservation', 'list') == []

    table = run('vmetal-ipam', 'pool', 'list', config=config, check=0).stdout
    assert table.splitlines()[0].split() == [
        'pool', 'version', 'cidr', 'size', 'used', 'quarantined', 'held',
        'outside', 'free']


def test_exit_status_and_one_line_errors(config, tmp_path):
    ipam_json(config, 'allocation', 'create', 'a')
    ipam_json(config, 'allocation', 'create', 'b')
    # runtime failures: 1
    proc = ipam_json(config, 'allocation', 'create', 'c', check=1)
    assert proc.stderr.strip() == ('Pool "compute" is exhausted: all 2 '
                                   'addresses are allocated or in '
                                   'quarantine.')
    proc = ipam_json(config, 'allocation', 'show', 'nobody', check=1)
    assert proc.stderr.strip() == 'Node nobody has no allocation.'
    # bad input: 2
    for args, words in (
            (('allocation', 'pin', 'x', '10.9.9.9'), 'in no pool'),
            (('allocation', 'pin', 'x', 'bogus'), 'not an IP address'),
            (('allocation', 'pin', 'x', '192.168.100.10'), 'held by node a'),
            (('pool', 'show', 'nope'), 'Unknown pool "nope"'),
            (('allocation', 'create', 'x', '--pool', 'nope'), 'nope'),
            (('allocation', 'list', '--pool', 'nope'), 'nope')):
        proc = run('vmetal-ipam', *args, config=config)
        assert proc.returncode in (1, 2), args
        assert words in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1
    proc = run('vmetal-ipam', 'allocation', 'pin', 'x', '192.168.100.10',
               config=config)
    assert proc.returncode == 1   # a conflict is not bad input
    proc = run('vmetal-ipam', 'pool', 'show', 'nope', config=config)
    assert proc.returncode == 2
    proc = run('vmetal-ipam', 'frobnicate', config=config)
    assert proc.returncode == 2


@pytest.mark.parametrize('change, words', [
    (('ranges = 192.168.100.10-192.168.100.11',
      'ranges = 192.168.100.11-192.168.100.10'),
     'Invalid pool "compute": option ranges = "192.168.100.11-192.168.100.10"'
     ': reversed range'),
    (('cidr = 192.168.200.1/24', 'cidr = 192.168.100.129/25'),
     'overlaps the network 192.168.100.0/24 of pool "compute"'),
    (('default_pool = compute', 'default_pool = gpu'), 'default_pool = "gpu"'),
    (('resource_classes = storage', 'resource_classes = baremetal-compute'),
     'already served by pool "compute"'),
])
def test_bad_config_exit_2(config, change, words):
    text = config.read_text().replace(*change)
    config.write_text(text)
    for args in (('check-config',), ('pool', 'list')):
        proc = run('vmetal-ipam', *args, config=config, check=2)
        assert words in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_schema_and_file(tmp_path):
    path = tmp_path / 'vmetal.conf'
    path.write_text(CONFIG.format(db=tmp_path / 'empty.sqlite'))
    proc = run('vmetal-ipam', 'pool', 'list', config=path, check=1)
    assert 'vmetal-dbsync' in proc.stderr
    proc = run('vmetal-ipam', 'pool', 'list', config=tmp_path / 'nope.conf',
               check=2)
    assert 'nope.conf' in proc.stderr


def test_input_checked_and_output_printable(config, tmp_path):
    for node in ('bad\nnode', 'x\x1b[31mred'):
        proc = run('vmetal-ipam', 'allocation', 'create', node,
                   config=config, check=2)
        assert '\x1b' not in proc.stderr and proc.stdout == ''
        assert len(proc.stderr.strip().splitlines()) == 1
    proc = run('vmetal-ipam', 'allocation', 'create', 'n', '--scope',
               's' * 200, config=config, check=2)
    assert 'invalid choice' in proc.stderr
    assert ipam_json(config, 'allocation', 'list') == []
    # a name stored before input was checked (an older release wrote it
    # straight into the table) is escaped on output
    conf = confutils.conf_from_text(config.read_text(), tmp_path, 'in.conf')
    mgr = manager_mod.IPAMManager(conf)
    try:
        mgr.pin('legacy-node', '192.168.100.50')
    finally:
        mgr.close()
    engine = sqlalchemy.create_engine(conf.vmetal_database.connection)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE vmetal_allocations SET node_uuid = :bad "
            "WHERE node_uuid = 'legacy-node'"), {'bad': 'a\x1b[2Jb'})
    engine.dispose()
    table = run('vmetal-ipam', 'allocation', 'list', config=config,
                check=0).stdout
    assert '\x1b' not in table and 'a\\x1b[2Jb' in table
    assert ipam_json(config, 'allocation', 'list', '-c', 'node_uuid') == \
        [{'node_uuid': 'a\x1b[2Jb'}]
    proc = run('vmetal-ipam', 'allocation', 'list', '-f', 'value', '-c',
               'address', config=config, check=0)
    assert proc.stdout == '192.168.100.50\n'


def test_pool_drift_and_sync(config):
    text = config.read_text()
    config.write_text(text.replace('cidr = 192.168.200.1/24',
                                   'cidr = 192.168.201.1/24'))
    proc = run('vmetal-ipam', 'check-config', config=config, check=1)
    assert 'pool storage: cidr' in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    drifted = ipam_json(config, 'check-config', check=1)
    # the shorthand cidr names the gateway too
    assert [p['drift'] for p in json.loads(drifted.stdout)] == [
        [], ['cidr', 'gateway']]
    changes = ipam_json(config, 'pool', 'sync')
    assert [c['pool'] for c in changes] == ['storage']
    proc = run('vmetal-ipam', 'check-config', config=config, check=0)
    assert 'configuration OK: 2 pool(s)' in proc.stdout
    assert ipam_json(config, 'pool', 'sync') == []


DUAL_CONFIG = """
[vmetal_database]
connection = sqlite:///{db}

[vmetal_ipam]
pools = v4, v6
default_pool = v4, v6

[vmetal_pool:v4]
cidr = 192.168.100.1/24

[vmetal_pool:v6]
cidr = fd00:100::1/64
"""


def test_reservation_list_shows_both_families(tmp_path):
    path = tmp_path / 'dual.conf'
    path.write_text(DUAL_CONFIG.format(db=tmp_path / 'dual.sqlite'))
    run('vmetal-dbsync', 'upgrade', config=path, check=0)
    mgr = manager_mod.IPAMManager(confutils.conf_from_text(
        path.read_text(), tmp_path, name='writer.conf'))
    try:
        mgr.allocate_and_reserve('node-1', {'52:54:00:00:00:01': None},
                                 pool='v4')
        mgr.allocate('node-1', pool='v6')
        mgr.upsert_reservation('52:54:00:00:00:01', 'node-1', pool='v6')
    finally:
        mgr.close()
    rows = ipam_json(path, 'reservation', 'list')
    assert [(r['mac'], r['ip_version'], r['pool'], r['address'])
            for r in rows] == [
        ('52:54:00:00:00:01', 4, 'v4', '192.168.100.2'),
        ('52:54:00:00:00:01', 6, 'v6', 'fd00:100::2')]
    table = run('vmetal-ipam', 'reservation', 'list', config=path,
                check=0).stdout.splitlines()
    assert table[0].split()[:2] == ['mac', 'ip_version']
    assert [line.split()[:2] for line in table[2:]] == [
        ['52:54:00:00:00:01', '4'], ['52:54:00:00:00:01', '6']]
