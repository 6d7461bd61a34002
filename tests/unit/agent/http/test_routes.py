"""Unit tests of the HTTP proxy's routing and header rules."""

import pytest

from vmetal_ironic.agent.http import routes

UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'


@pytest.mark.parametrize('method,target', [
    ('GET', '/'), ('GET', '/v1'), ('GET', '/v1/'), ('HEAD', '/v1'),
    ('GET', '/v1/lookup?addresses=52:54:00:12:34:56&node_uuid=' + UUID),
    ('POST', '/v1/heartbeat/' + UUID),
    ('POST', '/v1/heartbeat/node-1.rack_2~x'),
    ('POST', '/v1/continue_inspection'),
])
def test_api_allow_list(method, target):
    assert routes.route(method, target) == routes.Route(routes.API, target)


@pytest.mark.parametrize('target', [
    '/v1/nodes', '/v1/nodes/' + UUID, '/v1/ports', '/v1/heartbeat',
    '/v1/heartbeat/a/b', '/v1/lookupx', '/v1/drivers', '/v12',
    '/v1/heartbeat/' + UUID + '/x',
])
def test_other_api_paths_are_forbidden(target):
    method = 'POST' if 'heartbeat' in target else 'GET'
    decision = routes.route(method, target)
    if target == '/v12':
        # Not an API path at all: it belongs to the boot server.
        assert decision == routes.Route(routes.BOOT, target)
    else:
        assert decision.status == 403


@pytest.mark.parametrize('method,target', [
    ('DELETE', '/v1/lookup'), ('POST', '/v1'), ('GET', '/v1/heartbeat/x'),
    ('PUT', '/v1/continue_inspection'), ('POST', '/boot.ipxe'),
    ('PUT', '/images/x'), ('DELETE', '/boot.ipxe'),
])
def test_methods(method, target):
    assert routes.route(method, target).status == 405


@pytest.mark.parametrize('target', [
    '/boot.ipxe', '/52:54:00:12:34:56.conf',
    '/' + UUID + '/config', '/images/deploy_kernel?x=1', '/v1x/file',
])
def test_boot_server_paths(target):
    assert routes.route('GET', target) == routes.Route(routes.BOOT, target)
    assert routes.route('HEAD', target) == routes.Route(routes.BOOT, target)


@pytest.mark.parametrize('method,target,status', [
    ('GET', 'http://evil.example/boot.ipxe', 400),
    ('GET', 'http://10.99.0.1:6385/v1/nodes', 400),
    ('GET', '*', 400),
    ('CONNECT', 'evil.example:443', 405),
    ('GET', '/../etc/passwd', 400),
    ('GET', '/a/%2e%2e/%2E%2E/etc/passwd', 400),
    ('GET', '/v1/%2e%2e/nodes', 400),
    ('GET', '/a/./b', 400),
    ('GET', '/a%00b', 400),
    ('GET', '/a%5c..%5cb', 400),
    ('GET', '/a%0d%0aX-Injected:%201', 400),
])
def test_refused_targets(method, target, status):
    assert routes.route(method, target).status == status


def test_unconfigured_upstreams():
    assert routes.route('GET', '/v1/lookup', api_configured=False).status \
        == 404
    assert routes.route('GET', '/boot.ipxe', boot_configured=False).status \
        == 404
    # Forbidden API paths stay forbidden (403) either way.
    assert routes.route('GET', '/v1/nodes', api_configured=False).status \
        == 403


def test_parse_upstream():
    up = routes.parse_upstream('http://10.99.0.1:8088/httpboot/')
    assert (up.scheme, up.host, up.port, up.base) == (
        'http', '10.99.0.1', 8088, '/httpboot')
    assert up.netloc == '10.99.0.1:8088'
    assert routes.upstream_target(up, '/boot.ipxe') == \
        '/httpboot/boot.ipxe'
    up = routes.parse_upstream('https://ironic.example')
    assert (up.port, up.netloc, up.base) == (443, 'ironic.example', '')
    assert routes.parse_upstream('http://[fd00::1]:6385').netloc == \
        '[fd00::1]:6385'
    for bad in ('ftp://x', 'http://', '10.0.0.1:80', 'http://x/?a=1'):
        with pytest.raises(ValueError):
            routes.parse_upstream(bad)


def test_request_headers():
    up = routes.parse_upstream('http://10.99.0.1:6385')
    incoming = [('Host', 'evil.example'), ('User-Agent', 'iPXE/1.21'),
                ('Connection', 'keep-alive, X-Secret'), ('X-Secret', '1'),
                ('Keep-Alive', '5'), ('Proxy-Authorization', 'x'),
                ('X-Forwarded-For', '6.6.6.6'), ('Content-Length', '3'),
                ('Range', 'bytes=0-9'), ('Transfer-Encoding', 'chunked'),
                ('Forwarded', 'for=6.6.6.6')]
    out = routes.request_headers(incoming, '172.22.0.53', up)
    assert out[0] == ('Host', '10.99.0.1:6385')
    names = [n.lower() for n, _ in out]
    for gone in ('connection', 'x-secret', 'keep-alive', 'content-length',
                 'proxy-authorization', 'transfer-encoding', 'forwarded'):
        assert gone not in names
    assert ('Range', 'bytes=0-9') in out
    assert ('User-Agent', 'iPXE/1.21') in out
    assert ('X-Forwarded-For', '172.22.0.53') in out
    assert names.count('x-forwarded-for') == 1
    assert names.count('host') == 1
    assert ('X-Forwarded-Host', 'evil.example') in out


def test_request_headers_drop_odd_host():
    up = routes.parse_upstream('http://10.99.0.1')
    out = routes.request_headers([('Host', 'a b\r\nX: y')], '1.2.3.4', up)
    assert 'x-forwarded-host' not in [n.lower() for n, _ in out]
    assert out[0] == ('Host', '10.99.0.1')


def test_response_headers():
    out = routes.response_headers([
        ('Content-Length', '10'), ('Content-Range', 'bytes 0-9/100'),
        ('Transfer-Encoding', 'chunked'), ('Connection', 'close, X-Hop'),
        ('X-Hop', 'a'), ('ETag', '"x"'), ('Keep-Alive', 'timeout=5')])
    assert out == [('Content-Length', '10'),
                   ('Content-Range', 'bytes 0-9/100'), ('ETag', '"x"')]
