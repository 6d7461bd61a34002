"""The agent's HTTP proxy, with the real agent between two segments.

curl runs on the provisioning segment, a stand-in Ironic on the cluster
segment.
"""

import json
import os

from tests.fixtures import bridge_bed as bridge

UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
GB = 1024 * 1024 * 1024


def _rss_kb(pid, field='VmRSS'):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError('no %s for %d' % (field, pid))


def _status(bed, *args):
    r = bed.curl('-o', '/dev/null', '-w', '%{http_code}', *args,
                 check=False)
    return int(r.stdout or 0)


def test_client_cannot_reach_cluster_directly(bed):
    r = bed.curl('-o', '/dev/null', 'http://%s:%d/' % (
        bridge.CLUSTER_IP, bridge.BOOT_PORT), timeout=3, check=False)
    assert r.returncode != 0


def test_boot_script_through_proxy(bed):
    bed.write_http('script/boot.ipxe', b'#!ipxe\nchain http://x/${mac}\n')
    r = bed.curl('-D', '-', bridge.PROXY + '/script/boot.ipxe')
    assert r.stdout.endswith('#!ipxe\nchain http://x/${mac}\n')
    head = r.stdout.split('\r\n\r\n', 1)[0].lower()
    assert head.startswith('http/1.1 200')
    assert 'etag:' in head and 'last-modified:' in head
    assert 'accept-ranges: bytes' in head


def test_1gb_sparse_file_streams_with_flat_memory(bed):
    path = os.path.join(bed.http_root, 'image.raw')
    with open(path, 'wb') as f:
        f.truncate(GB)
    os.chmod(path, 0o644)
    pid = bed.agent.proc.pid
    before = _rss_kb(pid)
    r = bed.curl('-o', '/dev/null', '-w', '%{size_download} %{http_code}',
                 bridge.PROXY + '/image.raw', timeout=120)
    after, peak = _rss_kb(pid), _rss_kb(pid, 'VmHWM')
    size, code = r.stdout.split()
    assert (int(size), code) == (GB, '200')
    print('agent RSS before %d kB, after %d kB, peak %d kB'
          % (before, after, peak))
    assert after - before < 20 * 1024
    assert peak - before < 20 * 1024


def test_range_and_head(bed):
    data = bytes(range(256)) * 4096
    bed.write_http('kernel', data)
    r = bed.curl('-D', '-', '-o', '/dev/null', '-r', '1000-1999',
                 bridge.PROXY + '/kernel')
    head = r.stdout
    assert head.lower().startswith('http/1.1 206')
    assert 'content-range: bytes 1000-1999/%d' % len(data) in head.lower()
    out = bed.lab.path('range-out')
    bed.curl('-r', '1000-1999', '-o', out, bridge.PROXY + '/kernel')
    with open(out, 'rb') as f:
        assert f.read() == data[1000:2000]
    r = bed.curl('-I', bridge.PROXY + '/kernel')
    assert r.stdout.lower().startswith('http/1.1 200')
    assert 'content-length: %d' % len(data) in r.stdout.lower()
    assert _status(bed, '-r', '99999999-', bridge.PROXY + '/kernel') == 416


def test_status_passes_through(bed):
    assert _status(bed, bridge.PROXY + '/no-such-file') == 404


def test_allowed_api_endpoints_reach_the_api(bed):
    r = bed.curl(bridge.PROXY + '/')
    assert json.loads(r.stdout)['path'] == '/'
    assert json.loads(bed.curl(bridge.PROXY + '/v1').stdout)['path'] == \
        '/v1'
    doc = json.loads(bed.curl(
        bridge.PROXY + '/v1/lookup?addresses=52:54:00:bb:00:01').stdout)
    assert doc['path'] == '/v1/lookup'
    assert doc['query'] == 'addresses=52:54:00:bb:00:01'
    assert doc['x_forwarded_for'] == bridge.CLIENT_IP
    assert doc['host'] == '%s:%d' % (bridge.CLUSTER_IP, bridge.API_PORT)
    # An empty callback_url passes unchanged; the rewrite of a real one
    # (and the refusal of this client, which holds no reservation) is
    # tested in tests/functional/agent/http/.
    body = json.dumps({'callback_url': '', 'agent_version': '10.0.0'})
    doc = json.loads(bed.curl(
        '-X', 'POST', '-H', 'Content-Type: application/json',
        '-H', 'X-Forwarded-For: 6.6.6.6', '-d', body,
        bridge.PROXY + '/v1/heartbeat/' + UUID).stdout)
    assert (doc['method'], doc['path'], doc['body_length']) == (
        'POST', '/v1/heartbeat/' + UUID, len(body))
    assert doc['x_forwarded_for'] == bridge.CLIENT_IP
    doc = json.loads(bed.curl(
        '-X', 'POST', '-d', '{"inventory": {}}',
        bridge.PROXY + '/v1/continue_inspection').stdout)
    assert doc['path'] == '/v1/continue_inspection'
    # A chunked body is accepted too (de-chunked, within the limit).
    doc = json.loads(bed.curl(
        '-X', 'POST', '-H', 'Transfer-Encoding: chunked', '-d', 'x' * 5000,
        bridge.PROXY + '/v1/continue_inspection').stdout)
    assert doc['body_length'] == 5000


def test_other_api_paths_never_reach_the_api(bed):
    before = len(bed.requests_seen(bed.api_log))
    for args in (['/v1/nodes'], ['/v1/nodes/' + UUID], ['/v1/ports'],
                 ['-X', 'DELETE', '/v1/lookup'], ['/v1/%2e%2e/v1/nodes'],
                 ['-X', 'PATCH', '/v1/heartbeat/' + UUID]):
        url = bridge.PROXY + args[-1]
        status = _status(bed, '--path-as-is', *args[:-1], url)
        assert status in (400, 403, 405), (args, status)
    assert len(bed.requests_seen(bed.api_log)) == before


def test_not_an_open_proxy(bed):
    seen_boot = len(bed.requests_seen(bed.boot_log))
    foreign = 'http://%s:%d/v1/nodes' % (bridge.CLUSTER_IP,
                                         bridge.FOREIGN_PORT)
    # Absolute URI (curl as a forward-proxy client).
    assert _status(bed, '-x', bridge.PROXY, foreign) == 400
    # CONNECT tunnel.
    r = bed.curl('-p', '-x', bridge.PROXY, 'http://%s:%d/' % (
        bridge.CLUSTER_IP, bridge.FOREIGN_PORT), check=False)
    assert r.returncode != 0
    # A Host header does not redirect: the boot server answers.
    bed.write_http('hosted', b'from the boot server')
    r = bed.curl('-H', 'Host: %s:%d' % (bridge.CLUSTER_IP,
                                        bridge.FOREIGN_PORT),
                 bridge.PROXY + '/hosted')
    assert r.stdout == 'from the boot server'
    assert bed.requests_seen(bed.foreign_log) == []
    assert len(bed.requests_seen(bed.boot_log)) == seen_boot + 1


def test_body_limit_on_api_paths(bed):
    big = bed.lab.path('big-body')
    with open(big, 'wb') as f:
        f.write(b'x' * 70000)
    before = len(bed.requests_seen(bed.api_log))
    assert _status(bed, '-X', 'POST', '--data-binary', '@' + big,
                   bridge.PROXY + '/v1/continue_inspection') == 413
    assert _status(bed, '-X', 'POST', '-H', 'Transfer-Encoding: chunked',
                   '--data-binary', '@' + big,
                   bridge.PROXY + '/v1/continue_inspection') == 413
    assert len(bed.requests_seen(bed.api_log)) == before
    assert _status(bed, '-X', 'POST', '-d', 'x',
                   bridge.PROXY + '/boot.ipxe') == 405


def test_upstream_down_is_502(bed):
    """An unreachable upstream answers 502 (or 504 on a connect timeout)."""
    from tests.fixtures import netns
    ns = bed.lab.namespace('badup')
    ns.attach(bed.prov, 'prov0', '172.22.0.4/24')
    ns.attach(bed.clus, 'clus0', '10.99.0.4/24')
    opts = bridge.agent_opts(bed.lab.tmpdir, server_address='172.22.0.4',
                             tftp_enabled='false',
                             ironic_http_url='http://10.99.0.1:1',
                             ironic_api_url='http://10.99.0.77:6385',
                             http_connect_timeout=1)
    agent = netns.start_agent(bed.lab, ns, opts, bridge.HOSTS,
                              name='agent-badup')
    try:
        bridge.wait_port(bed.client, '172.22.0.4', 8080)
        assert _status(bed, 'http://172.22.0.4:8080/boot.ipxe') == 502
        assert _status(bed, 'http://172.22.0.4:8080/v1') in (502, 504)
    finally:
        agent.stop()
