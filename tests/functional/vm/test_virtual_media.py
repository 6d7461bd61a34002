"""Provisioning without DHCP: redfish-virtual-media across the agent.

One libvirt domain (one virtio NIC on the provisioning bridge only, one
virtio disk, SeaBIOS), driven by sushy-tools' Redfish emulator, is
deployed with Ironic's ``redfish-virtual-media`` boot interface
(:mod:`tests.fixtures.vmedia`): Ironic builds a boot ISO with the real
IPA ramdisk and the node's ``network_data`` (the vmetal IPAM address),
labelled ``config-2``; sushy-emulator fetches it from the boot server and
attaches it as a CD-ROM; the ramdisk's glean configures the static
address from it; IPA calls Ironic through the agent's proxy
(``[deploy]external_callback_url``), resolves the image's host name
through the agent's DNS responder, writes the whole-disk image, and the
deployed OS comes up on the same address from its config drive. The
agent sees no DHCP packet from the node's MAC in the whole flow; its
reservation's boot profile says ``dhcp = off`` (derived from the boot
interface, :mod:`vmetal_ironic.dhcp.switch`), and a real DHCP client
with that MAC, after undeploy, gets no answer.

The node has ``automated_clean = false``: one ramdisk boot (the deploy)
instead of three, to keep the flow inside ~15 minutes under TCG
(cleaning over virtual media is the same ramdisk boot; the PXE flow
covers cleaning). The timeline is printed (``pytest -s``).
"""

import pathlib
import shutil
import tempfile
import time

import pytest

from tests.fixtures import real_server as rs
from tests.fixtures import segments as seg
from tests.fixtures import vmedia
from tests.functional import databases
from tests.functional.vm import conftest
from tests.functional.vm import flow
from vmetal_ironic.ipam import records

MAC = '52:54:00:5e:03:01'
#: The flow's bound (seconds); the test's (pytest-timeout) leaves time for
#: the bed's start and clean-up.
DEADLINE = 2100


@pytest.fixture(scope='module')
def vmedia_bed():
    conftest.require()
    images = rs.find_images()
    missing = [k for k, v in images.items() if not v]
    if missing:
        pytest.fail('images not built (%s): tools/build-ramdisk.sh and '
                    'tools/build-disk-image.sh' % ', '.join(missing))
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='vmetal-vmedia-'))
    try:
        with databases.temporary_database('postgresql', tmp) as url:
            with vmedia.Bed(seg.postgresql_socket_url(url), images) as bed:
                bed.start()
                yield bed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_iso(bed, env, uuid, timeout):
    """The published ISO's (label, network_data), read while it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in bed.iso_paths():
            try:
                return vmedia.read_iso(path)
            except Exception:
                pass        # being written: try again
        node = env.node(uuid)
        if node['provision_state'] not in ('deploying', 'wait call-back'):
            break
        time.sleep(0.5)
    raise AssertionError('no boot ISO published for %s: %s'
                         % (uuid, env.tail_log(30)))


def run(bed, m, say=print):
    env = bed.ironic
    slow = rs.SLOW
    tl = flow.Timeline(say)
    node = bed.enroll(m, boot='redfish-virtual-media', automated_clean=False)
    uuid = node['uuid']
    tl.mark('enrolled %s (%s, redfish-virtual-media, %s)'
            % (m.name, node['driver'], m.firmware))
    env.set_state(uuid, 'manage')
    node = env.wait_state(uuid, 'manageable', 120 * slow)
    assert node['power_state'] == 'power off', node['power_state']
    tl.mark('manageable (power state read over the BMC)')
    env.set_state(uuid, 'provide')
    env.wait_state(uuid, 'available', 120 * slow)
    tl.mark('available (automated cleaning off for this node)')
    # -- deploy ------------------------------------------------------------
    start = tl.mark('deploy')
    env.patch(uuid, [{'op': 'add', 'path': '/instance_info',
                      'value': bed.disk_instance_info()}])
    env.set_state(uuid, 'active', configdrive={
        'meta_data': {'hostname': m.name, 'uuid': uuid}})
    label, iso_data = _wait_iso(bed, env, uuid, 300 * slow)
    tl.mark('boot ISO published (label %s)' % label)
    assert label == 'config-2', label
    assert iso_data, 'the boot ISO has no network_data.json'
    [iso_net] = iso_data['networks']
    ip = iso_net['ip_address']
    assert ip.startswith('172.22.0.'), iso_data
    assert [link['ethernet_mac_address'] for link in iso_data['links']] \
        == [m.mac], iso_data
    assert {'type': 'dns', 'address': seg.AGENT_PROV} in \
        iso_data['services'], iso_data
    node = env.wait_state(uuid, ('active', 'deploy failed'), 1200 * slow)
    assert node['provision_state'] == 'active', node['last_error']
    tl.mark('active (the boot device is the disk)')
    _, dhcp, beat = flow._boot_marks(bed, m, tl, 'deploy', start, ip, uuid)
    assert beat is not None, 'no heartbeat from %s' % ip
    [network] = node['network_data']['networks']
    assert network['ip_address'] == ip
    # The node's reservation stays (the proxy and the callback listener
    # know the ramdisk by it), with DHCP switched off in its profile.
    assert [(r.address, r.boot_profile.dhcp) for r in
            env.ipam.list_reservations(node_uuid=uuid)] == [(ip, 'off')]
    # The ramdisk booted the ISO's kernel (Ironic's vmedia command line)
    # and reached Ironic from the ISO's address: API, image, callbacks.
    console = m.console_log(10 ** 7)
    assert 'boot_method=vmedia' in console, console[-3000:]
    log = bed.agent.log()
    assert "HTTP %s: POST '/v1/heartbeat/%s'" % (ip, uuid) in log
    assert "HTTP %s: GET '/agent_images/%s'" % (ip, uuid) in log
    assert 'Callback: node %s ramdisk' % uuid in log
    # -- the deployed OS -----------------------------------------------------
    rs.wait_for(lambda: bed.ping(ip, count=1, timeout=5), 600 * slow,
                interval=2, what='%s answering on %s' % (m.name, ip))
    tl.mark('OS up: %s answers on %s (from the agent namespace)'
            % (m.name, ip))
    work = tempfile.mkdtemp(prefix='vmetal-cd-')
    try:
        data = rs.read_config_drive(m.disk, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert data and data['networks'][0]['ip_address'] == ip, data
    tl.mark("config drive's network_data.json holds %s" % ip)
    # -- no DHCP at all --------------------------------------------------
    assert dhcp is None
    lines = vmedia.dhcp_lines(bed.agent.log(), m.mac)
    assert lines == [], lines
    tl.mark('no DHCP packet from %s reached the agent' % m.mac)
    # -- tear down ---------------------------------------------------------
    tl.mark('undeploy')
    env.set_state(uuid, 'deleted')
    node = env.wait_state(uuid, ('available', 'clean failed'), 300 * slow)
    assert node['provision_state'] == 'available', node['last_error']
    tl.mark('available again')
    assert bed.iso_paths() == [], bed.iso_paths()
    # A real DHCP client with the node's MAC (the VM is off) gets no
    # answer: the agent has the reservation and stays silent.
    assert [r.boot_profile.dhcp for r in
            env.ipam.list_reservations(node_uuid=uuid)] == ['off']
    probe = bed.lab.namespace('dhcpprobe')
    probe.attach(bed.prov, 'eth0', mac=m.mac)
    r = probe.run('udhcpc', '-f', '-n', '-q', '-t', '3', '-T', '2', '-i',
                  'eth0', '-s', '/bin/true', check=False, timeout=60)
    assert r.returncode != 0, r.stdout
    silent = [line for line in vmedia.dhcp_lines(bed.agent.log(), m.mac)
              if 'boots without DHCP' in line]
    assert silent, bed.agent.log()[-2000:]
    tl.mark('udhcpc with %s: no answer (agent: %d packets, silence)'
            % (m.mac, len(silent)))
    env.delete(uuid)

    def released():
        # the notification driver releases in the background
        return (env.ipam.list_reservations(node_uuid=uuid) == []
                and [a for a in env.ipam.list_allocations()
                     if a.node_uuid == uuid
                     and a.state == records.ACTIVE] == [])
    rs.wait_for(released, 60, interval=0.5,
                what='%s released after delete' % ip)
    tl.mark('deleted: %s released, no reservation left' % ip)
    return tl


SPANS = (
    ('deploy: power-on -> heartbeat', 'deploy: power on',
     'deploy: first heartbeat'),
    ('deploy (whole)', 'deploy', 'active (the boot device is the disk)'),
)


@pytest.mark.timeout(2400)
def test_virtual_media_without_dhcp(vmedia_bed):
    bed = vmedia_bed
    m = bed.add_machine('vmedia-bios', MAC, firmware='bios',
                        bmc_kind='redfish')
    try:
        with seg.deadline(DEADLINE):
            tl = run(bed, m)
    except BaseException:
        print(bed.diagnose(m))
        print('--- sushy-emulator ---\n%s' % bed.sushy.log()[-3000:])
        raise
    finally:
        bed.remove_machine(m)
    up = [n for n, _ in tl.marks if n.startswith('OS up')]
    spans = list(SPANS) + [
        ('reboot -> OS up', 'active (the boot device is the disk)', up[0]),
        ('whole chain', tl.marks[0][0], tl.marks[-1][0])]
    print('\nvmedia-bios (redfish-virtual-media, no DHCP) phases:\n%s'
          % tl.report(spans))
