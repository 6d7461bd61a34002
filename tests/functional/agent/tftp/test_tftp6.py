"""The agent's TFTP server over IPv6 with real clients, in namespaces.

The agent serves TFTP on fd00:22::2 (``server_address6``) beside
172.22.0.2; the clients are tftp-hpa (``-6``), atftp, curl and the raw
probe, the same as over IPv4 (test_tftp.py).
"""

import os

from tests.fixtures import bridge_bed as bridge
from tests.fixtures import netns
from tests.functional.agent.tftp.test_tftp import _root_sha
from tests.functional.agent.tftp.test_tftp import _sha

SERVER6 = bridge.SERVER6


def test_listening_on_both_families_bound_to_the_device(bed):
    udp = bed.agent_ns.run('ss', '-Huln').stdout
    assert '[%s]%%prov0:69' % SERVER6 in udp, udp
    assert '%s%%prov0:69' % bridge.SERVER in udp, udp


def test_tftp_hpa_over_ipv6(bed):
    out = bed.lab.path('hpa6-undionly')
    mark = bed.agent.mark()
    bed.client.run('tftp', '-6', '-m', 'binary', SERVER6, '-c', 'get',
                   'undionly.kpxe', out)
    assert _sha(out) == _root_sha(bed, 'undionly.kpxe')
    # the transfer came from the client's IPv6 address
    assert bed.agent.wait_log('TFTP sent undionly.kpxe', since=mark)
    assert bridge.CLIENT6 in bed.agent.log(since=mark)


def test_atftp_over_ipv6_with_options(bed):
    out = bed.lab.path('atftp6-big')
    bed.client.run('atftp', '--option', 'blksize 1428', '--option',
                   'windowsize 8', '--option', 'tsize 0', '-g', '-r',
                   'big.bin', '-l', out, SERVER6)
    assert _sha(out) == _root_sha(bed, 'big.bin')


def test_curl_tftp_url_with_brackets(bed):
    out = bed.lab.path('curl6-snponly')
    bed.curl('-g', '--tftp-blksize', '1428', '-o', out,
             'tftp://[%s]/snponly.efi' % SERVER6)
    assert _sha(out) == _root_sha(bed, 'snponly.efi')


def test_options_and_lost_acks_over_ipv6(bed):
    res = bridge.probe(bed.client, SERVER6, 'snponly.efi',
                       options={'blksize': 1428, 'tsize': 0, 'timeout': 2,
                                'windowsize': 4}, drop_acks=2)
    size = os.path.getsize(os.path.join(bed.tftp_root, 'snponly.efi'))
    assert res['oack'] == {'blksize': '1428', 'tsize': str(size),
                           'timeout': '2', 'windowsize': '4'}
    assert res['sha256'] == _root_sha(bed, 'snponly.efi')


def test_refusals_over_ipv6_are_the_ipv4_ones(bed):
    mark = bed.agent.mark()
    for server in (bridge.SERVER, SERVER6):
        for name in ('../secret.txt', '/etc/passwd', 'escape'):
            res = bridge.probe(bed.client, server, name)
            assert res.get('error', [None])[0] == 2, (server, name, res)
        assert bridge.probe(bed.client, server, 'nope.efi')['error'][0] == 1
        res = bridge.probe(bed.client, server, 'up.bin', opcode=2)
        assert res['error'][0] == 2
        res = bridge.probe(bed.client, server, 'x', mode='mail')
        assert res['error'][0] == 4
    log = bed.agent.log(since=mark)
    assert 'SECRET' not in log
    assert "refused '../secret.txt'" in log


def test_garbage_over_ipv6_is_dropped_and_the_server_lives(bed):
    code = ('import socket, sys\n'
            's = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n'
            'for junk in (b"", b"\\x00", b"\\x00\\x04\\x00\\x01", '
            'b"\\xff" * 600, b"\\x00\\x03data", b"\\x00\\x01x" * 300):\n'
            '    s.sendto(junk, (sys.argv[1], 69))\n')
    bed.client.run(netns.PYTHON, '-c', code, SERVER6)
    res = bridge.probe(bed.client, SERVER6, 'undionly.kpxe')
    assert res['sha256'] == _root_sha(bed, 'undionly.kpxe')
    assert bed.agent.running()
