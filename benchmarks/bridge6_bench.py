"""The agent's TFTP server and HTTP proxy over IPv6 beside IPv4, one run.

    .venv/bin/python benchmarks/bridge6_bench.py [--rounds 5] [--size-mb 256]

One in-process TftpServer and one HttpProxy, each listening on 127.0.0.1
and ::1 (as on server_address and server_address6); curl is the client
(``-4`` / ``-6``), families interleaved round by round. TFTP: a 4 MB file,
blksize 1468, 10 sequential fetches per round. HTTP: a sparse file of
``--size-mb`` through the proxy from an in-process upstream. Printed per
family: the median MB/s and CPU seconds of this process (the servers) per
MB, and the IPv6/IPv4 ratios, with the load average.
"""

import argparse
import http.server
import os
import resource
import subprocess
import tempfile
import threading
import time

from vmetal_ironic.agent.http import server as http_proxy
from vmetal_ironic.agent.tftp import server as tftp


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def _timed(argv):
    cpu, t = _cpu(), time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t, _cpu() - cpu


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--size-mb', type=int, default=256)
    a = p.parse_args()
    root = tempfile.mkdtemp(prefix='bridge6-')
    with open(os.path.join(root, 'f.bin'), 'wb') as f:
        f.write(os.urandom(4 * 1024 * 1024))
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        f.truncate(a.size_mb * 1024 * 1024)
    up = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), lambda *x: _Files(*x, directory=root))
    up.daemon_threads = True
    threading.Thread(target=up.serve_forever, daemon=True).start()
    t = tftp.TftpServer(root, '127.0.0.1', 0, address6='::1')
    t.start()
    h = http_proxy.HttpProxy('127.0.0.1', 0, address6='::1',
                             http_url='http://127.0.0.1:%d'
                             % up.server_address[1])
    h.start()
    hosts = {'ipv4': ('-4', '127.0.0.1'), 'ipv6': ('-6', '[::1]')}
    fetches, runs = {}, {}
    load = os.getloadavg()
    try:
        for _ in range(a.rounds):
            for fam, (flag, host) in hosts.items():
                for _ in range(10):
                    w, c = _timed(['curl', '-sS', flag, '-g',
                                   '--tftp-blksize', '1468', '-o',
                                   '/dev/null', 'tftp://%s:%d/f.bin'
                                   % (host, t.port)])
                    fetches.setdefault(fam, []).append((4 / w, c / 4))
                w, c = _timed(['curl', '-sS', flag, '-g', '-o', '/dev/null',
                               'http://%s:%d/big.bin' % (host, h.port)])
                runs.setdefault(fam, []).append((a.size_mb / w,
                                                 c / a.size_mb))
    finally:
        h.stop()
        t.stop()
        up.shutdown()
    print('load average before %s, after %s' % (
        ' '.join('%.2f' % x for x in load),
        ' '.join('%.2f' % x for x in os.getloadavg())))
    print('%-6s %12s %14s %12s %14s' % ('family', 'TFTP MB/s',
                                        'TFTP cpu s/MB', 'HTTP MB/s',
                                        'HTTP cpu s/MB'))
    # the median of each (the machine is shared: stalls are not the code)
    best = {fam: (_median([x[0] for x in fetches[fam]]),
                  _median([x[1] for x in fetches[fam]]),
                  _median([x[0] for x in runs[fam]]),
                  _median([x[1] for x in runs[fam]])) for fam in hosts}
    for fam, v in best.items():
        print('%-6s %12.1f %14.4f %12.1f %14.4f' % ((fam,) + v))
    v4, v6 = best['ipv4'], best['ipv6']
    print('ratio  %12.2f %14.2f %12.2f %14.2f' % (
        v6[0] / v4[0], v6[1] / v4[1], v6[2] / v4[2], v6[3] / v4[3]))


if __name__ == '__main__':
    main()
