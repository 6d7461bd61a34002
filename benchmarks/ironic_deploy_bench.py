#!/usr/bin/env python3
"""How much time the vmetal hooks add to one Ironic deploy.

Two real Ironic 39 processes run side by side in one run (the functional
tests' IronicEnv: single-process ``ironic``, SQLite, noauth, fake IPA):

* **vmetal**: network interface ``vmetal``, ``[dhcp]dhcp_provider = vmetal``;
* **reference**: Ironic's in-tree ``noop`` network and ``none`` DHCP.

In each, the network interface and DHCP provider are loaded through thin
timing subclasses (registered as extra entry points: ``vmetal-timed``,
``noop-timed``, ``none-timed``) that record the duration of every hook
call. Nodes are deployed one at a time, alternating between the two
Ironic processes, with the same flow (fake-hardware, ipxe, custom-agent,
no automated cleaning); for each deploy the time spent in the network and
DHCP hooks is summed. Reported: the median over N deploys of that sum for
both, the difference (the vmetal overhead per deploy), and the median
end-to-end deploy time of both as context; the same for undeploy.

The time the hooks spend in Ironic's own ``node.save()`` (the
network_data and config drive written by ``add_provisioning_network``,
the restored document at tear down) is measured apart, so that what
vmetal itself costs is the hooks' time minus that.

Usage::

    .venv/bin/python benchmarks/ironic_deploy_bench.py [--deploys 20]
        [--ipam-backends sqlite,postgresql] [--compare /work/main]

``--ipam-backends`` runs the vmetal side once per IPAM store (a SQLite
file, or a throw-away database on the local PostgreSQL); ``--compare
DIR`` adds a vmetal side running another checkout's ``vmetal_ironic``
(e.g. ``git worktree add /tmp/base main``) to the same interleaved run,
so that before and after are measured side by side.

``--parallel N [--conductors 4] [--sequential 12]`` measures contention
instead: N deploys asked for at the same instant over 4 Ironic processes
(conductors) sharing one PostgreSQL IPAM store (see :func:`parallel`).

Run it beside nothing heavy if possible; the load average is printed with
the numbers.
"""

import argparse
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time

TIMING_FILE_ENV = 'VMETAL_BENCH_TIMING_FILE'
PROFILE_ENV = 'VMETAL_BENCH_PROFILE'
_LOCK = threading.Lock()
_PROFILE_LOCK = threading.Lock()     # one profiled hook at a time
_PROFILER = []

_NETWORK_HOOKS = (
    'validate', 'add_provisioning_network', 'remove_provisioning_network',
    'configure_tenant_networks', 'unconfigure_tenant_networks',
    'add_cleaning_network', 'remove_cleaning_network', 'need_power_on',
    'vif_list', 'vif_detach', 'get_node_network_data', 'port_changed')
_DHCP_HOOKS = ('update_dhcp_opts', 'clean_dhcp_opts', 'get_ip_addresses')


def _record(node_uuid, name, seconds, cpu_seconds, saved):
    path = os.environ.get(TIMING_FILE_ENV)
    if not path:
        return
    with _LOCK, open(path, 'a') as fp:
        fp.write('%s %s %.9f %.9f %.9f %.9f\n'
                 % (node_uuid, name, seconds, cpu_seconds, saved[0],
                    saved[1]))


def _profiler():
    """The process's cProfile (CPU time) when asked for, else None."""
    path = os.environ.get(PROFILE_ENV)
    if not path:
        return None
    with _PROFILE_LOCK:
        if not _PROFILER:
            import cProfile
            _PROFILER.append(cProfile.Profile(time.thread_time))
    return _PROFILER[0]


def _timed(fn, name):
    @functools.wraps(fn)
    def wrapper(self, task, *args, **kwargs):
        profiler = _profiler()
        if profiler is not None:
            with _PROFILE_LOCK:
                profiler.enable()
                try:
                    return _measured(fn, name, self, task, *args, **kwargs)
                finally:
                    profiler.disable()
                    profiler.dump_stats(os.environ[PROFILE_ENV])
        return _measured(fn, name, self, task, *args, **kwargs)
    return wrapper


def _measured(fn, name, self, task, *args, **kwargs):
    node = task.node
    saved = [0.0, 0.0]      # wall, CPU in Ironic's node.save()
    original = node.save

    def save(*a, **kw):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*a, **kw)
        finally:
            saved[0] += time.perf_counter() - start
            saved[1] += time.thread_time() - cpu
    node.save = save
    start = time.perf_counter()
    cpu = time.thread_time()
    try:
        return fn(self, task, *args, **kwargs)
    finally:
        seconds = time.perf_counter() - start
        cpu = time.thread_time() - cpu
        del node.save
        _record(node.uuid, name, seconds, cpu, saved)


def timed_class(base, hooks):
    """A subclass of ``base`` whose ``hooks`` record their duration."""
    attrs = {name: _timed(getattr(base, name), name) for name in hooks}
    return type('Timed' + base.__name__, (base,), attrs)


# The classes Ironic loads (inside the Ironic process) ----------------------

IPAM_TIMING_SUFFIX = '.ipam'
_IPAM_TIMED = []


def _time_ipam():
    """Record every ``ensure_network`` (the allocation's transaction).

    One line per call in the timing file + ``.ipam``: node, wall, thread
    CPU, and the process's IPAM transaction reruns so far
    (``Database.retries``).
    """
    from vmetal_ironic.ipam import manager
    with _LOCK:
        if _IPAM_TIMED:
            return
        _IPAM_TIMED.append(True)
    original = manager.IPAMManager.ensure_network

    @functools.wraps(original)
    def ensure_network(self, facts, *args, **kwargs):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(self, facts, *args, **kwargs)
        finally:
            seconds = time.perf_counter() - start
            cpu = time.thread_time() - cpu
            path = os.environ.get(TIMING_FILE_ENV)
            if path:
                with _LOCK, open(path + IPAM_TIMING_SUFFIX, 'a') as fp:
                    fp.write('%s %.9f %.9f %d\n' % (
                        facts.uuid, seconds, cpu, self.database.retries))
    manager.IPAMManager.ensure_network = ensure_network


def _vmetal_network():
    from vmetal_ironic.network import interface
    _time_ipam()
    return timed_class(interface.VmetalNetwork, _NETWORK_HOOKS)


def _noop_network():
    from ironic.drivers.modules.network import noop
    return timed_class(noop.NoopNetwork, _NETWORK_HOOKS)


def _vmetal_dhcp():
    from vmetal_ironic.dhcp import provider
    return timed_class(provider.VmetalDHCP, _DHCP_HOOKS)


def _none_dhcp():
    from ironic.dhcp import none
    return timed_class(none.NoneDHCPApi, _DHCP_HOOKS)


class _Lazy(object):
    """Build the timed class when Ironic's stevedore loads the name."""

    def __init__(self, factory):
        self._factory = factory
        self._cls = None

    def __call__(self, *args, **kwargs):
        if self._cls is None:
            self._cls = self._factory()
        return self._cls(*args, **kwargs)


TimedVmetalNetwork = _Lazy(_vmetal_network)
TimedNoopNetwork = _Lazy(_noop_network)
TimedVmetalDHCP = _Lazy(_vmetal_dhcp)
TimedNoneDHCP = _Lazy(_none_dhcp)

ENTRY_POINTS = """\
[ironic.hardware.interfaces.network]
vmetal-timed = ironic_deploy_bench:TimedVmetalNetwork
noop-timed = ironic_deploy_bench:TimedNoopNetwork

[ironic.dhcp]
vmetal-timed = ironic_deploy_bench:TimedVmetalDHCP
none-timed = ironic_deploy_bench:TimedNoneDHCP
"""


# The driver (the benchmark process) ----------------------------------------

class Side(object):
    """One Ironic process and its hook timings."""

    def __init__(self, label, network, dhcp, tree=None, ipam_url=None,
                 profile=None):
        from tests.fixtures import ironic as ironic_env

        self.label = label
        self.network = network
        bench_dir = os.path.dirname(os.path.abspath(__file__))
        self.env = ironic_env.IronicEnv(
            notifications=(network == 'vmetal-timed'),
            extra={'DEFAULT': {
                'enabled_hardware_types': 'fake-hardware',
                'enabled_network_interfaces': '%s,noop,vmetal' % network,
                'default_network_interface': network},
                'dhcp': {'dhcp_provider': dhcp}},
            entry_points=ENTRY_POINTS, pythonpath=[bench_dir])
        if ipam_url:
            self.env.ipam_url = ipam_url
        if tree:
            # That checkout's vmetal_ironic first, for Ironic and dbsync.
            environ = self.env._environ

            def _environ():
                env = environ()
                env['PYTHONPATH'] = os.pathsep.join([tree,
                                                     env['PYTHONPATH']])
                return env
            self.env._environ = _environ

            def _run(*argv):
                # From that checkout: ``python -c`` puts the working
                # directory first on sys.path (vmetal-dbsync's schema).
                subprocess.run(argv, check=True, env=_environ(), cwd=tree,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, timeout=120)
            self.env._run = _run
        self.timing = os.path.join(self.env.state, 'hook-timings.txt')
        self.env.environ[TIMING_FILE_ENV] = self.timing
        if profile:
            self.env.environ[PROFILE_ENV] = profile
        self.hooks = {'deploy': [], 'undeploy': []}
        self.wall = {'deploy': [], 'undeploy': []}
        self.per_hook = {'deploy': {}, 'undeploy': {}}
        self.cpu = {'deploy': [], 'undeploy': []}
        # Ironic's node.save() inside the hooks: wall and CPU.
        self.save = {'deploy': [], 'undeploy': []}
        self.save_cpu = {'deploy': [], 'undeploy': []}
        self.nodes = []

    def _hook_seconds(self, phase, node_uuid, offset):
        total = cpu_total = save_total = save_cpu = 0.0
        per_hook = {}
        try:
            with open(self.timing) as fp:
                fp.seek(offset)
                for line in fp:
                    uuid, name, seconds, cpu, saved, saved_cpu = (
                        line.split())
                    if uuid == node_uuid:
                        total += float(seconds)
                        cpu_total += float(cpu)
                        save_total += float(saved)
                        save_cpu += float(saved_cpu)
                        per_hook[name] = per_hook.get(name, 0.0) + float(
                            seconds)
        except FileNotFoundError:
            pass
        for name, seconds in per_hook.items():
            self.per_hook[phase].setdefault(name, []).append(seconds)
        self.cpu[phase].append(cpu_total)
        self.save[phase].append(save_total)
        self.save_cpu[phase].append(save_cpu)
        return total

    def _offset(self):
        try:
            return os.path.getsize(self.timing)
        except FileNotFoundError:
            return 0

    def prepare(self, count):
        self.env.start()
        for _ in range(count):
            node = self.env.create_node(
                network=self.network,
                extra_fields={'automated_clean': False})
            self.env.provide(node['uuid'])
            # A node runs the ramdisk only while it deploys: the fake IPA
            # answers for it then (see deploy). Left attached, every idle
            # node's fake ramdisk would look itself up twice a second,
            # API requests in the conductor's process that the hooks'
            # wall would pay for (doc/performance.md).
            self.env.ipa.detach(node['uuid'])
            self.nodes.append(node)

    def _timed_transition(self, phase, node, target, states):
        offset = self._offset()
        start = time.perf_counter()
        self.env.set_state(node['uuid'], target)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = self.env.node(node['uuid'])
            if (got['provision_state'] in states
                    and got['target_provision_state'] is None):
                break
            if got['provision_state'].endswith('failed'):
                raise RuntimeError('%s: %s' % (self.label, got['last_error']))
            time.sleep(0.02)
        else:
            raise RuntimeError('%s: %s of %s timed out' % (
                self.label, phase, node['uuid']))
        self.wall[phase].append(time.perf_counter() - start)
        time.sleep(0.3)         # let the last hooks' records land
        self.hooks[phase].append(
            self._hook_seconds(phase, node['uuid'], offset))

    def deploy(self, node):
        self.env.patch(node['uuid'], [{'op': 'add', 'path': '/instance_info',
                                       'value': self.env.instance_info()}])
        self.env.ipa.attach(node['uuid'], node['mac'])
        try:
            self._timed_transition('deploy', node, 'active', ('active',))
        finally:
            self.env.ipa.detach(node['uuid'])

    def undeploy(self, node):
        self._timed_transition('undeploy', node, 'deleted', ('available',))


def _ms(values):
    return statistics.median(values) * 1000.0


def _run_sides(sides, deploys):
    try:
        for side in sides:
            side.prepare(deploys)
        for i in range(deploys):                # interleaved
            for side in sides:
                side.deploy(side.nodes[i])
        for i in range(deploys):
            for side in sides:
                side.undeploy(side.nodes[i])
    finally:
        for side in sides:
            side.env.stop()


def _report(sides, result):
    ref = sides[-1]
    print('%-22s | %-8s | %-11s | %-11s | %-16s | %-16s | %-9s' % (
        'side', 'phase', 'hooks wall', 'hooks CPU', 'node.save wall/CPU',
        'vmetal wall/CPU', 'wall'))
    for side in sides:
        for phase in ('deploy', 'undeploy'):
            own = [h - s for h, s in zip(side.hooks[phase],
                                         side.save[phase])]
            own_cpu = [c - s for c, s in zip(side.cpu[phase],
                                             side.save_cpu[phase])]
            row = {'hooks_ms': _ms(side.hooks[phase]),
                   'cpu_ms': _ms(side.cpu[phase]),
                   'save_ms': _ms(side.save[phase]),
                   'save_cpu_ms': _ms(side.save_cpu[phase]),
                   'own_ms': _ms(own), 'own_cpu_ms': _ms(own_cpu),
                   'wall_ms': _ms(side.wall[phase]),
                   'wall_ratio': (_ms(side.wall[phase])
                                  / _ms(ref.wall[phase])),
                   'per_hook_ms': {
                       name: _ms(values) for name, values in
                       sorted(side.per_hook[phase].items())}}
            result.setdefault(side.label, {})[phase] = row
            print('%-22s | %-8s | %8.2f ms | %8.2f ms | %6.2f / %5.2f ms '
                  '| %6.2f / %5.2f ms | %6.0f ms' % (
                      side.label, phase, row['hooks_ms'], row['cpu_ms'],
                      row['save_ms'], row['save_cpu_ms'], row['own_ms'],
                      row['own_cpu_ms'], row['wall_ms']))
    for side in sides[:-1]:
        for phase in ('deploy', 'undeploy'):
            print('%s %s, median wall ms per hook (summed over its calls): '
                  '%s' % (side.label, phase, ', '.join(
                      '%s %.2f' % kv for kv in
                      result[side.label][phase]['per_hook_ms'].items())))


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _ipam_lines(side):
    """node -> (wall s, CPU s) of its first ensure_network; max reruns."""
    first, reruns = {}, 0
    try:
        with open(side.timing + IPAM_TIMING_SUFFIX) as fp:
            for line in fp:
                uuid, seconds, cpu, retries = line.split()
                first.setdefault(uuid, (float(seconds), float(cpu)))
                reruns = max(reruns, int(retries))
    except FileNotFoundError:
        pass
    return first, reruns


def _hook_lines(side, hook):
    """node -> wall s of ``hook`` (its first call)."""
    first = {}
    with open(side.timing) as fp:
        for line in fp:
            uuid, name, seconds = line.split()[:3]
            if name == hook:
                first.setdefault(uuid, float(seconds))
    return first


def _fire_at_once(targets):
    """Ask for every (side, node) deploy at the same instant."""
    import concurrent.futures
    barrier = threading.Barrier(len(targets))

    def fire(target):
        side, node = target
        side.env.patch(node['uuid'], [{'op': 'add', 'path': '/instance_info',
                                       'value': side.env.instance_info()}])
        side.env.ipa.attach(node['uuid'], node['mac'])
        barrier.wait()
        side.env.set_state(node['uuid'], 'active')
    with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
        list(pool.map(fire, targets))


def _wait_all(targets, timeout=600):
    pending = list(targets)
    failed = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for side, node in list(pending):
            got = side.env.node(node['uuid'])
            if got['provision_state'] == 'active' and \
                    got['target_provision_state'] is None:
                pending.remove((side, node))
            elif got['provision_state'].endswith('failed'):
                failed.append((node['uuid'], got['last_error']))
                pending.remove((side, node))
        time.sleep(0.2)
    return pending, failed


def _stats(label, values):
    values = [v * 1000.0 for v in values]
    return {'label': label, 'n': len(values),
            'p50_ms': statistics.median(values),
            'p99_ms': _percentile(values, 0.99), 'max_ms': max(values)}


def parallel(args):
    """``--parallel``: each tree (``--compare``, then this) in turn."""
    trees = [(os.path.basename(t.rstrip('/')), os.path.abspath(t))
             for t in args.compare] + [('this', None)]
    results, worst = [], 0
    for round_ in range(args.rounds):
        for name, tree in trees:
            print('\n== %s, round %d' % (name, round_ + 1))
            result, code = _parallel_once(args, tree)
            result['tree'] = name
            results.append(result)
            worst = max(worst, code)
    if args.json:
        with open(args.json, 'w') as fp:
            json.dump(results, fp, indent=2)
    return worst


_NOISE = ('Lookup is not allowed',)    # the fake IPA polls every node


def _parallel_once(args, tree):
    """``--parallel N``: N deploys at once over ``--conductors`` Ironics.

    Every conductor (a single-process Ironic 39 with its own fake IPA) is
    a separate process on one PostgreSQL IPAM database and one pool, as
    the conductors of one deployment are. First ``--sequential`` deploys
    one at a time (uncontended; after one warm-up deploy per conductor,
    not counted), then N more asked for at the same instant. Reported:
    deploys that failed, the addresses (all distinct), IPAM transaction
    reruns, and the allocation's time (``ensure_network`` in
    ``add_provisioning_network``) uncontended and under contention.
    """
    import pathlib
    import tempfile

    from tests.functional import databases

    count = args.conductors
    per = -(-args.parallel // count)
    seq = -(-args.sequential // count)
    result = {'conductors': count, 'parallel': args.parallel,
              'sequential': seq * count}
    with tempfile.TemporaryDirectory() as tmp, \
            databases.temporary_database('postgresql',
                                         pathlib.Path(tmp)) as url:
        sides = [Side('conductor-%d' % i, 'vmetal-timed', 'vmetal-timed',
                      ipam_url=url, tree=tree) for i in range(count)]
        try:
            for side in sides:
                side.prepare(1 + seq + per)
                side.deploy(side.nodes.pop(0))      # warm-up
            load = [os.getloadavg()]
            for i in range(seq):
                for side in sides:
                    side.deploy(side.nodes[i])
            load.append(os.getloadavg())
            targets = [(side, node) for side in sides
                       for node in side.nodes[seq:]][:args.parallel]
            start = time.perf_counter()
            _fire_at_once(targets)
            pending, failed = _wait_all(targets)
            result['parallel_wall_s'] = time.perf_counter() - start
            load.append(os.getloadavg())
            time.sleep(0.5)
            result['loadavg'] = load
            rows = databases.active_allocations(url)
            ipam, reruns, hooks = {}, 0, {}
            for side in sides:
                lines, side_reruns = _ipam_lines(side)
                ipam.update(lines)
                reruns += side_reruns
                hooks.update(_hook_lines(side, 'add_provisioning_network'))
            errors = []
            for side in sides:
                with open(side.env.log_file) as fp:
                    errors.extend(
                        line for line in fp if ' ERROR ' in line
                        and not any(n in line for n in _NOISE))
        finally:
            for side in sides:
                side.env.stop()
    seq_nodes = [n['uuid'] for side in sides for n in side.nodes[:seq]]
    par_nodes = [node['uuid'] for _, node in targets]
    addresses = dict(rows)
    result.update({
        'not_active': len(pending), 'failed': failed,
        'ironic_log_errors': errors, 'ipam_reruns': reruns,
        'active_allocations': len(addresses),
        'distinct_addresses': len(set(addresses.values())),
        'all_allocated': all(n in addresses for n in seq_nodes + par_nodes),
        'allocation': [
            _stats('uncontended', [ipam[n][0] for n in seq_nodes]),
            _stats('contended', [ipam[n][0] for n in par_nodes])],
        'allocation_cpu': [
            _stats('uncontended', [ipam[n][1] for n in seq_nodes]),
            _stats('contended', [ipam[n][1] for n in par_nodes])],
        'add_provisioning_network': [
            _stats('uncontended', [hooks[n] for n in seq_nodes]),
            _stats('contended', [hooks[n] for n in par_nodes])]})
    print('%d conductors (Ironic processes) on one PostgreSQL IPAM store; '
          '%d deploys one at a time, then %d at once (all %s in %.1f s)'
          % (count, seq * count, len(par_nodes),
             'active' if not pending and not failed else 'NOT active',
             result['parallel_wall_s']))
    print('load average: before %.2f, after the sequential %.2f, after '
          'the parallel %.2f' % tuple(la[0] for la in result['loadavg']))
    print('failed %d, not active %d, Ironic log ERROR lines %d, IPAM '
          'transaction reruns %d; %d active allocations, %d distinct '
          'addresses, every node allocated: %s' % (
              len(failed), len(pending), len(errors), reruns,
              len(addresses),
              len(set(addresses.values())), result['all_allocated']))
    for line in errors[:5]:
        print('  ' + line.rstrip()[:300])
    print('| what | deploys | p50 ms | p99 ms | max ms |')
    print('| --- | --- | --- | --- | --- |')
    for key in ('allocation', 'allocation_cpu', 'add_provisioning_network'):
        for row in result[key]:
            print('| %s, %s | %d | %.2f | %.2f | %.2f |' % (
                key, row['label'], row['n'], row['p50_ms'], row['p99_ms'],
                row['max_ms']))
    return result, 0 if not pending and not failed else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--deploys', type=int, default=20)
    parser.add_argument('--ipam-backends', default='sqlite',
                        help='comma-separated: sqlite, postgresql')
    parser.add_argument('--compare', metavar='TREE', action='append',
                        default=[], help='another checkout to run beside '
                        'this one (repeat)')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--parallel', type=int, metavar='N',
                        help='instead: N deploys at once over --conductors '
                        'Ironic processes on one PostgreSQL IPAM store')
    parser.add_argument('--conductors', type=int, default=4)
    parser.add_argument('--sequential', type=int, default=12,
                        help='with --parallel: uncontended deploys first')
    parser.add_argument('--rounds', type=int, default=1,
                        help='with --parallel: run every tree this often')
    parser.add_argument('--profile', metavar='DIR',
                        help='write a cProfile (CPU time) of each vmetal '
                        'side\'s hooks into DIR (inflates the times)')
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, here)
    if args.parallel:
        return parallel(args)
    import pathlib
    import tempfile

    from tests.functional import databases

    trees = [(os.path.basename(t.rstrip('/')), os.path.abspath(t))
             for t in args.compare] + [('this', None)]
    result = {'deploys': args.deploys, 'loadavg': {}}
    print('Ironic 39, fake-hardware + ipxe + custom-agent, fake IPA; '
          'median of %d, sequential, interleaved' % args.deploys)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.ipam_backends.split(','):
            with contextlib.ExitStack() as stack:
                sides = []
                for name, tree in trees:
                    url = None
                    if backend != 'sqlite':
                        url = stack.enter_context(
                            databases.temporary_database(
                                backend, pathlib.Path(tmp)))
                    label = '%s %s' % (name, backend)
                    profile = args.profile and os.path.join(
                        os.path.abspath(args.profile),
                        label.replace(' ', '-') + '.prof')
                    sides.append(Side(label, 'vmetal-timed', 'vmetal-timed',
                                      tree=tree, ipam_url=url,
                                      profile=profile))
                sides.append(Side('noop+none', 'noop-timed', 'none-timed'))
                before = os.getloadavg()
                _run_sides(sides, args.deploys)
                after = os.getloadavg()
            result['loadavg'][backend] = (before, after)
            print('\nIPAM store %s; load average before %.2f %.2f %.2f, '
                  'after %.2f %.2f %.2f' % ((backend,) + before + after))
            print('hooks = wall time inside the network/DHCP hooks per '
                  'deploy; CPU = conductor thread CPU in them; vmetal = '
                  'hooks minus Ironic\'s node.save() in them')
            _report(sides, result)
    if args.json:
        with open(args.json, 'w') as fp:
            json.dump(result, fp, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
