#!/usr/bin/env python3
"""The agent's table at scale: start-up from the IPAM database, RSS, sync.

Run as root from the repository (network namespaces; nothing leaves
them)::

    sudo .venv/bin/python benchmarks/agent_scale.py
    sudo .venv/bin/python benchmarks/agent_scale.py --sizes 1000,10000 \\
        --backends sqlite

For each backend (a SQLite file; a throw-away database on the local
PostgreSQL, reached by its Unix socket as ``tests/functional/databases``
makes it) and each size N:

* the IPAM database is filled with N reservations, one boot profile per
  node, in one bulk INSERT into the store's own tables (the rows the
  manager would leave), the generation counter set and the tables
  analyzed (the statistics autovacuum keeps on a database that grew);
* the real ``vmetal-dhcp-agent`` starts on it (``sources = ipam``, a
  state directory, so its local snapshot is written) in a network
  namespace; start-up is the time from spawning it until ``/readyz``
  answers 200 (polled every 10 ms from a third namespace on the
  cluster-side link, the only side the endpoint serves); RSS is read from
  ``/proc/<pid>/status`` once ready and after the snapshot is written;
* then ``--changes`` times one reservation is changed through
  ``IPAMManager.upsert_reservation`` (a new address: a new generation)
  and the agent's own log line for that sync gives its time (database
  read and table update, ``vmetal_ironic.agent.sources.ipam``);
* last, the agent is restarted on the same state directory: the start-up
  from the local snapshot.

With ``--base DIR`` the agent of another checkout (its own ``.venv``, e.g.
``git worktree add /tmp/base main``) runs the same steps on the same
database right after this one's, for a side-by-side table. With ``--kea
100000`` Kea starts from its configuration file with that many
reservations (the reference of doc/performance-agent.md): spawn until it
logs ``DHCP4_STARTED``, its CPU seconds and RSS then.

Prints Markdown tables and the load average; JSON lines go to ``--out``.
"""

import argparse
import datetime
import ipaddress
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

CIDR = ipaddress.ip_network('10.64.0.0/12')
SERVER_IP = str(CIDR[1])
METRICS_NET = ('10.250.0.1', '10.250.0.2')
METRICS_PORT = 9180
PG_SOCKET_DIR = '/var/run/postgresql'
SYNC_LINE = re.compile(r'IPAM sync: generation (\d+) -> (\d+), (\d+) '
                       r'changes in ([\d.]+) ms \(read ([\d.]+) ms, table '
                       r'([\d.]+) ms\)')


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True, text=True)


class Bed:
    """The agent's namespaces; torn down by :meth:`down`.

    A server namespace with a provisioning veth and a cluster-side veth
    to a monitor namespace (the only side /readyz answers on).
    """

    def __init__(self):
        tag = str(os.getpid())
        self.srv, self.cli, self.mon = ('vmscale-%s-%s' % (r, tag)
                                        for r in ('srv', 'cli', 'mon'))

    def up(self):
        for ns in (self.srv, self.cli, self.mon):
            run('ip', 'netns', 'add', ns)
            run('ip', '-n', ns, 'link', 'set', 'lo', 'up')
            run('ip', 'netns', 'exec', ns, 'sysctl', '-qw',
                'net.ipv4.ip_forward=0')
        run('ip', 'link', 'add', 'srv0', 'netns', self.srv, 'type', 'veth',
            'peer', 'name', 'cli0', 'netns', self.cli)
        run('ip', 'link', 'add', 'clus0', 'netns', self.srv, 'type', 'veth',
            'peer', 'name', 'mon0', 'netns', self.mon)
        for ns, dev, addr in (
                (self.srv, 'srv0', '%s/%d' % (SERVER_IP, CIDR.prefixlen)),
                (self.cli, 'cli0', '%s/%d' % (CIDR[2], CIDR.prefixlen)),
                (self.srv, 'clus0', METRICS_NET[0] + '/24'),
                (self.mon, 'mon0', METRICS_NET[1] + '/24')):
            run('ip', '-n', ns, 'addr', 'add', addr, 'dev', dev)
            run('ip', '-n', ns, 'link', 'set', dev, 'up')

    def down(self):
        for ns in (self.srv, self.cli, self.mon):
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)


# -- the database ----------------------------------------------------------

POOL_CONF = """
[vmetal_ipam]
pools = scale
default_pool = scale
quarantine = 0
[vmetal_pool:scale]
cidr = %s
gateway = %s
dns_servers = %s
""" % (CIDR, SERVER_IP, SERVER_IP)

PROFILE = {'bootfile': 'snponly.efi', 'tftp_server': SERVER_IP,
           'ipxe_script_url': 'http://%s:8080/boot.ipxe' % SERVER_IP}


def mac_of(i):
    return '06:%02x:%02x:%02x:%02x:%02x' % tuple(
        (i >> s) & 0xff for s in (32, 24, 16, 8, 0))


def address_of(i):
    return str(CIDR[256 + i])


def fill(url, workdir, count):
    """The database with ``count`` reservations; the manager on it."""
    import sqlalchemy as sa
    from tests import confutils
    from vmetal_ironic.db import api as db_api
    from vmetal_ironic.db import migration
    from vmetal_ironic.db import models
    from vmetal_ironic.ipam import manager
    database = db_api.Database(url)
    migration.upgrade(database.writer)
    conf = confutils.conf_from_text(POOL_CONF, pathlib.Path(workdir),
                                    name='ipam.conf')
    mgr = manager.IPAMManager(conf, database=database)
    mgr.sync_pools()
    with database.writer.connect() as connection:
        pool_id = connection.execute(sa.select(models.PoolRecord.id).where(
            models.PoolRecord.name == 'scale')).scalar_one()
    now = datetime.datetime.utcnow()
    res, prof = [], []
    for i in range(count):
        node = '00000000-0000-4000-8000-%012x' % i
        res.append({'mac': mac_of(i), 'node_uuid': node, 'pool_id': pool_id,
                    'address': address_of(i), 'hostname': 'node-%d' % i,
                    'client_id': None, 'generation': i + 1,
                    'deleted': False, 'updated_at': now})
        prof.append({'node_uuid': node, 'profile': PROFILE,
                     'updated_at': now})
    with database.writer.begin() as connection:
        for start in range(0, count, 10000):
            connection.execute(sa.insert(models.ReservationRecord),
                               res[start:start + 10000])
            connection.execute(sa.insert(models.BootProfileRecord),
                               prof[start:start + 10000])
        connection.execute(sa.update(models.Counter).where(
            models.Counter.name == 'generation').values(value=count))
    # The statistics a database that grew to this size has (PostgreSQL's
    # autovacuum analyzes a table once 10 % of it changed): without them
    # PostgreSQL guesses a third of the table for ``generation > N`` and
    # an incremental read scans the whole table (doc/performance-agent.md).
    with database.writer.begin() as connection:
        for table in ('vmetal_reservations', 'vmetal_boot_profiles'):
            connection.exec_driver_sql('ANALYZE %s' % table)
    return mgr


def agent_url(backend, url):
    """The URL the agent (in its namespace) opens: the Unix socket."""
    if backend != 'postgresql':
        return url
    name = url.rsplit('/', 1)[1]
    return 'postgresql+psycopg2://postgres@/%s?host=%s' % (name,
                                                           PG_SOCKET_DIR)


# -- the agent -------------------------------------------------------------

def write_conf(workdir, url, state_dir):
    path = os.path.join(workdir, 'agent.conf')
    with open(path, 'w') as f:
        f.write('[DEFAULT]\nuse_stderr = true\n'
                'default_log_levels = vmetal_ironic=WARNING,'
                'vmetal_ironic.agent.sources.ipam=INFO\n'
                '[dhcp_agent]\ninterface = srv0\nserver_address = %s\n'
                'sources = ipam\nsync_interval = 1\nstate_dir = %s\n'
                'metrics_address = %s\nmetrics_port = %d\n'
                'tftp_enabled = false\nhttp_proxy_enabled = false\n'
                '[vmetal_database]\nconnection = %s\n'
                % (SERVER_IP, state_dir, METRICS_NET[0], METRICS_PORT, url))
    return path


def python(repo=REPO):
    venv = os.path.join(repo, '.venv', 'bin', 'python')
    if repo == REPO and os.environ.get('VMETAL_PYTHON'):
        return os.environ['VMETAL_PYTHON']
    return venv if os.path.exists(venv) else sys.executable


def status_kb(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def wait_ready_main(url, timeout):
    """In the monitor namespace: poll ``url`` until 200; print the time."""
    import urllib.error
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    print(time.monotonic(), flush=True)
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.01)
    print('timeout', flush=True)


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def start_agent(bed, conf, log_path, timeout, repo=REPO):
    """(process, start-up seconds to /readyz, CPU seconds by then)."""
    poller = subprocess.Popen(
        ['ip', 'netns', 'exec', bed.mon, sys.executable, __file__,
         '--wait-ready', 'http://%s:%d/readyz' % (METRICS_NET[0],
                                                  METRICS_PORT),
         str(timeout)], stdout=subprocess.PIPE, text=True)
    log = open(log_path, 'a')
    began = time.monotonic()
    # "ip netns exec" execs the agent: the PID is the agent's
    agent = subprocess.Popen(['ip', 'netns', 'exec', bed.srv, python(repo),
                              '-m', 'vmetal_ironic.cmd.dhcp_agent',
                              '--config-file', conf], cwd=repo, stdout=log,
                             stderr=subprocess.STDOUT)
    log.close()
    out = poller.communicate(timeout=timeout + 10)[0].strip()
    if out == 'timeout' or agent.poll() is not None:
        stop(agent)
        raise RuntimeError('agent not ready within %ss; see %s'
                           % (timeout, log_path))
    return agent, float(out) - began, cpu_s(agent.pid)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_sync(log_path, generation, timeout=30):
    """The agent's sync line that reached ``generation``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path) as f:
            for line in f:
                m = SYNC_LINE.search(line)
                if m and int(m.group(2)) >= generation:
                    return {'changes': int(m.group(3)),
                            'total_ms': float(m.group(4)),
                            'read_ms': float(m.group(5)),
                            'table_ms': float(m.group(6))}
        time.sleep(0.05)
    raise RuntimeError('no sync to generation %d in %s'
                       % (generation, log_path))


def started(result, kind, bed, conf, log_path, repo, opts):
    """Start an agent; its start-up fields into ``result``; the process."""
    agent, startup, cpu = start_agent(bed, conf, log_path,
                                      opts.start_timeout, repo)
    result['startup_%s_s' % kind] = round(startup, 3)
    result['startup_%s_cpu_s' % kind] = round(cpu, 2)
    result['rss_%s_mb' % ('ready' if kind == 'db' else kind)] = round(
        status_kb(agent.pid, 'VmRSS') / 1024, 1)
    return agent


def run_agent(bed, variant, repo, conf, log_path, state, mgr, size, offset,
              opts):
    """One checkout's agent on the filled database: its result fields."""
    result = {}
    agent = started(result, 'db', bed, conf, log_path, repo, opts)
    try:
        snap = state / 'ipam-snapshot.json'
        deadline = time.monotonic() + 30
        while not snap.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        syncs = []
        for k in range(opts.changes):
            i = (k * 7919) % size
            # a new address each time (the same one is no change)
            r = mgr.upsert_reservation(
                mac_of(i), '00000000-0000-4000-8000-%012x' % i,
                address=address_of(size + offset + k), pool='scale')
            syncs.append(wait_sync(log_path, r.generation))
            time.sleep(0.2)
        result['sync_changes'] = [x['changes'] for x in syncs]
        for key in ('total_ms', 'read_ms', 'table_ms'):
            result['sync_%s' % key] = round(statistics.median(
                x[key] for x in syncs), 2)
        time.sleep(1.5)     # the snapshot of the changes
        result['rss_mb'] = round(status_kb(agent.pid, 'VmRSS') / 1024, 1)
        result['rss_peak_mb'] = round(
            status_kb(agent.pid, 'VmHWM') / 1024, 1)
    finally:
        stop(agent)
    stop(started(result, 'snapshot', bed, conf, log_path, repo, opts))
    return result


def bench_one(bed, backend, size, opts):
    """Every variant (this checkout, ``--base``) on one filled database."""
    from tests.functional import databases
    results = []
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='vmscale-'))
    try:
        with databases.temporary_database(backend, workdir) as url:
            began = time.monotonic()
            mgr = fill(url, workdir, size)
            fill_s = round(time.monotonic() - began, 2)
            if backend == 'sqlite':
                os.chmod(workdir, 0o755)
            variants = [('this', REPO)]
            if opts.base:
                variants.append(('base', os.path.abspath(opts.base)))
            for n, (variant, repo) in enumerate(variants):
                state = workdir / ('state-%s' % variant)
                state.mkdir()
                vdir = workdir / variant
                vdir.mkdir()
                conf = write_conf(str(vdir), agent_url(backend, url),
                                  str(state))
                result = {'backend': backend, 'reservations': size,
                          'variant': variant, 'checkout': repo,
                          'fill_s': fill_s,
                          'loadavg_start': round(os.getloadavg()[0], 2)}
                result.update(run_agent(
                    bed, variant, repo, conf, str(vdir / 'agent.log'),
                    state, mgr, size, n * opts.changes, opts))
                result['loadavg_end'] = round(os.getloadavg()[0], 2)
                results.append(result)
                print(json.dumps(result), flush=True)
            mgr.close()
    finally:
        if opts.keep:
            print('kept %s' % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


# -- the reference: Kea from its configuration file ------------------------

def bench_kea(bed, size, opts):
    """Kea's start-up with ``size`` reservations in its config file.

    Spawn until it logs DHCP4_STARTED (configuration applied, sockets
    open: what the agent's /readyz says), its CPU seconds and RSS then.
    """
    workdir = tempfile.mkdtemp(prefix='vmscale-kea-')
    config = {'Dhcp4': {
        'interfaces-config': {'interfaces': ['srv0']},
        'lease-database': {'type': 'memfile', 'persist': False},
        'valid-lifetime': 3600,
        'host-reservation-identifiers': ['hw-address'],
        'reservations-global': False, 'reservations-in-subnet': True,
        'reservations-out-of-pool': True,
        'subnet4': [{'id': 1, 'subnet': str(CIDR),
                     'option-data': [{'name': 'routers',
                                      'data': SERVER_IP}],
                     'reservations': [{'hw-address': mac_of(i),
                                       'ip-address': address_of(i)}
                                      for i in range(size)]}],
        'loggers': [{'name': 'kea-dhcp4', 'severity': 'INFO',
                     'output_options': [{'output': 'stdout'}]}]}}
    conf = os.path.join(workdir, 'kea-dhcp4.conf')
    with open(conf, 'w') as f:
        json.dump(config, f)
    env = dict(os.environ, KEA_PIDFILE_DIR=workdir,
               KEA_LOCKFILE_DIR=workdir)
    result = {'server': 'kea', 'reservations': size,
              'loadavg_start': round(os.getloadavg()[0], 2)}
    began = time.monotonic()
    proc = subprocess.Popen(['ip', 'netns', 'exec', bed.srv, 'kea-dhcp4',
                             '-c', conf], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = began + opts.start_timeout
        for line in proc.stdout:
            if 'DHCP4_STARTED' in line:
                result['startup_s'] = round(time.monotonic() - began, 3)
                result['cpu_s'] = round(cpu_s(proc.pid), 2)
                result['rss_mb'] = round(
                    status_kb(proc.pid, 'VmRSS') / 1024, 1)
                break
            if time.monotonic() > deadline:
                break
        else:
            raise RuntimeError('kea-dhcp4 exited: %s' % proc.wait())
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    result['loadavg_end'] = round(os.getloadavg()[0], 2)
    return result


def report(results, keas=()):
    lines = ['| backend | reservations | agent | start-up from the database '
             's (agent CPU s) | RSS ready MB | RSS after syncs MB (peak) | '
             'incremental sync ms (read + table) | start-up from the '
             'snapshot s (agent CPU s) | RSS from the snapshot MB | load |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in results:
        lines.append(
            '| %s | %d | %s | %.2f (%.2f) | %.1f | %.1f (%.1f) | %.2f '
            '(%.2f + %.2f) | %.2f (%.2f) | %.1f | %.2f |' % (
                r['backend'], r['reservations'], r['variant'],
                r['startup_db_s'], r['startup_db_cpu_s'], r['rss_ready_mb'],
                r['rss_mb'], r['rss_peak_mb'], r['sync_total_ms'],
                r['sync_read_ms'], r['sync_table_ms'],
                r['startup_snapshot_s'], r['startup_snapshot_cpu_s'],
                r['rss_snapshot_mb'], r['loadavg_start']))
    if keas:
        lines += ['', '| reference | reservations | start-up s (CPU s) | '
                  'RSS MB | load |', '|---|---|---|---|---|']
        lines += ['| Kea from its config file | %d | %.2f (%.2f) | %.1f | '
                  '%.2f |' % (k['reservations'], k['startup_s'], k['cpu_s'],
                              k['rss_mb'], k['loadavg_start'])
                  for k in keas]
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', default='1000,10000,100000')
    p.add_argument('--backends', default='sqlite,postgresql')
    p.add_argument('--changes', type=int, default=5,
                   help='single-reservation changes per size (median)')
    p.add_argument('--start-timeout', type=float, default=120)
    p.add_argument('--keep', action='store_true')
    p.add_argument('--base', help='another checkout (with its own .venv) '
                   'whose agent runs beside this one on each database')
    p.add_argument('--kea', default='',
                   help='sizes at which Kea starts from its config file '
                   '(the reference), e.g. 100000')
    p.add_argument('--out', default=os.path.join(REPO, 'benchmarks',
                                                 'dhcp', 'results'))
    p.add_argument('--wait-ready', nargs=2, help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.wait_ready:
        wait_ready_main(opts.wait_ready[0], float(opts.wait_ready[1]))
        return 0
    if os.geteuid() != 0:
        p.error('needs root (network namespaces)')
    print('load before: %s' % open('/proc/loadavg').read().strip())
    bed = Bed()
    results, keas = [], []
    try:
        bed.up()
        for backend in opts.backends.split(','):
            for size in map(int, opts.sizes.split(',')):
                print('# %s, %d reservations' % (backend, size), flush=True)
                results.extend(bench_one(bed, backend, size, opts))
        for size in [int(n) for n in opts.kea.split(',') if n]:
            keas.append(bench_kea(bed, size, opts))
            print(json.dumps(keas[-1]), flush=True)
    finally:
        bed.down()
    os.makedirs(opts.out, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    with open(os.path.join(opts.out, stamp + '-agent-scale.jsonl'), 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in results + keas)
    print(report(results, keas))
    print('\nload after: %s' % open('/proc/loadavg').read().strip())
    return 0


if __name__ == '__main__':
    sys.exit(main())
