"""The heartbeat check and rewrite, and the listener's target split."""

import json

import pytest

from vmetal_ironic.agent.http import heartbeat as hb

SECRET = b's' * 32
NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'
OTHER = '2be26c0b-03f2-4d2e-ae87-c02d7f33c124'
MAC = bytes.fromhex('525400aa0001')
BASE = 'https://10.0.0.2:8081/ramdisk'
CA = '-----BEGIN CERTIFICATE-----\nAGENT\n-----END CERTIFICATE-----\n'
RESERVED = {'172.22.0.61': (MAC, NODE), '172.22.0.62': (MAC, OTHER)}


def _rewrite(doc, source='172.22.0.61', node=NODE, query='',
             content_type='application/json', raw=None):
    body = raw if raw is not None else json.dumps(doc).encode()
    return hb.rewrite('/v1/heartbeat/%s' % node, query, content_type, body,
                      source, RESERVED.get, SECRET, BASE, CA)


def test_callback_url_is_rewritten_to_a_stable_listener_url():
    doc = {'callback_url': 'http://172.22.0.61:9999', 'agent_token': 't',
           'agent_version': '10.0.0'}
    first = _rewrite(doc)
    assert isinstance(first, hb.Rewritten)
    out = json.loads(first.body)
    assert out['callback_url'] == BASE + '/' + first.ramdisk_id
    assert out['agent_verify_ca'] == CA
    assert (out['agent_token'], out['agent_version']) == ('t', '10.0.0')
    assert first.target == hb.Target(NODE, '172.22.0.61', 9999, 'http', MAC)
    again = _rewrite(dict(doc, agent_token='t'))
    assert again.ramdisk_id == first.ramdisk_id
    assert json.loads(again.body)['callback_url'] == out['callback_url']


def test_id_depends_on_node_address_port_scheme_and_secret():
    ids = {hb.ramdisk_id(SECRET, NODE, '172.22.0.61', 9999, 'http'),
           hb.ramdisk_id(SECRET, OTHER, '172.22.0.61', 9999, 'http'),
           hb.ramdisk_id(SECRET, NODE, '172.22.0.62', 9999, 'http'),
           hb.ramdisk_id(SECRET, NODE, '172.22.0.61', 9998, 'http'),
           hb.ramdisk_id(SECRET, NODE, '172.22.0.61', 9999, 'https'),
           hb.ramdisk_id(b't' * 32, NODE, '172.22.0.61', 9999, 'http')}
    assert len(ids) == 6
    assert all(len(i) == 26 and i.isalnum() and i.islower() for i in ids)


def test_https_ramdisk_certificate_is_pinned_and_replaced():
    pem = '-----BEGIN CERTIFICATE-----\nRAMDISK\n-----END CERTIFICATE-----\n'
    r = _rewrite({'callback_url': 'https://172.22.0.61:9999',
                  'agent_verify_ca': pem})
    assert r.target.scheme == 'https'
    assert r.target.pinned_pem == pem
    assert json.loads(r.body)['agent_verify_ca'] == CA


def test_plain_ramdisk_gets_the_agent_ca_too():
    # The listener serves TLS for every ramdisk, so require_tls works.
    r = _rewrite({'callback_url': 'http://172.22.0.61:9999',
                  'agent_verify_ca': 'ignored for http'})
    assert r.target.pinned_pem is None
    assert json.loads(r.body)['agent_verify_ca'] == CA


def test_empty_callback_url_passes_unchanged():
    assert isinstance(_rewrite({'callback_url': ''}), hb.Unchanged)


def test_node_uuid_spellings():
    assert hb.node_uuid('/v1/heartbeat/' + NODE) == NODE
    assert hb.node_uuid('/v1/heartbeat/' + NODE.upper() + '/') == NODE
    assert hb.node_uuid('/v1/heartbeat/' + NODE.replace('-', '')) == NODE
    assert hb.node_uuid('/v1/heartbeat/node-1') is None
    assert hb.node_uuid('/v1/lookup') is None


@pytest.mark.parametrize('kwargs,status', [
    ({'source': '172.22.0.62'}, 403),       # forged: B's address, A's node
    ({'source': '172.22.0.99'}, 403),       # not a reservation
    ({'node': 'node-name'}, 403),           # cannot attribute a name
    ({'query': 'callback_url=http://x'}, 400),
    ({'content_type': 'application/x-www-form-urlencoded'}, 400),
    ({'raw': b'[1, 2]'}, 400),
    ({'raw': b'{"callback_url": "a", "callback_url": "b"}'}, 400),
    ({'raw': b'\xff\xfe'}, 400),
    ({'raw': b'{not json'}, 400),
])
def test_refusals(kwargs, status):
    doc = {'callback_url': 'http://%s:9999'
           % kwargs.get('source', '172.22.0.61')}
    r = _rewrite(doc, **kwargs)
    assert isinstance(r, hb.Refused) and r.status == status, r


@pytest.mark.parametrize('url', [
    'http://172.22.0.62:9999',          # not the source address
    'http://ramdisk.example:9999',      # a name, not an address
    'ftp://172.22.0.61:9999',
    'http://u:p@172.22.0.61:9999',
    'http://172.22.0.61:9999/other',
    'http://172.22.0.61:9999/?x=1',
    'http://172.22.0.61:99999',
    'http:///nohost',
])
def test_bad_callback_urls_are_refused(url):
    r = _rewrite({'callback_url': url})
    assert isinstance(r, hb.Refused) and r.status == 403, (url, r)


def test_non_string_fields_are_refused():
    assert _rewrite({'callback_url': 5}).status == 400
    assert _rewrite({'callback_url': 'https://172.22.0.61:9999',
                     'agent_verify_ca': 7}).status == 400


def test_default_ports():
    assert hb.parse_callback('https://172.22.0.61') == (
        'https', '172.22.0.61', 443)
    assert hb.parse_callback('http://[fd00::1]:9999/') == (
        'http', 'fd00::1', 9999)


def test_split_target():
    rid = hb.ramdisk_id(SECRET, NODE, '172.22.0.61', 9999, 'http')
    assert hb.split_target('/ramdisk/%s/v1/commands/?wait=true' % rid) == (
        rid, '/v1/commands/?wait=true')
    assert hb.split_target('/ramdisk/%s' % rid) == (rid, '/')
    assert hb.split_target('/ramdisk/%s?x' % rid) == (rid, '/?x')
    for bad in ('/ramdisk/', '/ramdisk/%sX/v1' % rid, '/ramdisk/short/v1',
                '/other/%s/v1' % rid, '/ramdisk/%s' % rid.upper()):
        assert hb.split_target(bad) is None, bad


def test_callback_base():
    assert hb.callback_base('10.0.0.2', 8081) == \
        'https://10.0.0.2:8081/ramdisk'
    assert hb.callback_base('fd00::2', 8081) == \
        'https://[fd00::2]:8081/ramdisk'
