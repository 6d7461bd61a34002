"""One real server through Ironic's whole life cycle, with a timeline.

Used by the flow tests (``test_flows.py``) and by ``tools/demo.sh``
(``python -m tests.functional.vm.flow``). :func:`run` drives a node from
enrolment to deletion on a :class:`tests.fixtures.real_server.Bed` and
checks each step on the real thing (the agent's log, the VM, the IPAM
store); :class:`Timeline` turns the timestamps of the VM's power-ons
(libvirt's QEMU log), its DHCP and its ramdisk's calls (the agent's log)
into the per-phase durations the issue asks for.
"""

import argparse
import datetime
import os
import pathlib
import re
import shutil
import sys
import tempfile
import time

from tests.fixtures import real_server as rs
from tests.fixtures import segments as seg
from vmetal_ironic.ipam import records

TS = re.compile(r'^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d+)')


def _epoch(stamp):
    stamp = stamp.replace('T', ' ')[:26]
    return datetime.datetime.strptime(stamp, '%Y-%m-%d %H:%M:%S.%f').replace(
        tzinfo=datetime.timezone.utc).timestamp()


def _stamped(text, *needles):
    """Epoch seconds of the lines of ``text`` containing all ``needles``."""
    out = []
    for line in text.splitlines():
        if all(needle in line for needle in needles):
            m = TS.match(line)
            if m:
                out.append(_epoch(m.group(1)))
    return out


class Timeline:
    """Named instants (epoch seconds) and the phases between them."""

    def __init__(self, say=None):
        self.t0 = time.time()
        self.marks = []
        self.say = say or (lambda text: None)

    def mark(self, name, when=None):
        when = time.time() if when is None else when
        self.marks.append((name, when))
        self.say('[%6.1fs] %s' % (when - self.t0, name))
        return when

    def at(self, name):
        for n, when in self.marks:
            if n == name:
                return when
        return None

    def span(self, start, end):
        a, b = self.at(start), self.at(end)
        return None if a is None or b is None else b - a

    def report(self, spans):
        lines = []
        for label, start, end in spans:
            d = self.span(start, end)
            lines.append('  %-34s %s' % (label, '-' if d is None
                                         else '%7.1f s' % d))
        return '\n'.join(lines)


def _first_after(times, after):
    later = [t for t in times if t >= after - 0.5]
    return min(later) if later else None


def _boot_marks(bed, m, tl, label, since, ip, uuid):
    """Power-on, first DHCP, first heartbeat of a boot (marked in ``tl``).

    The boot is the first one begun after ``since`` (epoch); the instants
    come from libvirt's and the agent's logs.
    """
    on = _first_after(_stamped(bed.libvirtd.qemu_log(m.name, None),
                               'starting up'), since)
    log = bed.agent.log()
    dhcp = _first_after(_stamped(log, 'DISCOVER xid', 'from %s' % m.mac),
                        on or since)
    beat = _first_after(_stamped(log, "HTTP %s: POST '/v1/heartbeat/%s'"
                                 % (ip, uuid)), on or since)
    for name, when in (('power on', on), ('first DHCP', dhcp),
                       ('first heartbeat', beat)):
        if when is not None:
            tl.mark('%s: %s' % (label, name), when)
    return on, dhcp, beat


def _inventory_ip(inventory, mac):
    for iface in inventory.get('inventory', {}).get('interfaces', []):
        if iface.get('mac_address', '').lower() == mac:
            return iface.get('ipv4_address')
    return None


def run(bed, m, boot='ipxe', say=print, workdir=None, fast_track=False,
        until=None):
    """Drive ``m`` through the whole flow; return the Timeline.

    enroll -> manage -> inspect -> provide -> deploy -> OS up -> undeploy
    -> delete, asserting each step. ``until='cleaning'`` deletes the node
    once automated cleaning is done (how far the suite goes today: see
    doc/real-server.md, "Where the flow stops").
    """
    env = bed.ironic
    slow = rs.SLOW
    tl = Timeline(say)
    node = bed.enroll(m, boot=boot, fast_track=fast_track)
    uuid = node['uuid']
    tl.mark('enrolled %s (%s, %s, %s%s)' % (
        m.name, node['driver'], boot, m.firmware,
        ', fast track' if fast_track else ''))
    env.set_state(uuid, 'manage')
    node = env.wait_state(uuid, 'manageable', 120)
    assert node['power_state'] == 'power off', node['power_state']
    tl.mark('manageable (power state read over the BMC)')
    # -- inspection ------------------------------------------------------
    start = tl.mark('inspect')
    env.set_state(uuid, 'inspect')
    node = env.wait_state(uuid, 'manageable', 900 * slow)
    tl.mark('inspected')
    # The address the ramdisk had (its inventory, through the proxy): the
    # inspection-scoped allocation ends with inspection; cleaning and
    # deploy must get the same address back (checked below).
    inventory = env.api('GET', '/nodes/%s/inventory' % uuid, expect=200)
    ip = _inventory_ip(inventory, m.mac)
    assert ip and ip.startswith('172.22.0.'), inventory['inventory']
    _boot_marks(bed, m, tl, 'inspection', start, ip, uuid)
    assert node['properties'].get('cpu_arch') == 'x86_64', node['properties']
    log = bed.agent.log()
    assert "HTTP %s: POST '/v1/continue_inspection'" % ip in log
    # -- cleaning --------------------------------------------------------
    start = tl.mark('provide (automated cleaning)')
    env.set_state(uuid, 'provide')
    node = env.wait_state(uuid, 'available', 900 * slow)
    tl.mark('available')
    _, _, beat = _boot_marks(bed, m, tl, 'cleaning', start, ip, uuid)
    # Cleaning's allocation is short-lived (released when cleaning ends);
    # the ramdisk heartbeated from the inspection address meanwhile.
    assert beat is not None, 'no heartbeat from %s in cleaning' % ip
    assert env.ipam.list_reservations(node_uuid=uuid) == []
    if until == 'cleaning':
        _delete(env, uuid, ip, tl)
        return tl
    assert 'erase_devices_metadata' in env.log()
    # -- deploy ----------------------------------------------------------
    start = tl.mark('deploy')
    env.patch(uuid, [{'op': 'add', 'path': '/instance_info',
                      'value': bed.disk_instance_info()}])
    env.set_state(uuid, 'active', configdrive={
        'meta_data': {'hostname': m.name, 'uuid': uuid}})
    node = env.wait_state(uuid, ('active', 'deploy failed'), 1200 * slow)
    assert node['provision_state'] == 'active', node['last_error']
    tl.mark('active (the boot device is the disk)')
    _boot_marks(bed, m, tl, 'deploy', start, ip, uuid)
    log = bed.agent.log()
    assert "HTTP %s: GET '/agent_images/%s'" % (ip, uuid) in log
    assert 'Callback: node %s ramdisk' % uuid in log
    [network] = node['network_data']['networks']
    assert network['ip_address'] == ip
    # -- the deployed OS ---------------------------------------------------
    rs.wait_for(lambda: bed.ping(ip, count=1, timeout=5), 600 * slow,
                interval=2, what='%s answering on %s' % (m.name, ip))
    tl.mark('OS up: %s answers on %s (from the agent namespace)'
            % (m.name, ip))
    work = workdir or tempfile.mkdtemp(prefix='vmetal-cd-')
    try:
        data = rs.read_config_drive(m.disk, work)
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    assert data and data['networks'][0]['ip_address'] == ip, data
    tl.mark("config drive's network_data.json holds %s" % ip)
    # -- tear down -------------------------------------------------------
    tl.mark('undeploy (cleaning)')
    env.set_state(uuid, 'deleted')
    node = env.wait_state(uuid, ('available', 'clean failed'), 900 * slow)
    assert node['provision_state'] == 'available', node['last_error']
    tl.mark('available again')
    _delete(env, uuid, ip, tl)
    return tl


def _delete(env, uuid, ip, tl):
    env.delete(uuid)
    assert env.ipam.list_reservations(node_uuid=uuid) == []
    assert [a for a in env.ipam.list_allocations()
            if a.node_uuid == uuid and a.state == records.ACTIVE] == []
    tl.mark('deleted: %s released, no reservation left' % ip)


SPANS = (
    ('inspection: power-on -> first DHCP', 'inspection: power on',
     'inspection: first DHCP'),
    ('inspection: power-on -> heartbeat', 'inspection: power on',
     'inspection: first heartbeat'),
    ('inspection (whole)', 'inspect', 'inspected'),
    ('cleaning: power-on -> heartbeat', 'cleaning: power on',
     'cleaning: first heartbeat'),
    ('cleaning (whole)', 'provide (automated cleaning)', 'available'),
    ('deploy: power-on -> heartbeat', 'deploy: power on',
     'deploy: first heartbeat'),
    ('deploy (whole)', 'deploy', 'active (the boot device is the disk)'),
)


def report(tl):
    up = [n for n, _ in tl.marks if n.startswith('OS up')]
    spans = list(SPANS)
    if up:
        spans.append(('reboot -> OS up', 'active (the boot device is the '
                      'disk)', up[0]))
    spans.append(('undeploy (cleaning)', 'undeploy (cleaning)',
                  'available again'))
    first = tl.marks[0][0]
    last = tl.marks[-1][0]
    spans.append(('whole chain', first, last))
    return tl.report(spans)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--firmware', choices=('bios', 'uefi'),
                        default='bios')
    parser.add_argument('--bmc', choices=('redfish', 'ipmi'),
                        default='redfish')
    parser.add_argument('--fast-track', action='store_true',
                        help='keep the inspection ramdisk up for cleaning '
                        'and deploy (one ramdisk boot fewer each)')
    args = parser.parse_args()
    from tests.functional import databases
    images = rs.find_images()
    missing = [k for k, v in images.items() if not v]
    if missing:
        print('images missing (%s): run tools/build-ramdisk.sh and '
              'tools/build-disk-image.sh' % ', '.join(missing))
        return 2
    say = (lambda text: print(text, flush=True))
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-demo-'))
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with rs.Bed(seg.postgresql_socket_url(url), images,
                        prefix='vdm') as bed:
                say('bed: Ironic + sushy-emulator + vbmcd in the cluster '
                    'namespace, the agent with two legs, libvirtd in the '
                    'provisioning switch (VMs under %s)' % (
                        'KVM' if rs.lv.kvm_runs_firmware(args.firmware)
                        else 'TCG'))
                bed.start()
                m = bed.add_machine('demo-' + args.firmware,
                                    '52:54:00:9a:01:01', args.firmware,
                                    args.bmc)
                tl = run(bed, m, say=say, fast_track=args.fast_track)
                say('phases:\n' + report(tl))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('PYTHONWARNINGS', 'ignore')
    sys.exit(main())
