#!/usr/bin/env bash
# The real-server flow with a timeline: a libvirt VM (one NIC on the
# provisioning bridge only, a virtio disk) PXE-boots the real IPA ramdisk
# through vmetal-dhcp-agent and goes through a real Ironic 39 from
# enrolment to deletion: inspect, clean, deploy the whole-disk image with a
# config drive (the image URL under split DNS: images.vmetal.test is the
# boot server for the conductor, the agent's proxy for the machine), boot
# from disk on its IPAM address (checked over ssh from the agent's
# namespace with the config drive's key), undeploy with cleaning, delete.
# The timeline is printed as it goes and the per-phase timings at the end
# (power-on -> first DHCP -> inventory / heartbeat, inspection, cleaning,
# deploy, reboot -> OS up, undeploy). Nothing is left behind:
# the domains, libvirtd, sushy-emulator, vbmcd, the namespaces and the
# temporary database are removed. See doc/real-server.md.
#
#   tools/demo.sh                          BIOS, vmetal-redfish (sushy-tools)
#   tools/demo.sh --firmware uefi          UEFI (OVMF)
#   tools/demo.sh --bmc ipmi               vmetal-ipmi (virtualbmc)
#   tools/demo.sh --fast-track             one ramdisk boot for inspection,
#                                          cleaning and deploy (the suite's)
#   tools/demo.sh --no-inspect --no-automated-clean
#                                          deploy only (two boots)
#
# Needs root, tools/setup.sh done, and the images: tools/build-ramdisk.sh
# and tools/build-disk-image.sh (cached, run here when missing).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "demo: needs root (network namespaces, libvirtd)" >&2
    exit 1
fi
for build in tools/build-ramdisk.sh tools/build-disk-image.sh; do
    if [ -x "$build" ]; then
        "$build" >/dev/null
    fi
done
exec .venv/bin/python -m tests.functional.vm.flow "$@"
