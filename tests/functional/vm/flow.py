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
import json
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
        self.deadline = None    # time.monotonic() no wait goes past

    def mark(self, name, when=None):
        when = time.time() if when is None else when
        self.marks.append((name, when))
        self.say('[%6.1fs] %s' % (when - self.t0, name))
        return when

    def at(self, name):
        """When the first mark ``name`` was (``'X:'``: a mark 'X: ...')."""
        for n, when in self.marks:
            if n == name or (name.endswith(':') and n.startswith(name)):
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


def _power_ons(bed, m, uuid):
    """The instants (epoch) ``m`` was powered on.

    libvirt's QEMU log ("starting up") and, as it did not always show the
    later starts, Ironic's "Successfully set node <uuid> power state to
    power on" (after a power-on or a reboot through the BMC).
    """
    return sorted(
        _stamped(bed.libvirtd.qemu_log(m.name, None), 'starting up')
        + _stamped(bed.ironic.log(), 'Successfully set node %s power '
                   'state to power on' % uuid))


def _boot_marks(bed, m, tl, label, since, ip, uuid):
    """Power-on, first DHCP, first heartbeat of a boot (marked in ``tl``).

    The boot is the first one begun after ``since`` (epoch); the instants
    come from libvirt's, Ironic's and the agent's logs.
    """
    on = _first_after(_power_ons(bed, m, uuid), since)
    log = bed.agent.log()
    dhcp = _first_after(_stamped(log, 'DISCOVER xid', 'from %s' % m.mac),
                        on or since)
    beat = _first_after(_stamped(log, "HTTP %s" % (ip or ''),
                                 ": POST '/v1/heartbeat/%s'" % uuid),
                        on or since)
    for name, when in (('power on', on), ('first DHCP', dhcp),
                       ('first heartbeat', beat)):
        if when is not None:
            tl.mark('%s: %s' % (label, name), when)
    return on, dhcp, beat


def _pxe_chain(bed, m, uuid, ip, since):
    """The network boot went through the agent: DHCP, iPXE, the proxy."""
    log = bed.agent.log(since)
    paths = ['/boot.ipxe', '/pxelinux.cfg/%s' % m.mac.replace(':', '-'),
             '/%s/deploy_kernel' % uuid, '/%s/deploy_ramdisk' % uuid]
    missing = [p for p in paths
               if "HTTP %s: GET '%s' -> boot 200" % (ip, p) not in log]
    assert 'ACK %s' % ip in log and not missing, (ip, missing)
    if m.firmware == 'uefi':        # OVMF's PXE, then iPXE by TFTP
        assert 'snponly.efi' in log, 'no TFTP of snponly.efi'


def _inventory_ip(inventory, mac):
    for iface in inventory.get('inventory', {}).get('interfaces', []):
        if iface.get('mac_address', '').lower() == mac:
            return iface.get('ipv4_address')
    return None


def _bound(tl, seconds):
    """``seconds``, cut to what is left before the flow's deadline."""
    if tl.deadline is None:
        return seconds
    return max(1, min(seconds, tl.deadline - time.monotonic()))


def run(bed, m, boot='ipxe', say=print, fast_track=False, inspect=True,
        automated_clean=True, deadline=None):
    """Drive ``m`` through the whole flow; return the Timeline.

    enroll -> manage -> inspect -> provide (automated cleaning) -> deploy
    the whole-disk image with a config drive -> the OS comes up from the
    disk on the node's IPAM address -> undeploy (cleaning) -> delete,
    asserting each step. ``inspect=False`` leaves out inspection,
    ``automated_clean=False`` sets the node's ``automated_clean`` off
    (provide and undeploy then boot no ramdisk). ``deadline``
    (``time.monotonic()``): no wait goes past it, so a test that runs
    flows in threads can stop them within its own time bound.
    """
    env = bed.ironic
    slow = rs.SLOW
    tl = Timeline(say)
    tl.deadline = deadline
    fields = {} if automated_clean else {'automated_clean': False}
    node = bed.enroll(m, boot=boot, fast_track=fast_track, **fields)
    uuid = node['uuid']
    tl.mark('enrolled: %s (%s, %s, %s%s%s)' % (
        m.name, node['driver'], boot, m.firmware,
        ', fast track' if fast_track else '',
        '' if automated_clean else ', automated cleaning off'))
    env.set_state(uuid, 'manage')
    node = env.wait_state(uuid, 'manageable', _bound(tl, 120 * slow))
    assert node['power_state'] == 'power off', node['power_state']
    tl.mark('manageable (power state read over the BMC)')
    ip = None
    since = bed.agent.mark()
    if inspect:
        ip = _inspect(bed, m, tl, uuid)
        _pxe_chain(bed, m, uuid, ip, since)
    # -- cleaning --------------------------------------------------------
    start = tl.mark('provide (automated cleaning)' if automated_clean
                    else 'provide')
    env.set_state(uuid, 'provide')
    node = env.wait_state(uuid, 'available', _bound(tl, 900 * slow))
    tl.mark('available')
    if automated_clean:
        _, _, beat = _boot_marks(bed, m, tl, 'cleaning', start, ip, uuid)
        assert beat is not None, 'no heartbeat from %s in cleaning' % ip
        assert 'erase_devices_metadata' in env.log()
    # -- deploy ----------------------------------------------------------
    start = tl.mark('deploy')
    env.patch(uuid, [{'op': 'add', 'path': '/instance_info',
                      'value': bed.disk_instance_info()}])
    env.set_state(uuid, 'active', configdrive={'meta_data': {
        'hostname': m.name, 'uuid': uuid,
        'public_keys': {'vmetal-test': bed.ssh_key()[1]}}})
    node = env.wait_state(uuid, ('active', 'deploy failed'),
                          _bound(tl, 1200 * slow))
    assert node['provision_state'] == 'active', node['last_error']
    tl.mark('active (the boot device is the disk)')
    deployed = _allocated(env, uuid)
    assert ip in (None, deployed), (ip, deployed)
    ip = deployed
    if not (fast_track and (inspect or automated_clean)):
        _boot_marks(bed, m, tl, 'deploy', start, ip, uuid)
    if not inspect:
        _pxe_chain(bed, m, uuid, ip, since)
    log = bed.agent.log()
    assert "HTTP %s: GET '/agent_images/%s'" % (ip, uuid) in log
    assert 'Callback: node %s ramdisk' % uuid in log
    _os_up(bed, m, tl, ip)
    # -- tear down -------------------------------------------------------
    start = tl.mark('undeploy (cleaning)' if automated_clean
                    else 'undeploy')
    env.set_state(uuid, 'deleted')
    node = env.wait_state(uuid, ('available', 'clean failed'),
                          _bound(tl, 900 * slow))
    assert node['provision_state'] == 'available', node['last_error']
    tl.mark('available again')
    if automated_clean:
        _boot_marks(bed, m, tl, 'undeploy', start, ip, uuid)
    _delete(env, uuid, ip, tl)
    return tl


def _allocated(env, uuid):
    """The node's active IPAM address (the deployment's allocation)."""
    [ip] = [a.address for a in env.ipam.list_allocations()
            if a.node_uuid == uuid and a.state == records.ACTIVE]
    assert ip.startswith('172.22.0.'), ip
    return ip


def _inspect(bed, m, tl, uuid):
    """Inspect; the address the ramdisk reported (the allocated one)."""
    env = bed.ironic
    start = tl.mark('inspect')
    env.set_state(uuid, 'inspect')
    node = env.wait_state(uuid, 'manageable', _bound(tl, 900 * rs.SLOW))
    tl.mark('inspected')
    # The address the ramdisk had (its inventory, through the proxy) is
    # the node's reserved one: the same in inspection, cleaning, deploy.
    inventory = env.api('GET', '/nodes/%s/inventory' % uuid, expect=200)
    # (Inspection's allocation is its own, released when it ends; with
    # allocation_scope = node the deploy gets the same address back.)
    ip = _inventory_ip(inventory, m.mac)
    assert ip and ip.startswith('172.22.0.'), inventory['inventory']
    on, _, _ = _boot_marks(bed, m, tl, 'inspection', start, ip, uuid)
    assert node['properties'].get('cpu_arch') == 'x86_64', node['properties']
    posted = _first_after(_stamped(
        bed.agent.log(), "HTTP %s: POST '/v1/continue_inspection'" % ip),
        on or start)
    assert posted is not None, 'no inventory from %s through the proxy' % ip
    tl.mark('inspection: inventory posted through the proxy', posted)
    return ip


def _os_up(bed, m, tl, ip):
    """The deployed OS answers on ``ip``; its config drive names ``ip``."""
    # Ironic powered the machine off and on again (boot device: disk)
    # before it set the node active: the last power-on of the deploy.
    ons = [t for t in _power_ons(bed, m, m.node['uuid'])
           if t >= tl.at('deploy') - 0.5]
    if ons:
        tl.mark('reboot: power on from the disk', max(ons))
    rs.wait_for(lambda: seg.connect(bed.agent_ns, ip, 22, timeout=3) == '',
                _bound(tl, 900 * rs.SLOW), interval=3,
                what='sshd of %s on %s' % (m.name, ip))
    tl.mark('OS up: sshd answers on %s (from the agent namespace)' % ip)
    assert bed.ping(ip, count=1, timeout=5), 'no ping answer from %s' % ip
    # What the OS itself says: its hostname (config drive meta_data), its
    # address, and the network_data.json glean read.
    r = bed.ssh(ip, 'hostname; ip -4 -o addr show; cat %s 2>/dev/null || '
                '(mkdir -p /run/cd && mount -o ro "$(blkid -L config-2)" '
                '/run/cd && cat /run/cd/%s)' % (
                    '/mnt/config/' + NETWORK_DATA, NETWORK_DATA),
                timeout=60)
    assert r.returncode == 0, 'ssh to %s: %s %s' % (ip, r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert lines[0] == m.name, r.stdout
    assert ' inet %s/24 ' % ip in r.stdout, r.stdout
    data = json.loads('\n'.join(lines[lines.index(next(
        line for line in lines if line.startswith('{'))):]))
    assert [n['ip_address'] for n in data['networks']] == [ip], data
    assert data['links'][0]['ethernet_mac_address'].lower() == m.mac, data
    tl.mark("ssh: %s has %s, its config drive's network_data.json too"
            % (m.name, ip))


NETWORK_DATA = 'openstack/latest/network_data.json'


def _delete(env, uuid, ip, tl):
    """Delete; the notification driver releases the address."""
    env.delete(uuid)
    tl.mark('deleted')

    def released():
        return (env.ipam.list_reservations(node_uuid=uuid) == []
                and not [a for a in env.ipam.list_allocations()
                         if a.node_uuid == uuid and a.state == records.ACTIVE])
    rs.wait_for(released, 30, interval=0.5,
                what='%s released and its reservation gone' % ip)
    tl.mark('%s released, no reservation left' % ip)


SPANS = (
    ('manage (power state over the BMC)', 'enrolled:',
     'manageable (power state read over the BMC)'),
    ('inspection: power-on -> first DHCP', 'inspection: power on',
     'inspection: first DHCP'),
    ('inspection: power-on -> inventory', 'inspection: power on',
     'inspection: inventory posted through the proxy'),
    ('inspection: power-on -> heartbeat', 'inspection: power on',
     'inspection: first heartbeat'),
    ('inspection (whole)', 'inspect', 'inspected'),
    ('cleaning: power-on -> heartbeat', 'cleaning: power on',
     'cleaning: first heartbeat'),
    ('cleaning (whole)', 'provide (automated cleaning)', 'available'),
    ('deploy: power-on -> first DHCP', 'deploy: power on',
     'deploy: first DHCP'),
    ('deploy: power-on -> heartbeat', 'deploy: power on',
     'deploy: first heartbeat'),
    ('deploy (whole)', 'deploy', 'active (the boot device is the disk)'),
    ('reboot: power-on -> OS up (sshd)', 'reboot: power on from the disk',
     'OS up:'),
    ('undeploy: power-on -> heartbeat', 'undeploy: power on',
     'undeploy: first heartbeat'),
    ('undeploy (cleaning)', 'undeploy (cleaning)', 'available again'),
    ('undeploy', 'undeploy', 'available again'),
)


def report(tl):
    """The phases of ``tl`` that happened, one a line."""
    spans = [s for s in SPANS
             if tl.at(s[1]) is not None and tl.at(s[2]) is not None]
    spans.append(('whole chain', tl.marks[0][0], tl.marks[-1][0]))
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
    parser.add_argument('--no-inspect', action='store_true',
                        help='leave out inspection')
    parser.add_argument('--no-automated-clean', action='store_true',
                        help="the node's automated_clean off (provide and "
                        'undeploy boot no ramdisk)')
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
                tl = run(bed, m, say=say, fast_track=args.fast_track,
                         inspect=not args.no_inspect,
                         automated_clean=not args.no_automated_clean)
                say('phases:\n' + report(tl))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('PYTHONWARNINGS', 'ignore')
    sys.exit(main())
