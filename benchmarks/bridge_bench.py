#!/usr/bin/env python3
"""Benchmark of the agent's bridge: TFTP server and HTTP proxy.

Everything runs on the loopback interface of this machine, side by side
with references in the same run:

* TFTP: ``snponly.efi`` fetched by curl (blksize 1468, as PXE firmware
  asks) once and by 20 concurrent transfers, from the agent's server and
  from tftpd-hpa (``in.tftpd``, the reference, "without the agent"); with
  ``--libraries DIR`` also from the PyPI libraries tftpy, py3tftp and fbtftp
  installed in DIR (``pip install --target DIR tftpy py3tftp fbtftp``).
* HTTP: a 1 GB sparse file fetched by curl directly from a stand-in Ironic
  HTTP server (sendfile(2), as nginx) and through the agent's proxy, on
  loopback and (as root) across two segments in network namespaces, where
  "direct" goes through a kernel router instead of the agent; the proxy's
  RSS before and after (and its peak) and CPU time are recorded.

Results are printed as a Markdown table with ratios to the reference.

Usage::

    .venv/bin/python benchmarks/bridge_bench.py [--rounds 3]
        [--libraries /tmp/libs] [--size-mb 1024]
    # the proxy's body paths side by side (root), one command:
    .venv/bin/python benchmarks/bridge_bench.py --variants \\
        [--base /tmp/base] [--concurrent 20]
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SNPONLY = '/usr/lib/ipxe/snponly.efi'
BLKSIZE = 1468


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- servers

def serve_tftp(kind, root, port, libs):
    """Run one TFTP server in the foreground (a child process)."""
    if libs:
        sys.path.insert(0, libs)
    if kind == 'vmetal':
        from vmetal_ironic.agent.tftp import server as tftp
        server = tftp.TftpServer(root, '127.0.0.1', port)
        server.start()
        signal.sigwait([signal.SIGTERM])
    elif kind == 'tftpy':
        import logging
        import tftpy
        logging.getLogger('tftpy').setLevel(logging.WARNING)
        tftpy.TftpServer(root).listen('127.0.0.1', port)
    elif kind == 'py3tftp':
        import asyncio
        from py3tftp import protocols
        os.chdir(root)  # py3tftp serves its working directory
        loop = asyncio.new_event_loop()
        timeouts = {b'timeout': 0.5, b'conn_timeout': 3.0}
        loop.run_until_complete(loop.create_datagram_endpoint(
            lambda: protocols.TFTPServerProtocol('127.0.0.1', loop,
                                                 timeouts),
            local_addr=('127.0.0.1', port)))
        loop.run_forever()
    elif kind == 'fbtftp':
        from fbtftp import base_handler
        from fbtftp import base_server

        class FileData(base_handler.ResponseData):
            def __init__(self, path):
                self._f = open(path, 'rb')
                self._size = os.fstat(self._f.fileno()).st_size

            def read(self, n):
                return self._f.read(n)

            def size(self):
                return self._size

            def close(self):
                self._f.close()

        class Handler(base_handler.BaseHandler):
            def get_response_data(self):
                return FileData(os.path.join(root, self._path))

        class Server(base_server.BaseServer):
            def get_handler(self, addr, peer, path, options):
                return Handler(addr, peer, path, options, lambda s: None)

        Server('127.0.0.1', port, 3, 2).run()
    else:
        raise SystemExit('unknown server %s' % kind)


def start_tftp(kind, root, libs):
    port = free_port()
    if kind == 'tftpd-hpa':
        cmd = ['/usr/sbin/in.tftpd', '-L',
               '-s', root, '-a', '127.0.0.1:%d' % port]
    else:
        cmd = [sys.executable, __file__, '--serve-tftp', kind, root,
               str(port), libs or '']
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc, port


def stop(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tftp_run(port, parallel, repeat, size):
    """Wall time of ``parallel`` curl processes fetching ``repeat`` times."""
    url = 'tftp://127.0.0.1:%d/snponly.efi' % port
    args = ['curl', '-s', '-m', '60', '--tftp-blksize', str(BLKSIZE)]
    for _ in range(repeat):
        args += ['-o', '/dev/null', url]
    begin = time.monotonic()
    procs = [subprocess.Popen(args) for _ in range(parallel)]
    failed = sum(1 for p in procs if p.wait() != 0)
    elapsed = time.monotonic() - begin
    return parallel * repeat * size / elapsed / 1e6, failed


def bench_tftp(kinds, rounds, libs):
    """Best rate of each server over ``rounds``.

    Rounds interleave the servers, so that load from other processes on
    the machine hits them alike.
    """
    root = tempfile.mkdtemp(prefix='bridge-bench-')
    os.chmod(root, 0o755)   # in.tftpd drops to an unprivileged user
    shutil.copy(SNPONLY, root)
    os.chmod(os.path.join(root, 'snponly.efi'), 0o644)
    size = os.path.getsize(SNPONLY)
    servers = {}
    best = dict((k, [0.0, 0.0, 0]) for k in kinds)
    try:
        for kind in kinds:
            servers[kind] = start_tftp(kind, root, libs)
        for _ in range(rounds):
            for kind in kinds:
                proc, port = servers[kind]
                if proc.poll() is not None:
                    continue
                one, f1 = tftp_run(port, 1, 20, size)
                many, f2 = tftp_run(port, 20, 3, size)
                row = best[kind]
                row[0], row[1] = max(row[0], one), max(row[1], many)
                row[2] += f1 + f2
    finally:
        for proc, _ in servers.values():
            stop(proc)
        shutil.rmtree(root)
    rows = []
    for kind in kinds:
        one, many, fails = best[kind]
        if not one:
            rows.append((kind, None, None, 'did not run'))
        else:
            rows.append((kind, one, many,
                         '%d transfers failed' % fails if fails else ''))
    return rows


def bench_windowsize(rounds, size_mb=8):
    """atftp fetching a large file from the agent: lock-step vs windows."""
    root = tempfile.mkdtemp(prefix='bridge-bench-')
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        f.write(os.urandom(size_mb * 1024 * 1024))
    proc, port = start_tftp('vmetal', root, None)
    rates = {}
    try:
        for _ in range(rounds):
            for window in (1, 8, 32):
                args = ['atftp', '--option', 'blksize 1468', '-g', '-r',
                        'big.bin', '-l', '/dev/null', '127.0.0.1',
                        str(port)]
                if window > 1:
                    args[1:1] = ['--option', 'windowsize %d' % window]
                begin = time.monotonic()
                subprocess.run(args, check=True, timeout=120,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                rate = size_mb * 1024 * 1024 / (
                    time.monotonic() - begin) / 1e6
                rates[window] = max(rates.get(window, 0), rate)
    finally:
        stop(proc)
        shutil.rmtree(root)
    return rates


# ---------------------------------------------------------------- HTTP

def serve_proxy(upstream_url, address, port, path='splice'):
    """Run the agent's HTTP proxy in the foreground (a child process).

    :param path: ``splice`` (zero-copy bodies) or ``copy`` (the fallback
        copy loop for every body).
    """
    from vmetal_ironic.agent.http import server as http_proxy
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    proxy = http_proxy.HttpProxy(address, int(port), http_url=upstream_url,
                                 zero_copy=path != 'copy')
    proxy.start()
    signal.sigwait([signal.SIGTERM])
    proxy.stop()


def rss_kb(pid, field='VmRSS'):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def curl_rate(url, prefix=()):
    out = subprocess.run(
        list(prefix) + ['curl', '-s', '-m', '300', '-o', '/dev/null', '-w',
                        '%{speed_download} %{size_download}', url],
        capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]) / 1e6, int(out[1])


def measure_http(direct_url, proxy_url, proxy_pid, rounds, size,
                 prefix=()):
    """Interleaved curl rounds, direct and through the proxy."""
    time.sleep(1.5)
    rss_before = rss_kb(proxy_pid)
    cpu_before = cpu_seconds(proxy_pid)
    direct, proxied = [], []
    for _ in range(rounds):
        direct.append(curl_rate(direct_url, prefix)[0])
        rate, got = curl_rate(proxy_url, prefix)
        if got != size:
            raise SystemExit('proxy returned %d bytes' % got)
        proxied.append(rate)
    cpu = (cpu_seconds(proxy_pid) - cpu_before) / rounds / (size / 2 ** 30)
    return {'direct': max(direct), 'proxy': max(proxied),
            'rss_before': rss_before, 'rss_after': rss_kb(proxy_pid),
            'peak': rss_kb(proxy_pid, 'VmHWM'), 'cpu': cpu}


def sparse_root(size, small=100 * 1024 * 1024):
    """image.raw of ``size`` bytes and small.raw of ``small`` (sparse)."""
    root = tempfile.mkdtemp(prefix='bridge-bench-')
    os.chmod(root, 0o755)
    for name, length in (('image.raw', size), ('small.raw', small)):
        with open(os.path.join(root, name), 'wb') as f:
            f.truncate(length)
        os.chmod(os.path.join(root, name), 0o644)
    return root


def concurrent_rate(url, count, size, prefix=()):
    """MB/s of ``count`` curl downloads of ``url`` at once (all of them)."""
    args = list(prefix) + ['curl', '-s', '-m', '300', '-o', '/dev/null',
                           '-w', '%{size_download}', url]
    begin = time.monotonic()
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
             for _ in range(count)]
    sizes = [int(p.communicate()[0] or 0) for p in procs]
    elapsed = time.monotonic() - begin
    if sizes != [size] * count:
        raise SystemExit('concurrent transfers returned %r bytes' % sizes)
    return count * size / elapsed / 1e6


def measure_variants(direct_url, proxies, rounds, size, prefix=(),
                     concurrent=0, small=100 * 1024 * 1024):
    """Direct and every proxy variant, interleaved round by round.

    :param proxies: name -> (URL of image.raw through it, PID).
    :returns: name -> {rate, cpu (s per GB), rss_before, rss_after, peak,
        and with ``concurrent`` many, many_cpu}; 'direct' -> {rate, many}.
    """
    time.sleep(1.5)
    res = {'direct': {'rate': 0.0, 'many': 0.0}}
    for name, (_, pid) in proxies.items():
        res[name] = {'rate': 0.0, 'cpu_s': 0.0, 'rss_before': rss_kb(pid),
                     'many': 0.0, 'many_cpu_s': 0.0}
    small_url = direct_url.replace('image.raw', 'small.raw')
    for _ in range(rounds):
        res['direct']['rate'] = max(res['direct']['rate'],
                                    curl_rate(direct_url, prefix)[0])
        for name, (url, pid) in proxies.items():
            cpu = cpu_seconds(pid)
            rate, got = curl_rate(url, prefix)
            res[name]['cpu_s'] += cpu_seconds(pid) - cpu
            if got != size:
                raise SystemExit('%s returned %d bytes' % (name, got))
            res[name]['rate'] = max(res[name]['rate'], rate)
        if not concurrent:
            continue
        res['direct']['many'] = max(res['direct']['many'], concurrent_rate(
            small_url, concurrent, small, prefix))
        for name, (url, pid) in proxies.items():
            cpu = cpu_seconds(pid)
            many = concurrent_rate(url.replace('image.raw', 'small.raw'),
                                   concurrent, small, prefix)
            res[name]['many_cpu_s'] += cpu_seconds(pid) - cpu
            res[name]['many'] = max(res[name]['many'], many)
    for name, (_, pid) in proxies.items():
        r = res[name]
        r['cpu'] = r.pop('cpu_s') / rounds / (size / 2 ** 30)
        r['many_cpu'] = r.pop('many_cpu_s') / rounds / (
            concurrent * small / 2 ** 30) if concurrent else None
        r['rss_after'], r['peak'] = rss_kb(pid), rss_kb(pid, 'VmHWM')
    return res


def bench_http(rounds, size_mb):
    """Loopback: curl -> stand-in, and curl -> proxy -> stand-in."""
    from tests.fixtures import stand_in
    size = size_mb * 1024 * 1024
    root = sparse_root(size)
    up_port, px_port = free_port(socket.SOCK_STREAM), free_port(
        socket.SOCK_STREAM)
    upstream = subprocess.Popen(
        [sys.executable, stand_in.__file__, '--root', root, '--address',
         '127.0.0.1', '--port', str(up_port)])
    proxy = subprocess.Popen(
        [sys.executable, __file__, '--serve-proxy',
         'http://127.0.0.1:%d' % up_port, '127.0.0.1', str(px_port)])
    try:
        return measure_http('http://127.0.0.1:%d/image.raw' % up_port,
                            'http://127.0.0.1:%d/image.raw' % px_port,
                            proxy.pid, rounds, size)
    finally:
        stop(proxy)
        stop(upstream)
        shutil.rmtree(root)


def bench_http_variants(rounds, size_mb, base, concurrent):
    """Two namespace segments, unpaced, every body path in one run.

    Direct (a kernel router) beside the agent's proxy with splice(2), with
    the copy loop, and (``base``: a checkout of another version, e.g.
    ``git worktree add /tmp/base main``) that version's proxy; interleaved.
    """
    size = size_mb * 1024 * 1024
    root = sparse_root(size)
    try:
        return _http_netns(root, rounds, size, None, base=base,
                           concurrent=concurrent)
    finally:
        shutil.rmtree(root)


def bench_http_netns(rounds, size_mb, link_rate=None):
    """Two segments in network namespaces (veth + bridges; needs root).

    The client reaches the cluster-side server either through a plain
    kernel router (direct) or through the agent's proxy; both paths cross
    two veth hops. ``link_rate`` (a tc rate such as ``10gbit``) paces what
    the router and the agent send on the provisioning segment, as a
    server's NIC would: without it both paths are bound by the CPU.
    """
    size = size_mb * 1024 * 1024
    root = sparse_root(size)
    try:
        return _http_netns(root, rounds, size, link_rate)
    finally:
        shutil.rmtree(root)


def _http_netns(root, rounds, size, link_rate, base=None, concurrent=None):
    from tests.fixtures import netns
    from tests.fixtures import stand_in
    with netns.Lab('vbb') as lab:
        prov, clus = lab.segment('prov'), lab.segment('clus')
        agent, cluster = lab.namespace('agent'), lab.namespace('cluster')
        client, router = lab.namespace('client'), lab.namespace('router')
        agent.attach(prov, 'prov0', '172.22.0.2/24')
        agent.attach(clus, 'clus0', '10.99.0.2/24')
        cluster.attach(clus, 'clus1', '10.99.0.1/24')
        client.attach(prov, 'eth0', '172.22.0.60/24')
        router.attach(prov, 'r0', '172.22.0.1/24')
        router.attach(clus, 'r1', '10.99.0.254/24')
        router.run('sysctl', '-qw', 'net.ipv4.ip_forward=1')
        client.route('10.99.0.0/24', 'via', '172.22.0.1')
        if link_rate:
            for ns, ifname in ((router, 'r0'), (agent, 'prov0')):
                ns.run('tc', 'qdisc', 'replace', 'dev', ifname, 'root',
                       'tbf', 'rate', link_rate, 'burst', '4mb',
                       'latency', '50ms')
        cluster.route('172.22.0.0/24', 'via', '10.99.0.254')
        cluster.popen(sys.executable, stand_in.__file__, '--root', root,
                      '--address', '10.99.0.1', '--port', '8088',
                      stdout=subprocess.DEVNULL)
        if concurrent is None:
            proxy = agent.popen(sys.executable, __file__, '--serve-proxy',
                                'http://10.99.0.1:8088', '172.22.0.2', '8080',
                                stdout=subprocess.DEVNULL,
                                env=dict(os.environ,
                                         PYTHONPATH=os.path.dirname(HERE)))
            return measure_http('http://10.99.0.1:8088/image.raw',
                                'http://172.22.0.2:8080/image.raw',
                                proxy.pid, rounds, size,
                                prefix=client.cmd()[:4])
        variants = [('agent, splice', __file__, ['splice'], HERE),
                    ('agent, copy loop', __file__, ['copy'], HERE)]
        if base:
            variants.append(('agent, %s' % os.path.basename(base.rstrip('/')),
                             os.path.join(base, 'benchmarks',
                                          'bridge_bench.py'), [],
                             os.path.join(base, 'benchmarks')))
        proxies = {}
        for port, (name, script, extra, where) in enumerate(variants, 8080):
            proc = agent.popen(sys.executable, script, '--serve-proxy',
                               'http://10.99.0.1:8088', '172.22.0.2',
                               str(port), *extra, stdout=subprocess.DEVNULL,
                               env=dict(os.environ, PYTHONPATH=os.path.dirname(
                                   where)))
            proxies[name] = ('http://172.22.0.2:%d/image.raw' % port,
                             proc.pid)
        return measure_variants('http://10.99.0.1:8088/image.raw', proxies,
                                rounds, size, prefix=client.cmd()[:4],
                                concurrent=concurrent)


def print_http(title, res, size_mb):
    print('\n| HTTP, %d MB file, %s | MB/s | ratio |\n|---|---|---|'
          % (size_mb, title))
    print('| direct | %.0f | 1.00 |' % res['direct'])
    print('| through the agent proxy | %.0f | %.2f |'
          % (res['proxy'], res['proxy'] / res['direct']))
    print('\nproxy RSS: %.1f MB before, %.1f MB after (+%.1f MB), '
          'peak %.1f MB; proxy CPU %.2f s per GB'
          % (res['rss_before'] / 1024, res['rss_after'] / 1024,
             (res['rss_after'] - res['rss_before']) / 1024,
             res['peak'] / 1024, res['cpu']))


def print_variants(res, size_mb, concurrent):
    direct = res.pop('direct')
    print('\n| HTTP, two segments in namespaces, unpaced | %d MB, MB/s | '
          'ratio | proxy CPU s/GB | RSS before -> after (peak) MB | '
          '%d x 100 MB at once, MB/s | ratio | proxy CPU s/GB |'
          '\n|---|---|---|---|---|---|---|---|' % (size_mb, concurrent))
    print('| direct (kernel router) | %.0f | 1.00 | - | - | %.0f | 1.00 | - |'
          % (direct['rate'], direct['many']))
    for name, r in res.items():
        print('| %s | %.0f | %.2f | %.2f | %.1f -> %.1f (%.1f) | %.0f | %.2f '
              '| %.2f |' % (
                  name, r['rate'], r['rate'] / direct['rate'], r['cpu'],
                  r['rss_before'] / 1024, r['rss_after'] / 1024,
                  r['peak'] / 1024, r['many'],
                  r['many'] / direct['many'] if direct['many'] else 0,
                  r['many_cpu'] or 0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--libraries', help='directory with tftpy, '
                        'py3tftp, fbtftp installed (pip --target)')
    parser.add_argument('--size-mb', type=int, default=1024)
    parser.add_argument('--tftp-servers', help='comma-separated subset of '
                        'tftpd-hpa,vmetal,tftpy,py3tftp,fbtftp')
    parser.add_argument('--skip-http', action='store_true')
    parser.add_argument('--skip-tftp', action='store_true')
    parser.add_argument('--link-rate', action='append', default=[],
                        help='also measure the namespace HTTP path with the '
                        'provisioning link paced to this tc rate, e.g. '
                        '10gbit (repeatable)')
    parser.add_argument('--variants', action='store_true',
                        help='only the namespace HTTP path, unpaced: direct '
                        'beside the proxy with splice(2), with the copy '
                        'loop and (--base) another checkout\'s proxy, and '
                        '--concurrent transfers of 100 MB at once')
    parser.add_argument('--base', help='checkout of the version to compare '
                        'with (git worktree add /tmp/base main)')
    parser.add_argument('--concurrent', type=int, default=20)
    parser.add_argument('--serve-tftp', nargs=4, help=argparse.SUPPRESS)
    parser.add_argument('--serve-proxy', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy(*args.serve_proxy)
        return
    if args.serve_tftp:
        kind, root, port, libs = args.serve_tftp
        serve_tftp(kind, root, int(port), libs)
        return
    print('load before: %s' % open('/proc/loadavg').read().strip())
    if args.variants:
        if os.geteuid() != 0:
            raise SystemExit('--variants needs root (network namespaces)')
        print_variants(bench_http_variants(args.rounds, args.size_mb,
                                           args.base, args.concurrent),
                       args.size_mb, args.concurrent)
        print('\nload after: %s' % open('/proc/loadavg').read().strip())
        return
    if not args.skip_tftp:
        kinds = ['vmetal']
        if os.path.exists('/usr/sbin/in.tftpd'):
            kinds.insert(0, 'tftpd-hpa')
        else:
            print('in.tftpd not found (apt-get install tftpd-hpa): no '
                  'reference TFTP server')
        if args.libraries:
            kinds += ['tftpy', 'py3tftp', 'fbtftp']
        if args.tftp_servers:
            kinds = args.tftp_servers.split(',')
        rows = bench_tftp(kinds, args.rounds, args.libraries)
        ref = dict((r[0], r) for r in rows).get('tftpd-hpa')
        print('\n| TFTP server | 1 transfer MB/s | ratio | 20 concurrent '
              'MB/s | ratio | note |\n|---|---|---|---|---|---|')
        for kind, one, many, note in rows:
            if one is None:
                print('| %s | - | - | - | - | %s |' % (kind, note))
                continue
            r1 = one / ref[1] if ref and ref[1] else 0
            r2 = many / ref[2] if ref and ref[2] else 0
            print('| %s | %.1f | %.2f | %.1f | %.2f | %s |'
                  % (kind, one, r1, many, r2, note))
        if shutil.which('atftp'):
            rates = bench_windowsize(args.rounds)
            print('\n| agent TFTP, 8 MB file, blksize 1468, atftp | MB/s '
                  '| ratio |\n|---|---|---|')
            for window, rate in sorted(rates.items()):
                print('| windowsize %d | %.1f | %.2f |'
                      % (window, rate, rate / rates[1]))
    if not args.skip_http:
        print_http('loopback (direct: the stand-in server)',
                   bench_http(args.rounds, args.size_mb), args.size_mb)
        if os.geteuid() == 0:
            print_http('two segments in namespaces (direct: via a kernel '
                       'router)', bench_http_netns(args.rounds,
                                                   args.size_mb),
                       args.size_mb)
            for rate in args.link_rate:
                print_http('two segments, provisioning link paced to %s'
                           % rate, bench_http_netns(args.rounds, args.size_mb,
                                                    rate), args.size_mb)
    print('\nload after: %s' % open('/proc/loadavg').read().strip())


if __name__ == '__main__':
    main()
