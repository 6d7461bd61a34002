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

Usage::

    .venv/bin/python benchmarks/ironic_deploy_bench.py [--deploys 20]

Run it beside nothing heavy if possible; the load average is printed with
the numbers.
"""

import argparse
import functools
import json
import os
import statistics
import sys
import threading
import time

TIMING_FILE_ENV = 'VMETAL_BENCH_TIMING_FILE'
_LOCK = threading.Lock()

_NETWORK_HOOKS = (
    'validate', 'add_provisioning_network', 'remove_provisioning_network',
    'configure_tenant_networks', 'unconfigure_tenant_networks',
    'add_cleaning_network', 'remove_cleaning_network', 'need_power_on',
    'vif_list', 'vif_detach', 'get_node_network_data', 'port_changed')
_DHCP_HOOKS = ('update_dhcp_opts', 'clean_dhcp_opts', 'get_ip_addresses')


def _record(node_uuid, name, seconds, cpu_seconds):
    path = os.environ.get(TIMING_FILE_ENV)
    if not path:
        return
    with _LOCK, open(path, 'a') as fp:
        fp.write('%s %s %.9f %.9f\n'
                 % (node_uuid, name, seconds, cpu_seconds))


def _timed(fn, name):
    @functools.wraps(fn)
    def wrapper(self, task, *args, **kwargs):
        start = time.perf_counter()
        cpu = time.thread_time()
        try:
            return fn(self, task, *args, **kwargs)
        finally:
            _record(task.node.uuid, name, time.perf_counter() - start,
                    time.thread_time() - cpu)
    return wrapper


def timed_class(base, hooks):
    """A subclass of ``base`` whose ``hooks`` record their duration."""
    attrs = {name: _timed(getattr(base, name), name) for name in hooks}
    return type('Timed' + base.__name__, (base,), attrs)


# The classes Ironic loads (inside the Ironic process) ----------------------

def _vmetal_network():
    from vmetal_ironic.network import interface
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

    def __init__(self, label, network, dhcp):
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
        self.timing = os.path.join(self.env.state, 'hook-timings.txt')
        self.env.environ[TIMING_FILE_ENV] = self.timing
        self.hooks = {'deploy': [], 'undeploy': []}
        self.wall = {'deploy': [], 'undeploy': []}
        self.per_hook = {'deploy': {}, 'undeploy': {}}
        self.cpu = {'deploy': [], 'undeploy': []}
        self.nodes = []

    def _hook_seconds(self, phase, node_uuid, offset):
        total = cpu_total = 0.0
        per_hook = {}
        try:
            with open(self.timing) as fp:
                fp.seek(offset)
                for line in fp:
                    uuid, name, seconds, cpu = line.split()
                    if uuid == node_uuid:
                        total += float(seconds)
                        cpu_total += float(cpu)
                        per_hook[name] = per_hook.get(name, 0.0) + float(
                            seconds)
        except FileNotFoundError:
            pass
        for name, seconds in per_hook.items():
            self.per_hook[phase].setdefault(name, []).append(seconds)
        self.cpu[phase].append(cpu_total)
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
        self._timed_transition('deploy', node, 'active', ('active',))

    def undeploy(self, node):
        self._timed_transition('undeploy', node, 'deleted', ('available',))


def _ms(values):
    return statistics.median(values) * 1000.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--deploys', type=int, default=20)
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

    sides = [Side('vmetal', 'vmetal-timed', 'vmetal-timed'),
             Side('noop+none', 'noop-timed', 'none-timed')]
    load_before = os.getloadavg()
    try:
        for side in sides:
            side.prepare(args.deploys)
        for i in range(args.deploys):           # interleaved
            for side in sides:
                side.deploy(side.nodes[i])
        for i in range(args.deploys):
            for side in sides:
                side.undeploy(side.nodes[i])
    finally:
        for side in sides:
            side.env.stop()
    load_after = os.getloadavg()

    vm, ref = sides
    result = {'deploys': args.deploys,
              'loadavg_before': load_before, 'loadavg_after': load_after}
    print('Ironic 39, fake-hardware + ipxe + custom-agent, fake IPA; '
          'median of %d, sequential' % args.deploys)
    print('load average before %.2f %.2f %.2f, after %.2f %.2f %.2f'
          % (load_before + load_after))
    print('hooks = time inside the network/DHCP hooks per deploy (wall '
          'clock; cpu = CPU time of the conductor thread in them)')
    print('%-9s | %-13s | %-13s | %-10s | %-11s | %-13s | %-13s' % (
        'phase', 'hooks vmetal', 'hooks ref', 'added', 'cpu vmetal',
        'wall vmetal', 'wall ref'))
    for phase in ('deploy', 'undeploy'):
        row = {'hooks_vmetal_ms': _ms(vm.hooks[phase]),
               'hooks_reference_ms': _ms(ref.hooks[phase]),
               'cpu_vmetal_ms': _ms(vm.cpu[phase]),
               'cpu_reference_ms': _ms(ref.cpu[phase]),
               'wall_vmetal_ms': _ms(vm.wall[phase]),
               'wall_reference_ms': _ms(ref.wall[phase])}
        row['added_ms'] = row['hooks_vmetal_ms'] - row['hooks_reference_ms']
        row['wall_ratio'] = row['wall_vmetal_ms'] / row['wall_reference_ms']
        result[phase] = row
        print('%-9s | %10.2f ms | %10.2f ms | %7.2f ms | %8.2f ms | '
              '%10.0f ms | %10.0f ms' % (
                  phase, row['hooks_vmetal_ms'], row['hooks_reference_ms'],
                  row['added_ms'], row['cpu_vmetal_ms'],
                  row['wall_vmetal_ms'], row['wall_reference_ms']))
    print('deploy wall-time ratio vmetal / noop+none: %.3f'
          % result['deploy']['wall_ratio'])
    for phase in ('deploy', 'undeploy'):
        hooks = {name: _ms(values)
                 for name, values in sorted(vm.per_hook[phase].items())}
        result[phase]['vmetal_hooks_ms'] = hooks
        print('vmetal %s, median ms per hook (summed over its calls): %s'
              % (phase, ', '.join('%s %.2f' % kv for kv in hooks.items())))
    if args.json:
        with open(args.json, 'w') as fp:
            json.dump(result, fp, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
