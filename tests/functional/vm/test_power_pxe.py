"""Power and network boot of a real VM, driven by Ironic through sushy-tools.

The first link of the real-server chain, independent of the ramdisk: a
``vmetal-redfish`` node whose BMC is sushy-emulator is managed (Ironic
reads its power state over Redfish), inspected (Ironic sets the boot
device and powers the domain on over Redfish), and the VM's firmware
(SeaBIOS with the iPXE ROM) gets its reserved address from the agent's
DHCP and fetches Ironic's iPXE script, the node's config and the kernel
and ramdisk through the agent's proxy. The kernel here is the bed's
stand-in (random bytes: the chain is what is checked, not what boots);
the inspection is then aborted and Ironic powers the domain off again.
"""

from tests.fixtures import real_server as rs

MAC = '52:54:00:5e:01:01'


def test_redfish_power_and_pxe_to_ipxe_script(real_bed):
    bed = real_bed
    env = bed.ironic
    m = bed.add_machine('pxe-bios', MAC, firmware='bios')
    try:
        node = bed.enroll(m, driver_info_images=('kernel', 'ramdisk'))
        uuid = node['uuid']
        env.set_state(uuid, 'manage')
        node = env.wait_state(uuid, 'manageable', 60)
        assert node['power_state'] == 'power off'
        assert not m.running()
        mark = bed.agent.mark()
        env.set_state(uuid, 'inspect')
        rs.wait_for(m.running, 60, what='domain powered on over Redfish')
        fetched = "GET '/%s/deploy_ramdisk' -> boot 200" % uuid
        rs.wait_for(lambda: fetched in bed.agent.log(mark),
                    120 * rs.SLOW, what='ramdisk fetched through the proxy')
        log = bed.agent.log(mark)
        [reservation] = env.ipam.list_reservations(node_uuid=uuid)
        ip = reservation.address
        assert 'ACK %s' % ip in log
        for path in ('/boot.ipxe', '/pxelinux.cfg/%s' % MAC.replace(':', '-'),
                     '/%s/deploy_kernel' % uuid):
            assert "HTTP %s: GET '%s' -> boot 200" % (ip, path) in log, path
        assert env.node(uuid)['power_state'] == 'power on'
        env.set_state(uuid, 'abort')
        node = env.wait_state(uuid, 'inspect failed', 60)
        rs.wait_for(lambda: not m.running(), 60,
                    what='domain powered off over Redfish')
        env.set_state(uuid, 'manage')
        env.wait_state(uuid, 'manageable', 60)
        env.delete(uuid)
        assert env.ipam.list_reservations(node_uuid=uuid) == []
    finally:
        bed.remove_machine(m)
