"""A real server through Ironic, across the agent, with the real IPA.

One libvirt domain (one virtio NIC on the provisioning bridge only, one
virtio disk) powered by Redfish (sushy-tools) boots the real IPA 13
ramdisk of ``tools/build-ramdisk.sh`` through the agent (DHCP, TFTP,
iPXE, the kernel and ramdisk through the proxy) and goes through
inspection (the inventory posted through the proxy carries the reserved
address) and automated cleaning (IPA erases the disk's metadata; the
conductor's commands reach it through the callback listener), then is
deleted and its address released (:func:`tests.functional.vm.flow.run`).

The deploy that follows is not in the suite yet: Ironic's conductor
checks the image URL that the ramdisk will use, and with the segments
separated that URL (the proxy's address) is unreachable from the
conductor. doc/real-server.md says what it takes (split DNS for the
ramdisk). ``tools/demo.sh`` runs the whole flow as far as it gets.
The timeline is printed (``pytest -s``).
"""

from tests.functional.vm import flow


def test_inspect_and_clean_real_ipa(real_images_bed):
    bed = real_images_bed
    m = bed.add_machine('flow-redfish-bios', '52:54:00:5e:02:01',
                        firmware='bios', bmc_kind='redfish')
    try:
        tl = flow.run(bed, m, fast_track=True, until='cleaning')
    except BaseException:
        print(bed.diagnose(m))
        raise
    finally:
        bed.remove_machine(m)
    print('\nflow-redfish-bios (redfish, bios) phases:\n%s'
          % flow.report(tl))
