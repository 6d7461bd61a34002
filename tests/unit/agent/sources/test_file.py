"""Reservations file: format, validation, reload."""

import json

import pytest

from tests.fixtures import agent_packets as helpers
from vmetal_ironic.agent.sources import file as file_source
from vmetal_ironic.agent.sources import reservations
from vmetal_ironic import exception

DOC = {'defaults': {'prefix': 24, 'gateway': '172.22.0.1',
                    'dns_servers': ['172.22.0.53'], 'domain': 'prov.example',
                    'lease_time': 1800,
                    'ipxe_script_url': 'http://172.22.0.2:8080/boot.ipxe'},
       'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.50',
                  'hostname': 'node-1'},
                 {'mac': '52:54:00:00:00:02', 'ip': '172.22.0.51',
                  'netmask': '255.255.0.0', 'mtu': 9000,
                  'uefi_bootfile': 'ipxe.efi', 'client_id': '01:02:03'},
                 {'mac': '52-54-00-00-00-03', 'ip': '10.1.0.5',
                  'gateway': '10.1.0.1', 'lease_time': 600}]}


def write(tmp_path, doc):
    p = tmp_path / 'reservations.json'
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(p)


def load(tmp_path, doc):
    return file_source.read_file(write(tmp_path, doc), 3600,
                                 helpers.BOOT_DEFAULTS,
                                 reservations.Interner())


def test_valid_file(tmp_path):
    h1, h2, h3 = load(tmp_path, DOC).values()
    assert h1.address == '172.22.0.50'
    assert h1.hostname_opt == b'\x0c\x06node-1'
    assert h1.net.netmask == bytes([255, 255, 255, 0])
    assert h1.net.router == bytes([172, 22, 0, 1])
    assert h1.net.lease_time == 1800
    assert h1.boot.ipxe_script_url == 'http://172.22.0.2:8080/boot.ipxe'
    assert h1.boot.bios_bootfile == 'undionly.kpxe'    # agent default
    assert h2.net.prefixlen == 16 and h2.net.mtu == 9000
    assert h2.boot.uefi_bootfile == 'ipxe.efi'
    assert h2.client_id == b'\x01\x02\x03'
    assert h3.mac == bytes.fromhex('525400000003')
    assert h3.net.lease_time == 600 and h3.net.contains(bytes([10, 1, 0, 9]))
    assert not h3.net.contains(bytes([172, 22, 0, 9]))


def test_hosts_share_interned_objects(tmp_path):
    doc = {'defaults': {'prefix': 24},
           'hosts': [{'mac': '52:54:00:00:00:%02x' % i,
                      'ip': '172.22.0.%d' % (10 + i)} for i in range(50)]}
    hosts = load(tmp_path, doc).values()
    assert len({id(h.net) for h in hosts}) == 1
    assert len({id(h.boot) for h in hosts}) == 1


@pytest.mark.parametrize('doc,message', [
    ('{not json', 'not valid JSON'),
    ([], 'not a JSON object'),
    ({'hosts': {}}, '"hosts" is missing or not a list'),
    ({'defaults': {'prefix': 24}, 'hosts': [], 'extra': 1},
     'unknown top-level keys: extra'),
    ({'defaults': {'prefix': 24, 'colour': 1}, 'hosts': []},
     'defaults: unknown fields colour'),
    ({'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.5'}]},
     'hosts\\[0\\].*neither prefix nor netmask'),
    ({'defaults': {'prefix': 24},
      'hosts': [{'mac': 'zz', 'ip': '172.22.0.5'}]},
     "hosts\\[0\\].*mac: 'zz' is not a MAC"),
    ({'defaults': {'prefix': 24},
      'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.500'}]},
     "ip: '172.22.0.500' is not an IPv4"),
    ({'defaults': {'prefix': 24},
      'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.5'},
                {'mac': '52:54:00:00:00:01', 'ip': '172.22.0.6'}]},
     'hosts\\[1\\].*already reserved by an earlier host'),
    ({'defaults': {'prefix': 24, 'lease_time': 'long'},
      'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.5'}]},
     "lease_time: 'long'"),
    ({'defaults': {'prefix': 24, 'tftp_server': 'tftp.example'},
      'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.5'}]},
     'tftp_server'),
    ({'defaults': {'prefix': 24},
      'hosts': [{'mac': '52:54:00:00:00:01', 'ip': '172.22.0.5',
                 'routes': [{'destination': 'x', 'gateway': '1.1.1.1'}]}]},
     'routes: destination'),
    ({'defaults': {'netmask': '255.0.255.0'}, 'hosts': [
        {'mac': '52:54:00:00:00:01', 'ip': '172.22.0.5'}]}, 'netmask'),
])
def test_invalid_files(tmp_path, doc, message):
    with pytest.raises(exception.ReservationFileError, match=message):
        load(tmp_path, doc)


def test_missing_file(tmp_path):
    with pytest.raises(exception.ReservationFileError, match='nope.json'):
        file_source.read_file(str(tmp_path / 'nope.json'), 3600, {},
                              reservations.Interner())


def test_source_start_and_reload_keeps_previous_on_error(tmp_path):
    path = write(tmp_path, DOC)
    table = reservations.Table()
    src = file_source.FileSource(table, path, 3600, helpers.BOOT_DEFAULTS)
    src.start()
    assert len(table) == 3
    doc = dict(DOC, hosts=DOC['hosts'][:1])
    write(tmp_path, doc)
    assert src.reload()
    assert len(table) == 1
    write(tmp_path, '{"hosts": [broken')
    assert not src.reload()
    assert len(table) == 1
    assert table.by_mac[bytes.fromhex('525400000001')].address == \
        '172.22.0.50'


def test_invalid_file_at_start_raises(tmp_path):
    path = write(tmp_path, {'hosts': 3})
    src = file_source.FileSource(reservations.Table(), path, 3600, {})
    with pytest.raises(exception.ReservationFileError, match='hosts'):
        src.start()


def test_reload_reuses_unchanged_hosts(tmp_path):
    path = write(tmp_path, DOC)
    table = reservations.Table()
    src = file_source.FileSource(table, path, 3600, helpers.BOOT_DEFAULTS)
    src.start()
    before = dict(table.by_mac)
    doc = json.loads(json.dumps(DOC))
    doc['hosts'][0]['ip'] = '172.22.0.60'
    write(tmp_path, doc)
    assert src.reload()
    m1, m2, m3 = list(before)
    assert table.by_mac[m1] is not before[m1]
    assert table.by_mac[m1].address == '172.22.0.60'
    assert table.by_mac[m2] is before[m2]
    assert table.by_mac[m3] is before[m3]


def test_compact_entries_match_full_entries():
    compact = file_source._compact_hook([('mac', '52:54:00:00:00:01'),
                                         ('ip', '172.22.0.5'),
                                         ('hostname', 'n1')])
    assert compact == (bytes.fromhex('525400000001ac160005'), 'n1')
    # anything unusual stays a dict, validated with a clear message later
    for pairs in ([('mac', 'zz'), ('ip', '172.22.0.5')],
                  [('mac', '52:54:00:00:00:01'), ('ip', '1.2.3.4'),
                   ('mtu', 1500)],
                  [('mac', '52:54:00:00:00:01'), ('ip', '1.2.3.4'),
                   ('hostname', 5)]):
        assert isinstance(file_source._compact_hook(pairs), dict)
