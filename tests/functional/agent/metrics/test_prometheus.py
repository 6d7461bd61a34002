"""A real Prometheus scrapes the agent's /metrics on the cluster side.

The agent serves from an IPAM database (SQLite) and exposes its metrics
on its cluster-side address (10.99.0.2, device clus0). Prometheus (the
Debian package) runs in the cluster namespace with a generated
configuration and its own storage directory, listening on that
namespace's loopback; the test asks its HTTP API (PromQL) for a counter
after a real udhcpc exchange and for a pool gauge after an allocation.
The endpoint must not answer on the provisioning side: neither at the
provisioning address nor at the cluster address reached through the
provisioning segment (weak host model; the socket is device-bound).
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import time
import uuid

import pytest
import yaml

from tests.fixtures import dhcp_bed as c
from tests.fixtures import netns
from tests.functional.agent.sources.test_ipam_sync import db  # noqa: F401

MAC = '52:54:00:cc:00:01'
CLUSTER_ADDRESS = '10.99.0.2'
METRICS_PORT = 9180
PROMETHEUS = '127.0.0.1:9090'
DEADLINE = 60
POOL_SIZE = 21          # 172.22.0.100-172.22.0.120 in test_ipam_sync.POOLS

CONFIG = '''
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vmetal-dhcp-agent
    static_configs:
      - targets: ['%s:%d']
'''


@pytest.fixture
def ipam_db(bed, db):  # noqa: F811
    """The sources tests' IPAM database, its directory gone afterwards.

    The bed outlives the test; the sources tests make the same directory.
    """
    yield db
    shutil.rmtree(bed.lab.path('ipamdb'), ignore_errors=True)


def start_prometheus(bed):
    work = bed.lab.path('prometheus')
    os.mkdir(work)
    config = os.path.join(work, 'prometheus.yml')
    with open(config, 'w') as f:
        f.write(CONFIG % (CLUSTER_ADDRESS, METRICS_PORT))
    log = open(os.path.join(work, 'prometheus.log'), 'w')
    try:
        return bed.cluster.popen(
            'prometheus', '--config.file=' + config,
            '--storage.tsdb.path=' + os.path.join(work, 'data'),
            '--web.listen-address=' + PROMETHEUS, stdout=log,
            stderr=subprocess.STDOUT)
    finally:
        log.close()


def curl(ns, *args, timeout=10):
    return ns.run('curl', '-sS', '--max-time', '3', *args, check=False,
                  timeout=timeout)


def query(bed, promql):
    """The instant vector of ``promql`` ([] before Prometheus is up)."""
    r = curl(bed.cluster, '-G', 'http://%s/api/v1/query' % PROMETHEUS,
             '--data-urlencode', 'query=' + promql)
    if r.returncode != 0:
        return []
    doc = json.loads(r.stdout)
    assert doc['status'] == 'success', doc
    return doc['data']['result']


def wait_value(bed, promql, want):
    """Poll until ``promql`` is the single value ``want``; the last one."""
    deadline = time.monotonic() + DEADLINE
    got = None
    while time.monotonic() < deadline:
        result = query(bed, promql)
        got = [float(r['value'][1]) for r in result]
        if got == [want]:
            return got
        time.sleep(0.5)
    return got


def test_prometheus_scrapes_counters_and_pool_gauges(bed, ipam_db):
    c.require_root_and('ip', 'setpriv', 'udhcpc', 'curl', 'prometheus')
    mgr, url = ipam_db
    node = str(uuid.uuid4())
    alloc = mgr.allocate(node)
    mgr.upsert_reservation(MAC, node, hostname='metrics-node')
    agent = netns.start_agent(
        bed.lab, bed.agent_ns,
        dict(c.AGENT_OPTS, sources='ipam', sync_interval=2,
             metrics_address=CLUSTER_ADDRESS, metrics_port=METRICS_PORT,
             pool_stats_ttl=1),
        extra_sections={'vmetal_database': {'connection': url}},
        name='metrics-agent')
    prometheus = None
    try:
        assert agent.wait_log('Metrics on http://%s:%d/metrics'
                              % (CLUSTER_ADDRESS, METRICS_PORT))
        base = 'http://%s:%d' % (CLUSTER_ADDRESS, METRICS_PORT)
        ready = curl(bed.cluster, '-o', '/dev/null', '-w', '%{http_code}',
                     base + '/readyz')
        assert ready.stdout == '200', agent.log()[-2000:]

        # Not on the provisioning side.
        prov = bed.client('52:54:00:cc:00:02')
        prov.run('ip', 'addr', 'add', '172.22.0.77/24', 'dev', 'eth0')
        prov.route('10.99.0.0/24', 'via', c.SERVER)
        for target in (c.SERVER, CLUSTER_ADDRESS):
            r = curl(prov, 'http://%s:%d/metrics' % (target, METRICS_PORT))
            assert r.returncode != 0 and 'vmetal_' not in r.stdout, (
                target, r.stdout)
        # ...while the cluster side gets it.
        r = curl(bed.cluster, base + '/metrics')
        assert r.returncode == 0 and 'vmetal_dhcp4_packets' in r.stdout

        prometheus = start_prometheus(bed)
        assert wait_value(bed, 'up{job="vmetal-dhcp-agent"}', 1.0) == [1.0]

        # A real DHCP exchange: as many DISCOVERs counted as udhcpc sent.
        client = bed.client(MAC)
        out = client.run('udhcpc', '-f', '-q', '-n', '-i', 'eth0', '-t', '5',
                         '-T', '1', '-s', '/bin/true', timeout=30,
                         check=False)
        log = out.stdout + out.stderr
        assert 'lease of %s obtained' % alloc.address in log, log
        discovers = log.count('discover\n')
        assert discovers >= 1, log
        got = wait_value(
            bed, 'vmetal_dhcp4_packets_received_total{type="discover"}',
            float(discovers))
        assert got == [float(discovers)]
        got = wait_value(bed, 'vmetal_dhcp4_packets_sent_total{type="ack"}',
                         1.0)
        assert got == [1.0]

        # The pool gauges: one address of POOL_SIZE is assigned.
        assert wait_value(bed, 'vmetal_ipam_pool_assigned{pool="prov"}',
                          1.0) == [1.0]
        assert wait_value(bed, 'vmetal_ipam_pool_size{pool="prov"}',
                          float(POOL_SIZE)) == [float(POOL_SIZE)]
        mgr.allocate(str(uuid.uuid4()))
        assert wait_value(bed, 'vmetal_ipam_pool_free{pool="prov"}',
                          float(POOL_SIZE - 2)) == [float(POOL_SIZE - 2)]
        # The documented alert: silent at 2 of 21, firing above 90 %.
        assert query(bed, ALERT_EXPR) == []
        for _ in range(POOL_SIZE - 3):
            mgr.allocate(str(uuid.uuid4()))
        assert wait_value(bed, 'vmetal_ipam_pool_assigned{pool="prov"}',
                          float(POOL_SIZE - 1)) == [float(POOL_SIZE - 1)]
        firing = query(bed, ALERT_EXPR)
        assert [r['metric']['pool'] for r in firing] == ['prov'], firing
        assert agent.proc.poll() is None
    finally:
        if prometheus is not None:
            netns.stop_process(prometheus)
        agent.stop()


DOC = pathlib.Path(netns.REPO) / 'doc' / 'metrics.md'


def documented_rules():
    """The text of the alert rule file in doc/metrics.md."""
    blocks = re.findall(r'```yaml\n(.*?)```', DOC.read_text(), re.S)
    (rules,) = [b for b in blocks if b.startswith('groups:')]
    return rules


def documented_alert(name):
    doc = yaml.safe_load(documented_rules())
    (rule,) = [r for g in doc['groups'] for r in g['rules']
               if r.get('alert') == name]
    return rule['expr']


ALERT_EXPR = documented_alert('VmetalPoolAlmostFull')


def test_documented_rules_are_valid(tmp_path):
    """promtool accepts the rule file of doc/metrics.md."""
    missing = netns.missing_binaries('promtool')
    assert not missing, 'tools/debian-packages.txt: prometheus'
    path = tmp_path / 'rules.yml'
    path.write_text(documented_rules())
    r = subprocess.run(['promtool', 'check', 'rules', str(path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'SUCCESS: 3 rules found' in r.stdout
