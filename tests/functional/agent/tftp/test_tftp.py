"""The agent's TFTP server with real clients, in network namespaces.

The clients are tftp-hpa, atftp, curl and a raw probe (tftp_probe.py).
"""

import hashlib
import os
import subprocess

from tests.fixtures import bridge_bed as bridge
from tests.fixtures import netns


def _sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _root_sha(bed, name):
    return _sha(os.path.join(bed.tftp_root, name))


def test_tftp_hpa_default_blocksize(bed):
    out = bed.lab.path('hpa-undionly')
    bed.client.run('tftp', '-m', 'binary', bridge.SERVER, '-c', 'get',
                   'undionly.kpxe', out)
    assert _sha(out) == _root_sha(bed, 'undionly.kpxe')


def test_atftp_blksize_and_tsize(bed):
    # The tftp-hpa client negotiates no options; atftp does.
    out = bed.lab.path('atftp-snponly')
    mark = bed.agent.mark()
    bed.client.run('atftp', '--option', 'blksize 1468', '--option',
                   'tsize 0', '-g', '-r', 'snponly.efi', '-l', out,
                   bridge.SERVER)
    assert _sha(out) == _root_sha(bed, 'snponly.efi')
    size = os.path.getsize(out)
    assert bed.agent.wait_log('TFTP sent snponly.efi (%d bytes, blksize 1468'
                              % size, since=mark)


def test_atftp_windowsize(bed):
    out = bed.lab.path('atftp-big')
    bed.client.run('atftp', '--option', 'blksize 1468', '--option',
                   'windowsize 8', '--option', 'tsize 0', '-g', '-r',
                   'big.bin', '-l', out, bridge.SERVER)
    assert _sha(out) == _root_sha(bed, 'big.bin')


def test_curl_with_and_without_blksize(bed):
    for extra in ([], ['--tftp-blksize', '1468']):
        out = bed.lab.path('curl-%d' % len(extra))
        bed.curl(*extra, '-o', out, 'tftp://%s/ipxe.efi' % bridge.SERVER)
        assert _sha(out) == _root_sha(bed, 'ipxe.efi')


def test_options_are_acknowledged(bed):
    res = bridge.probe(bed.client, bridge.SERVER, 'snponly.efi',
                       options={'blksize': 1468, 'tsize': 0, 'timeout': 2,
                                'windowsize': 4})
    size = os.path.getsize(os.path.join(bed.tftp_root, 'snponly.efi'))
    assert res['oack'] == {'blksize': '1468', 'tsize': str(size),
                           'timeout': '2', 'windowsize': '4'}
    assert res['sha256'] == _root_sha(bed, 'snponly.efi')


def test_symlink_inside_root_is_served(bed):
    res = bridge.probe(bed.client, bridge.SERVER, 'alias.efi')
    assert res['sha256'] == _root_sha(bed, 'snponly.efi')


def test_lost_acks_are_retransmitted(bed):
    res = bridge.probe(bed.client, bridge.SERVER, 'undionly.kpxe',
                       options={'blksize': 1468}, drop_acks=2)
    assert res['sha256'] == _root_sha(bed, 'undionly.kpxe')


def test_traversal_is_refused_and_logged(bed):
    mark = bed.agent.mark()
    for name in ('../secret.txt', '/etc/passwd', 'escape',
                 '..\\secret.txt', 'x/../../secret.txt'):
        res = bridge.probe(bed.client, bridge.SERVER, name)
        assert res.get('error', [None])[0] == 2, (name, res)
    log = bed.agent.log(since=mark)
    assert "refused '../secret.txt'" in log
    assert "refused 'escape'" in log
    assert 'SECRET' not in log


def test_traversal_with_tftp_hpa(bed):
    out = bed.lab.path('hpa-escape')
    r = bed.client.run('tftp', '-m', 'binary', bridge.SERVER, '-c', 'get',
                       '../secret.txt', out, check=False)
    assert 'Error code 2' in r.stdout + r.stderr
    assert not os.path.exists(out) or os.path.getsize(out) == 0


def test_missing_file(bed):
    res = bridge.probe(bed.client, bridge.SERVER, 'nope.efi')
    assert res['error'][0] == 1


def test_write_is_refused(bed):
    mark = bed.agent.mark()
    res = bridge.probe(bed.client, bridge.SERVER, 'upload.bin', opcode=2)
    assert res['error'][0] == 2
    src = bed.lab.path('upload-src')
    with open(src, 'wb') as f:
        f.write(b'x' * 1000)
    r = bed.client.run('tftp', '-m', 'binary', bridge.SERVER, '-c', 'put',
                       src, 'upload.bin', check=False)
    assert 'Error code 2' in r.stdout + r.stderr
    assert not os.path.exists(os.path.join(bed.tftp_root, 'upload.bin'))
    assert 'refused a write request' in bed.agent.log(since=mark)


def test_twenty_parallel_transfers(bed):
    procs = []
    for i in range(20):
        name = ('snponly.efi', 'undionly.kpxe', 'big.bin')[i % 3]
        out = bed.lab.path('par-%d' % i)
        procs.append((name, out, subprocess.Popen(
            bed.client.cmd('curl', '-sS', '--max-time', '60',
                           '--tftp-blksize', '1468', '-o', out,
                           'tftp://%s/%s' % (bridge.SERVER, name)))))
    for name, out, p in procs:
        assert p.wait(timeout=90) == 0, name
    for name, out, _ in procs:
        assert _sha(out) == _root_sha(bed, name), out


def test_tftp_can_be_turned_off(bed):
    """A second agent with tftp_enabled = false opens no port 69."""
    ns = bed.lab.namespace('notftp')
    ns.attach(bed.prov, 'prov0', '172.22.0.3/24')
    opts = bridge.agent_opts(bed.lab.tmpdir, server_address='172.22.0.3',
                             tftp_enabled='false',
                             http_proxy_enabled='false')
    agent = netns.start_agent(bed.lab, ns, opts, bridge.HOSTS,
                              name='agent-notftp')
    try:
        listening = ns.run('ss', '-Huln').stdout
        assert ':67 ' in listening
        assert ':69 ' not in listening
        assert ':8080 ' not in ns.run('ss', '-Htln').stdout
        r = bed.client.run('curl', '-sS', '--max-time', '4', '-o',
                           '/dev/null', 'tftp://172.22.0.3/snponly.efi',
                           check=False)
        assert r.returncode != 0
        assert 'TFTP is off' in agent.log()
    finally:
        agent.stop()
