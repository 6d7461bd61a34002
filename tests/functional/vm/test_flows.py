"""Real servers through Ironic's whole life cycle, with the real IPA.

Two libvirt domains (each one virtio NIC on the provisioning bridge only,
one virtio disk) go through the whole flow at the same time
(:func:`tests.functional.vm.flow.run`), so that both hardware types we
ship and both firmwares are driven for real in one bed and in about the
time of the longer flow:

``flow-redfish-bios``: ``vmetal-redfish`` (sushy-tools), SeaBIOS with the
iPXE ROM, fast track (one ramdisk boot serves inspection, cleaning and
deploy):

* inspection: the real IPA 13 ramdisk of ``tools/build-ramdisk.sh``,
  booted through the agent (DHCP, iPXE, the node's config, kernel and
  ramdisk through the proxy), posts its inventory through the proxy with
  the node's IPAM address;
* automated cleaning: IPA erases the disk's metadata, the conductor's
  commands reach it through the callback listener;
* deploy of the whole-disk image of ``tools/build-disk-image.sh`` with a
  config drive: the conductor checks the image URL and the ramdisk
  downloads it under one name, ``images.vmetal.test``, which the cluster
  side resolves to the boot server and the agent's DNS responder to its
  proxy (split DNS, doc/real-server.md); Ironic sets the boot device to
  disk and reboots;
* the deployed OS answers on its IPAM address from the agent's namespace
  (sshd, ping) and says over ssh (the key came in the config drive) that
  it has that address and that its config drive's network_data.json
  holds it;
* undeploy with automated cleaning (a second ramdisk boot), delete: the
  address is released and no reservation is left.

``flow-ipmi-uefi``: ``vmetal-ipmi`` (virtualbmc, ipmitool), OVMF (its PXE
fetches snponly.efi from the agent's TFTP, iPXE then boots the ramdisk;
the deployed image boots GRUB from its ESP, which IPA set up), the same
chain with the same checks, fast track too.

The per-phase timelines are printed (``pytest -s``).
"""

import concurrent.futures
import time
import traceback

import pytest

from tests.functional.vm import flow

FLOWS = (
    ('flow-redfish-bios', '52:54:00:5e:02:01', 'bios', 'redfish',
     {'fast_track': True}),
    ('flow-ipmi-uefi', '52:54:00:5e:03:01', 'uefi', 'ipmi',
     {'fast_track': True}),
)


# The test's bound; the flows' waits end TEARDOWN seconds before it, so
# that on a timeout the threads have stopped when the bed is torn down.
TIMEOUT = 2700
TEARDOWN = 300


def _flow(bed, m, options, deadline):
    def say(text):
        print('%s %s' % (m.name, text), flush=True)
    try:
        return flow.run(bed, m, say=say, deadline=deadline, **options)
    except BaseException:
        print('=== %s failed\n%s\n%s' % (
            m.name, traceback.format_exc(), bed.diagnose(m)), flush=True)
        raise


@pytest.mark.timeout(TIMEOUT)
def test_whole_chain_redfish_bios_and_ipmi_uefi(real_images_bed):
    bed = real_images_bed
    assert bed.ironic.ipam is not None      # made once, before the threads
    deadline = time.monotonic() + TIMEOUT - TEARDOWN
    machines = []
    try:
        for name, mac, firmware, bmc_kind, options in FLOWS:
            machines.append((bed.add_machine(name, mac, firmware=firmware,
                                             bmc_kind=bmc_kind), options))
        with concurrent.futures.ThreadPoolExecutor(len(machines)) as pool:
            runs = [(m, pool.submit(_flow, bed, m, options, deadline))
                    for m, options in machines]
            errors = [(m, run.exception()) for m, run in runs]
    finally:
        for m, _ in machines:
            bed.remove_machine(m)
    for m, run in runs:
        if run.exception() is None:
            print('\n%s (%s, %s) phases:\n%s' % (
                m.name, m.bmc, m.firmware, flow.report(run.result())))
    failed = [e for _, e in errors if e is not None]
    if failed:
        raise failed[0]
