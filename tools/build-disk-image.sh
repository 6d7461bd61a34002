#!/usr/bin/env bash
# Build the instance image: a whole-disk qcow2 (compressed) of a minimal
# Debian with Debian's cloud kernel, GPT with a BIOS boot partition, an
# EFI system partition and an ext4 root, GRUB for BIOS and UEFI (the
# removable-media path), the serial console on ttyS0, and glean, which
# configures the NICs from the config drive's network_data.json (the
# static address Ironic writes there). See doc/images.md.
#
#   tools/build-disk-image.sh               build (or reuse the cache), print the path
#   tools/build-disk-image.sh --print-path  print the cached path, exit 1 if not built
#
# Output (stdout): $VMETAL_DISK_IMAGE_CACHE/<key>/debian.qcow2 (default
# /var/cache/vmetal-ironic/disk-image), <key> hashing this script,
# tools/images/{common,disk}/ and the versions of its inputs.
# Environment: VMETAL_GLEAN_VERSION (1.25.1), VMETAL_DISK_SIZE_MB (2048),
# VMETAL_DEBIAN_SUITE, VMETAL_DEBIAN_MIRROR. Needs root, debootstrap,
# qemu-img, sgdisk, losetup, partx, mkfs.vfat, mkfs.ext4, mtools.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/images/common/lib.sh"

cache=${VMETAL_DISK_IMAGE_CACHE:-/var/cache/vmetal-ironic/disk-image}
glean_version=${VMETAL_GLEAN_VERSION:-1.25.1}
size_mb=${VMETAL_DISK_SIZE_MB:-2048}
src=$images_dir/disk
packages=$(grep -v '^#' "$src/packages.txt" | grep . | paste -sd,)
kernel_deb=$(deb_version linux-image-cloud-amd64)
key=$(inputs_key "$0" "$images_dir/common $src" \
    "$suite kernel=$kernel_deb grub=$(deb_version grub2-common) glean=$glean_version size=$size_mb")
out=$cache/$key
image=$out/debian.qcow2
log() { echo "build-disk-image: $*" >&2; }

if [ -s "$image" ]; then
    log "cached: $out ($(cat "$out/manifest.txt" | tr '\n' ' '))"
    echo "$image"
    exit 0
fi
if [ "${1:-}" = --print-path ]; then
    log "not built: $out"
    exit 1
fi

start=$(date +%s)
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
mnt=$tmp/mnt
loop=
# Every failure path: unmount what is mounted (deepest first), detach
# the loop device, drop the temporary directory.
cleanup() {
    local m
    for m in $(findmnt -rn -o TARGET | grep "^$mnt" | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

raw=$tmp/disk.raw
truncate -s "${size_mb}M" "$raw"
# GPT: 1 MiB BIOS boot (GRUB's core.img), 100 MiB ESP, the rest ext4.
sgdisk --clear \
    --new=1:1M:+1M --typecode=1:ef02 --change-name=1:bios \
    --new=2:0:+100M --typecode=2:ef00 --change-name=2:esp \
    --new=3:0:0 --typecode=3:8300 --change-name=3:root "$raw" >/dev/null
loop=$(losetup --show -f -P "$raw")
# The kernel's own partition scan may not have run (seen in micro-VMs):
# ask for the partitions explicitly.
partx -a "$loop" 2>/dev/null || true
for p in 2 3; do
    for _ in $(seq 50); do [ -b "${loop}p$p" ] && break; sleep 0.1; done
    if [ ! -b "${loop}p$p" ]; then
        # no devtmpfs node for the partition: make it from sysfs
        mknod "${loop}p$p" b $(tr ':' ' ' < "/sys/block/${loop#/dev/}/${loop#/dev/}p$p/dev")
    fi
done
mkfs.vfat -F 32 -n EFI "${loop}p2" >/dev/null
mkfs.ext4 -q -L root "${loop}p3"
root_uuid=$(blkid -s UUID -o value "${loop}p3")
esp_uuid=$(blkid -s UUID -o value "${loop}p2")
mkdir -p "$mnt"
mount "${loop}p3" "$mnt"

log "debootstrap $suite from $mirror"
debootstrap_cached "$cache" "$packages" "$mnt" "kernel=$kernel_deb"
kver=$(ls "$mnt/lib/modules" | sort -V | tail -n1)
mkdir -p "$mnt/boot/efi"
cat > "$mnt/etc/fstab" <<FSTAB
UUID=$root_uuid / ext4 errors=remount-ro 0 1
UUID=$esp_uuid /boot/efi vfat umask=0077,nofail 0 2
FSTAB
install -m 0644 "$src/interfaces" "$mnt/etc/network/interfaces"
install -m 0644 "$src/default-grub" "$mnt/etc/default/grub"
install -d "$mnt/etc/systemd/system/ssh.service.d"
install -m 0644 "$src/ssh-host-keys.conf" "$mnt/etc/systemd/system/ssh.service.d/host-keys.conf"
sed -e "s/@ROOT_UUID@/$root_uuid/g" "$src/grub-efi-early.cfg.in" > "$mnt/tmp/grub-efi-early.cfg"
setup_chroot_pip "$mnt"
for d in dev proc sys; do mount --bind "/$d" "$mnt/$d"; done
log "glean $glean_version, GRUB (BIOS and UEFI)"
in_chroot "$mnt" /bin/bash -s "$glean_version" "$loop" < "$src/chroot.sh" >"$tmp/build.log" 2>&1 \
    || { tail -n 30 "$tmp/build.log" >&2; exit 1; }
sed -e "s/@ROOT_UUID@/$root_uuid/g" -e "s/@KVER@/$kver/g" "$src/grub.cfg.in" > "$mnt/boot/grub/grub.cfg"
# The ESP is written with mtools, not mounted: the build machine's
# kernel may have no FAT driver (it has none here).
export MTOOLS_SKIP_CHECK=1
mmd -i "${loop}p2" ::/EFI ::/EFI/BOOT
mcopy -i "${loop}p2" "$mnt/tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
rm -f "$mnt/tmp/BOOTX64.EFI" "$mnt/tmp/grub-efi-early.cfg"
for d in sys proc dev; do umount "$mnt/$d"; done
trim_common "$mnt"
rm -f "$mnt/etc/resolv.conf"
find "$mnt/opt" -name tests -type d -path '*/site-packages/*' -prune -exec rm -rf {} +
used=$(df -m --output=used "$mnt" | tail -n1 | tr -d ' ')
# No fstrim: discards through the loop device raced with the last
# writes here (grub.cfg read back as garbage). The root came from a tar
# onto a fresh sparse file, so its free blocks are zeros anyway.
sync
umount "$mnt"
# Read back what GRUB needs and check the filesystem before publishing.
e2fsck -fn "${loop}p3" >"$tmp/fsck.log" 2>&1 || { cat "$tmp/fsck.log" >&2; exit 1; }
debugfs -R "cat /boot/grub/grub.cfg" "${loop}p3" 2>/dev/null | grep -q "root=UUID=$root_uuid" \
    || { log "grub.cfg does not read back"; exit 1; }
losetup -d "$loop"; loop=

log "converting to a compressed qcow2"
qemu-img convert -c -O qcow2 "$raw" "$tmp/debian.qcow2"
rm -f "$raw"
secs=$(( $(date +%s) - start ))
cat > "$tmp/manifest.txt" <<MANIFEST
suite=$suite
kernel=$kver
kernel_deb=$kernel_deb
glean=$glean_version
root_uuid=$root_uuid
virtual_mb=$size_mb
root_used_mb=$used
qcow2_bytes=$(stat -c %s "$tmp/debian.qcow2")
build_seconds=$secs
MANIFEST
rmdir "$mnt"
publish "$tmp" "$out"
trap - EXIT
log "built $image in ${secs}s: $(du -h "$image" | cut -f1) (root uses ${used} MB)"
echo "$image"
