#!/usr/bin/env python3
"""CPU time of the vmetal hooks per deploy and undeploy, in process.

The hooks Ironic's conductor calls in an agent deploy and tear down
(doc/performance.md lists them), called on the real ``VmetalNetwork`` and
``VmetalDHCP`` with real Ironic ``Node``/``Port`` objects and a real IPAM
database (a SQLite file with synchronous FULL, or a throw-away database on
the local PostgreSQL). Only Ironic's own ``node.save()`` is left out (it
is Ironic's database, not vmetal's): ``benchmarks/ironic_deploy_bench.py``
measures the same hooks inside a real Ironic, with it.

Being in one process without Ironic around it, the numbers are process
CPU time (``time.process_time``), which a loaded machine disturbs far less
than wall time; wall time is printed too. Medians of --deploys.

``--tree DIR`` imports ``vmetal_ironic`` from another checkout (e.g. a
``git worktree`` of main), so that two versions are compared in one run::

    .venv/bin/python benchmarks/hook_cpu_bench.py [--deploys 20]
    .venv/bin/python benchmarks/hook_cpu_bench.py --tree /tmp/perf-base

``--compare DIR`` runs another checkout and this one side by side in one
command (``--rounds`` runs each, alternating, samples pooled) and prints
the per-hook table before/after::

    .venv/bin/python benchmarks/hook_cpu_bench.py --compare /work/main

``--instructions`` counts the instructions of the hooks per deploy and
undeploy with callgrind instead (``valgrind`` package; load-independent,
about 50 times slower), for this checkout and every ``--compare`` one.

``--profile FILE`` writes a cProfile of the hooks (all deploys).

After the timed deploys, one more deploy and undeploy runs with SQL
statements, commits and rollbacks counted per hook (engine events on the
IPAM database; not timed), so that "one commit per hook at most, none
where nothing changed" is printed beside the times.
"""

import argparse
import cProfile
import json
import operator
import os
import pathlib
import statistics
import sys
import tempfile
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parents[1]
# Set by --instructions in the run it makes under callgrind.
CALLGRIND_ENV = 'VMETAL_BENCH_CALLGRIND'
# The C functions the recorded hook calls go through there (deploy,
# undeploy): callgrind collects inside them only.
TOGGLES = ('sys_call_tracing', '_operator_call')

CONFIG = """
[vmetal_ipam]
pools = compute
default_pool = compute
quarantine = 0
[vmetal_pool:compute]
cidr = 10.20.0.1/16
dns_servers = 10.20.0.1
"""

# What Ironic 39 sends for ipxe + UEFI with a tag-aware provider.
OPTIONS = [
    {'opt_name': 'tag:!ipxe,67', 'opt_value': 'snponly.efi',
     'ip_version': 4},
    {'opt_name': 'tag:ipxe,67',
     'opt_value': 'http://10.0.0.2:8080/boot.ipxe', 'ip_version': 4},
    {'opt_name': '66', 'opt_value': '10.0.0.2', 'ip_version': 4},
    {'opt_name': '150', 'opt_value': '10.0.0.2', 'ip_version': 4},
    {'opt_name': '255', 'opt_value': '10.0.0.2', 'ip_version': 4},
    {'opt_name': 'tag:!ipxe6,59',
     'opt_value': 'tftp://[fd00::2]/snponly.efi', 'ip_version': 6},
    {'opt_name': 'tag:ipxe6,59',
     'opt_value': 'http://[fd00::2]:8080/boot.ipxe', 'ip_version': 6},
]

# (phase, hook, provision state) in the order Ironic 39 calls them for
# fake-hardware + ipxe + custom-agent (doc/performance.md).
DEPLOY = [('validate', 'deploying'),
          ('unconfigure_tenant_networks', 'deploying'),
          ('add_provisioning_network', 'deploying'),
          ('update_dhcp_opts', 'deploying'),
          ('remove_provisioning_network', 'deploying'),
          ('configure_tenant_networks', 'deploying')]
UNDEPLOY = [('clean_dhcp_opts', 'deleting'),
            ('unconfigure_tenant_networks', 'deleting'),
            ('remove_provisioning_network', 'deleting'),
            ('vif_list', 'deleting')]


class _Task(object):
    """What the hooks read of Ironic's TaskManager."""

    def __init__(self, node, ports):
        self.node = node
        self.ports = ports
        self.portgroups = []


def _make_task(objects, index):
    node = objects.Node(
        uuid=str(uuid.uuid4()), name='bench-%03d' % index,
        provision_state='available', network_data={},
        driver_internal_info={}, instance_info={}, properties={},
        driver_info={}, extra={}, resource_class='baremetal',
        boot_interface='ipxe', maintenance=False)
    node.save = lambda: None            # Ironic's database: not measured
    port = objects.Port(id=index + 1, uuid=str(uuid.uuid4()),
                        address='52:54:00:%02x:%02x:01' % (
                            index // 256, index % 256),
                        pxe_enabled=True, extra={}, internal_info={},
                        portgroup_id=None)
    return _Task(node, [port])


def _call(network, dhcp, task, hook):
    if hook == 'update_dhcp_opts':
        dhcp.update_dhcp_opts(task, OPTIONS)
    elif hook == 'clean_dhcp_opts':
        dhcp.clean_dhcp_opts(task)
    else:
        getattr(network, hook)(task)


def _counting(database):
    """Count SQL statements, commits and rollbacks on ``database``.

    :returns: (counts dict, detach callable).
    """
    from sqlalchemy import event

    counts = {'statements': 0, 'commits': 0, 'rollbacks': 0}

    def statement(*args, **kwargs):
        counts['statements'] += 1

    def commit(*args, **kwargs):
        counts['commits'] += 1

    def rollback(*args, **kwargs):
        counts['rollbacks'] += 1

    listeners = [('before_cursor_execute', statement), ('commit', commit),
                 ('rollback', rollback)]
    engines = {id(e): e for e in (database.writer, database.reader)}
    for engine in engines.values():
        for name, fn in listeners:
            event.listen(engine, name, fn)

    def detach():
        for engine in engines.values():
            for name, fn in listeners:
                event.remove(engine, name, fn)
    return counts, detach


def run(url, workdir, deploys, repeat_dhcp, profile):
    from ironic import objects
    from oslo_config import cfg

    from vmetal_ironic.db import api as db_api
    from vmetal_ironic.db import migration
    from vmetal_ironic.dhcp import provider
    from vmetal_ironic.ipam import manager
    from vmetal_ironic.network import interface

    objects.register_all()
    database = db_api.Database(url)
    migration.upgrade(database.writer)
    database.dispose()
    conf_path = workdir / 'bench.conf'
    conf_path.write_text(CONFIG)
    conf = cfg.ConfigOpts()
    from vmetal_ironic.conf import database as db_conf
    from vmetal_ironic.conf import ipam as ipam_conf
    db_conf.register_opts(conf)
    ipam_conf.register_opts(conf)
    conf(['--config-file', str(conf_path)], project='vmetal-bench',
         default_config_files=[])
    mgr = manager.IPAMManager(conf, database=db_api.Database(url),
                              manage_pools=True)
    mgr.pools
    interface.ipam = lambda: mgr
    provider._ipam = lambda: mgr
    network = interface.VmetalNetwork()
    dhcp = provider.VmetalDHCP()
    tasks = [_make_task(objects, i) for i in range(deploys + 2)]
    timings = {'deploy': {}, 'undeploy': {}}
    totals = {'deploy': [], 'undeploy': []}
    # CPU time, not wall: a commit waiting on fsync is not CPU.
    profiler = cProfile.Profile(time.process_time) if profile else None
    callgrind = os.environ.get(CALLGRIND_ENV) == '1'

    def phase(name, task, sequence, record):
        cpu_total = wall_total = 0.0
        for hook, state in sequence:
            task.node.provision_state = state
            calls = repeat_dhcp if hook == 'update_dhcp_opts' else 1
            for _ in range(calls):
                if profiler and record:
                    profiler.enable()
                wall = time.perf_counter()
                cpu = time.process_time()
                if callgrind and record:
                    # C functions that callgrind toggles collection on.
                    if name == 'deploy':
                        sys.call_tracing(_call, (network, dhcp, task, hook))
                    else:
                        operator.call(_call, network, dhcp, task, hook)
                else:
                    _call(network, dhcp, task, hook)
                cpu = time.process_time() - cpu
                wall = time.perf_counter() - wall
                if profiler and record:
                    profiler.disable()
                if record:
                    per = timings[name].setdefault(hook, {'cpu': [],
                                                          'wall': []})
                    if len(per['cpu']) < len(totals[name]) + 1:
                        per['cpu'].append(0.0)
                        per['wall'].append(0.0)
                    per['cpu'][-1] += cpu
                    per['wall'][-1] += wall
                cpu_total += cpu
                wall_total += wall
        if record:
            totals[name].append((cpu_total, wall_total))

    # Two warm-up deploys (imports, first statements, schema caches).
    for i, task in enumerate(tasks):
        record = i >= 2
        phase('deploy', task, DEPLOY, record)
        task.node.provision_state = 'active'
    for i, task in enumerate(tasks):
        record = i >= 2
        phase('undeploy', task, UNDEPLOY, record)
        task.node.provision_state = 'available'
    # One more deploy and undeploy, counted (not timed).
    counts, detach = _counting(mgr.database)
    counted = {}
    task = _make_task(objects, len(tasks) + 1)
    for name, sequence, end in (('deploy', DEPLOY, 'active'),
                                ('undeploy', UNDEPLOY, 'available')):
        for hook, state in sequence:
            task.node.provision_state = state
            calls = repeat_dhcp if hook == 'update_dhcp_opts' else 1
            before = dict(counts)
            for _ in range(calls):
                _call(network, dhcp, task, hook)
            counted.setdefault(name, {})[hook] = {
                k: counts[k] - before[k] for k in counts}
        task.node.provision_state = end
    detach()
    mgr.close()
    if profiler:
        profiler.dump_stats(profile)
    result = {}
    for name in ('deploy', 'undeploy'):
        result[name] = {
            'cpu_ms': statistics.median(c for c, _ in totals[name]) * 1e3,
            'wall_ms': statistics.median(w for _, w in totals[name]) * 1e3,
            'cpu': [c * 1e3 for c, _ in totals[name]],
            'wall': [w * 1e3 for _, w in totals[name]],
            'hooks': {hook: {'cpu_ms': statistics.median(v['cpu']) * 1e3,
                             'wall_ms': statistics.median(v['wall']) * 1e3,
                             'cpu': [c * 1e3 for c in v['cpu']],
                             'wall': [w * 1e3 for w in v['wall']],
                             **counted[name][hook]}
                      for hook, v in timings[name].items()}}
    return result


def _inclusive(out_file):
    """Inclusive instruction counts of the TOGGLES in a callgrind file."""
    import subprocess

    text = subprocess.run(['callgrind_annotate', '--inclusive=yes',
                           '--threshold=100', out_file], check=True,
                          capture_output=True, text=True).stdout
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        for toggle in TOGGLES:
            if parts[-1].endswith(':' + toggle) or (
                    len(parts) > 2 and parts[-2].endswith(':' + toggle)):
                found.setdefault(toggle, int(parts[0].replace(',', '')))
    return found


def instructions(trees, backends, deploys):
    """Instructions per deploy and undeploy, counted by callgrind.

    Load-independent: each tree and backend runs once under ``valgrind
    --tool=callgrind`` with collection on only inside the recorded hook
    calls (about 50 times slower; imports take most of it).
    """
    import subprocess

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tree in trees:
            for backend in backends:
                out = os.path.join(tmp, 'callgrind.out')
                subprocess.run(
                    ['valgrind', '--tool=callgrind', '--collect-atstart=no',
                     '--callgrind-out-file=' + out]
                    + ['--toggle-collect=' + t for t in TOGGLES]
                    + [sys.executable, os.path.abspath(__file__), '--tree',
                       tree, '--backends', backend, '--deploys',
                       str(deploys)], check=True, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=dict(os.environ, PYTHONWARNINGS='ignore',
                             **{CALLGRIND_ENV: '1'}))
                counts = _inclusive(out)
                for phase, toggle in zip(('deploy', 'undeploy'), TOGGLES):
                    rows.setdefault((backend, phase), []).append(
                        counts.get(toggle, 0) / deploys)
    names = [os.path.basename(t.rstrip('/')) or t for t in trees]
    print('| backend | phase | %s | ratio |' % ' | '.join(
        '%s instructions' % n for n in names))
    print('|---|---|' + '---|' * len(trees) + '---|')
    for (backend, phase), values in rows.items():
        ratio = '%.2f' % (values[-1] / values[0]) if values[0] else '-'
        print('| %s | %s | %s | %s |' % (backend, phase, ' | '.join(
            '%.2f M' % (v / 1e6) for v in values), ratio))
    return 0


def compare(trees, rounds, argv):
    """Run the trees one after the other, ``rounds`` times, alternating.

    Each run is a process of its own (this script with ``--tree``); the
    samples of a tree's runs are pooled and their median printed side by
    side, as a Markdown table, with the load average of each run.
    """
    import subprocess

    pooled = {tree: {} for tree in trees}
    loads = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):
            order = trees if round_ % 2 == 0 else list(reversed(trees))
            for tree in order:
                out = os.path.join(tmp, 'run.json')
                subprocess.run([sys.executable, os.path.abspath(__file__),
                                '--tree', tree, '--json', out] + argv,
                               check=True, stdout=subprocess.DEVNULL,
                               env=dict(os.environ, PYTHONWARNINGS='ignore'))
                with open(out) as fp:
                    got = json.load(fp)
                loads[tree].append((got['loadavg'][0],
                                    got['loadavg_after'][0]))
                for backend, phases in got.items():
                    if not isinstance(phases, dict):
                        continue
                    for name, r in phases.items():
                        rows = [('total', r)] + list(r['hooks'].items())
                        for hook, v in rows:
                            key = (backend, name, hook)
                            slot = pooled[tree].setdefault(key, {
                                'cpu': [], 'wall': [],
                                'count': v.get('statements') is not None
                                and (v['statements'], v['commits'])})
                            slot['cpu'] += v['cpu']
                            slot['wall'] += v['wall']
    names = [os.path.basename(t.rstrip('/')) or t for t in trees]
    print('| backend | phase | hook | %s |' % ' | '.join(
        '%s CPU ms | %s wall ms | statements/commits' % (n, n)
        for n in names) + ' CPU ratio |')
    print('|---|---|---|' + '---|---|---|' * len(trees) + '---|')
    first = pooled[trees[0]]
    for key in first:
        if any(v['cpu'] == [0.0] * len(v['cpu']) for v in (first[key],)):
            continue
        cells = []
        cpus = []
        for tree in trees:
            v = pooled[tree].get(key)
            if v is None:
                cells.append('- | - | -')
                continue
            cpu = statistics.median(v['cpu'])
            cpus.append(cpu)
            count = ('%d/%d' % v['count']) if v['count'] else '-'
            cells.append('%.2f | %.2f | %s' % (
                cpu, statistics.median(v['wall']), count))
        ratio = ('%.2f' % (cpus[-1] / cpus[0])
                 if len(cpus) == len(trees) and cpus[0] else '-')
        label = '**%s**' % key[2] if key[2] == 'total' else key[2]
        print('| %s | %s | %s | %s | %s |' % (
            key[0], key[1], label, ' | '.join(cells), ratio))
    for tree, name in zip(trees, names):
        print('load average (1 min) at start -> end of each run of %s: %s'
              % (name, ', '.join('%.2f -> %.2f' % pair
                                 for pair in loads[tree])))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--deploys', type=int, default=20)
    parser.add_argument('--backends', default='sqlite,postgresql')
    parser.add_argument('--tree', default=str(HERE),
                        help='checkout to import vmetal_ironic from')
    parser.add_argument('--dhcp-calls', type=int, default=1,
                        help='update_dhcp_opts calls per deploy (Ironic '
                        'makes one per ramdisk boot, same options)')
    parser.add_argument('--profile', help='write a cProfile here')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--compare', metavar='TREE', action='append',
                        help='compare checkouts side by side (repeat; this '
                        'one is added last): each runs --rounds times in '
                        'a process of its own, alternating')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--instructions', action='store_true',
                        help='count instructions per deploy/undeploy with '
                        'callgrind instead (load-independent; with '
                        '--compare: every tree)')
    args = parser.parse_args(argv)
    if args.instructions:
        trees = [os.path.abspath(t) for t in args.compare or ()]
        if str(HERE) not in trees:
            trees.append(str(HERE))
        return instructions(trees, args.backends.split(','), args.deploys)
    if args.compare:
        trees = [os.path.abspath(t) for t in args.compare]
        if str(HERE) not in trees:
            trees.append(str(HERE))
        passed = ['--deploys', str(args.deploys), '--backends',
                  args.backends, '--dhcp-calls', str(args.dhcp_calls)]
        return compare(trees, args.rounds, passed)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, os.path.abspath(args.tree))
    from tests.functional import databases

    load = os.getloadavg()
    results = {'tree': os.path.abspath(args.tree), 'loadavg': load}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        for backend in args.backends.split(','):
            with databases.temporary_database(backend, workdir) as url:
                profile = args.profile and '%s.%s' % (args.profile, backend)
                results[backend] = run(url, workdir, args.deploys,
                                       args.dhcp_calls, profile)
    results['loadavg_after'] = os.getloadavg()
    print('tree %s; median of %d; load average %.2f %.2f %.2f'
          % ((results['tree'], args.deploys) + tuple(load)))
    for backend in args.backends.split(','):
        for name in ('deploy', 'undeploy'):
            r = results[backend][name]
            print('%-10s %-8s total cpu %6.2f ms wall %6.2f ms | %s' % (
                backend, name, r['cpu_ms'], r['wall_ms'], ', '.join(
                    '%s %.2f/%.2f' % (h, v['cpu_ms'], v['wall_ms'])
                    for h, v in r['hooks'].items())))
            print('%-10s %-8s SQL statements/commits/rollbacks: %s' % (
                backend, name, ', '.join(
                    '%s %d/%d/%d' % (h, v['statements'], v['commits'],
                                     v['rollbacks'])
                    for h, v in r['hooks'].items())))
    if args.json:
        with open(args.json, 'w') as fp:
            json.dump(results, fp, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
