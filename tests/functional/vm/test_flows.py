"""Real servers through Ironic's whole flow, across the agent.

Each test takes one libvirt domain (one virtio NIC on the provisioning
bridge only, one virtio disk) from enrolment to deletion with the real
IPA ramdisk and the whole-disk image of the images tooling
(:func:`tests.functional.vm.flow.run`): inspection (the inventory comes
through the proxy, with the reserved address), automated cleaning (IPA
erases the disk's metadata), deploy with a config drive (the image comes
from the conductor's HTTP server through the proxy, the conductor's
commands through the callback listener), the reboot to disk, the OS up on
its IPAM address (ping from the agent's namespace; the config drive's
network_data.json read from the disk), undeploy and delete (the address
released, the reservation gone). The timeline of each flow is printed
(``pytest -s``).
"""

import pytest

from tests.functional.vm import flow


def _run(bed, name, mac, firmware, bmc_kind, fast_track):
    m = bed.add_machine(name, mac, firmware=firmware, bmc_kind=bmc_kind)
    try:
        tl = flow.run(bed, m, fast_track=fast_track)
    except BaseException:
        print(bed.diagnose(m))
        raise
    finally:
        bed.remove_machine(m)
    print('\n%s (%s, %s) phases:\n%s' % (name, bmc_kind, firmware,
                                         flow.report(tl)))


# Fast track (the inspection ramdisk stays up for cleaning and deploy)
# keeps a flow within the CI bound under TCG; tools/demo.sh runs the flow
# with a ramdisk boot per phase.
@pytest.mark.parametrize('name,mac,firmware,bmc_kind,fast_track', [
    ('flow-redfish-bios', '52:54:00:5e:02:01', 'bios', 'redfish', True),
])
def test_flow(real_images_bed, name, mac, firmware, bmc_kind, fast_track):
    _run(real_images_bed, name, mac, firmware, bmc_kind, fast_track)
