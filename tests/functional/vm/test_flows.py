"""A real server through Ironic's whole life cycle, with the real IPA.

One libvirt domain (one virtio NIC on the provisioning bridge only, one
virtio disk) powered by Redfish (sushy-tools), SeaBIOS with the iPXE ROM,
boots the real IPA 13 ramdisk of ``tools/build-ramdisk.sh`` through the
agent (DHCP, TFTP, iPXE, the kernel and ramdisk through the proxy) and
goes the whole way (:func:`tests.functional.vm.flow.run`, fast track: one
ramdisk boot serves inspection, cleaning and deploy):

* inspection: the inventory posted through the proxy carries the node's
  IPAM address;
* automated cleaning: IPA erases the disk's metadata, the conductor's
  commands reach it through the callback listener;
* deploy of the whole-disk image of ``tools/build-disk-image.sh`` with a
  config drive: the conductor checks the image URL and the ramdisk
  downloads it under one name, ``images.vmetal.test``, resolved to the
  boot server on the cluster side and to the agent's proxy on the
  provisioning side (split DNS, doc/real-server.md); Ironic sets the boot
  device to disk and reboots;
* the deployed OS answers on its IPAM address, from the agent's
  namespace (sshd, ping), and says over ssh (the key came in the config
  drive) that it has that address and that its config drive's
  network_data.json holds it;
* undeploy with automated cleaning (a second ramdisk boot), delete: the
  address is released and no reservation is left.

The per-phase timeline is printed (``pytest -s``).
"""

import pytest

from tests.functional.vm import flow


@pytest.mark.timeout(2400)
def test_redfish_bios_whole_chain(real_images_bed):
    bed = real_images_bed
    m = bed.add_machine('flow-redfish-bios', '52:54:00:5e:02:01',
                        firmware='bios', bmc_kind='redfish')
    try:
        tl = flow.run(bed, m, fast_track=True)
    except BaseException:
        print(bed.diagnose(m))
        raise
    finally:
        bed.remove_machine(m)
    print('\nflow-redfish-bios (redfish, bios) phases:\n%s'
          % flow.report(tl))


@pytest.mark.timeout(1800)
def test_ipmi_uefi_deploy(real_images_bed):
    """vmetal-ipmi (virtualbmc), UEFI (OVMF), automated cleaning off.

    OVMF's own PXE fetches snponly.efi by TFTP from the agent, iPXE then
    boots the ramdisk; the deployed image boots GRUB from its ESP's
    removable-media path. Inspection and cleaning are covered by the
    Redfish flow; without them this flow is enroll -> manage -> provide
    -> deploy -> OS up -> undeploy -> delete, two boots (ramdisk, disk).
    """
    bed = real_images_bed
    m = bed.add_machine('flow-ipmi-uefi', '52:54:00:5e:03:01',
                        firmware='uefi', bmc_kind='ipmi')
    try:
        tl = flow.run(bed, m, inspect=False, automated_clean=False)
    except BaseException:
        print(bed.diagnose(m))
        raise
    finally:
        bed.remove_machine(m)
    print('\nflow-ipmi-uefi (ipmi, uefi) phases:\n%s' % flow.report(tl))
