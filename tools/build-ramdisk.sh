#!/usr/bin/env bash
# Build the IPA deploy ramdisk: a kernel and an initramfs of a Debian
# root (debootstrap) with linux-image-amd64, systemd, the tools of IPA's
# generic hardware manager, ironic-python-agent from PyPI and glean (DHCP
# on every NIC, or the static address of a config-2 drive). See
# doc/images.md.
#
#   tools/build-ramdisk.sh               build (or reuse the cache), print the paths
#   tools/build-ramdisk.sh --print-path  print the cached paths, exit 1 if not built
#
# Output (stdout, one a line): the kernel, then the initramfs, under
# $VMETAL_RAMDISK_CACHE/<key>/ (default /var/cache/vmetal-ironic/ramdisk),
# where <key> hashes this script, tools/images/{common,ramdisk}/ and the
# versions of the inputs (Debian suite, kernel package, IPA, glean).
# Environment: VMETAL_IPA_VERSION (13.0.0), VMETAL_GLEAN_VERSION (1.25.1),
# VMETAL_DEBIAN_SUITE, VMETAL_DEBIAN_MIRROR (this machine's apt's).
# Needs root, debootstrap, cpio, zstd.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/images/common/lib.sh"

cache=${VMETAL_RAMDISK_CACHE:-/var/cache/vmetal-ironic/ramdisk}
ipa_version=${VMETAL_IPA_VERSION:-13.0.0}
glean_version=${VMETAL_GLEAN_VERSION:-1.25.1}
src=$images_dir/ramdisk
packages=$(grep -v '^#' "$src/packages.txt" | grep . | paste -sd,)
kernel_deb=$(deb_version linux-image-amd64)
key=$(inputs_key "$0" "$images_dir/common $src" \
    "$suite kernel=$kernel_deb ipa=$ipa_version glean=$glean_version")
out=$cache/$key
log() { echo "build-ramdisk: $*" >&2; }

print_paths() { echo "$out/ipa.kernel"; echo "$out/ipa.initramfs"; }
if [ -s "$out/ipa.initramfs" ] && [ -s "$out/ipa.kernel" ]; then
    log "cached: $out ($(cat "$out/manifest.txt" | tr '\n' ' '))"
    print_paths
    exit 0
fi
if [ "${1:-}" = --print-path ]; then
    log "not built: $out"
    exit 1
fi

start=$(date +%s)
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

log "debootstrap $suite from $mirror"
debootstrap_cached "$cache" "$packages" "$root" "kernel=$kernel_deb"
kver=$(ls "$root/lib/modules" | sort -V | tail -n1)

install -m 0644 "$src/interfaces" "$root/etc/network/interfaces"
install -m 0644 "$src/ironic-python-agent.service" "$root/etc/systemd/system/ironic-python-agent.service"
install -d "$root/etc/ironic-python-agent.d"
install -d "$root/etc/systemd/system/glean-early.service.d"
install -m 0644 "$src/glean-early-settle.conf" "$root/etc/systemd/system/glean-early.service.d/settle.conf"
install -m 0644 "$src/ironic-python-agent.conf" "$root/etc/ironic-python-agent.d/ramdisk.conf"
setup_chroot_pip "$root"
log "installing ironic-python-agent $ipa_version and glean $glean_version"
in_chroot "$root" /bin/bash -s "$ipa_version" "$glean_version" < "$src/chroot.sh" >"$tmp/build.log" 2>&1 \
    || { tail -n 30 "$tmp/build.log" >&2; exit 1; }
ipa_installed=$(in_chroot "$root" /opt/ipa/bin/python3 -c 'import importlib.metadata as m; print(m.version("ironic-python-agent"))')

# Kernel out, then trim: only the modules of modules.txt and their
# dependencies, no /boot (the initrd debootstrap made is not ours).
cp "$root/boot/vmlinuz-$kver" "$tmp/ipa.kernel"
keep=$tmp/keep-modules
: > "$keep"
for m in $(grep -v '^#' "$src/modules.txt" | grep .); do
    # the root's own kmod: the build machine may have none
    in_chroot "$root" modprobe -S "$kver" --show-depends "$m" 2>/dev/null \
        | sed -n 's|^insmod \([^ ]*\).*|\1|p' >> "$keep" || true
done
find "$root/lib/modules/$kver/kernel" -name '*.ko*' | sed "s|^$root||" | sort > "$tmp/all-modules"
sort -u "$keep" | comm -23 "$tmp/all-modules" - | sed "s|^|$root|" | xargs rm -f
find "$root/lib/modules/$kver/kernel" -depth -type d -empty -delete
[ -s "$keep" ] || { log "no kernel module resolved"; exit 1; }
in_chroot "$root" depmod "$kver"
rm -rf "$root"/boot/* "$root"/usr/lib/firmware/* "$root"/var/cache/man \
    "$root"/usr/share/bash-completion "$root"/usr/share/zsh
find "$root/opt" -name tests -type d -path '*/site-packages/*' -prune -exec rm -rf {} +
trim_common "$root"

log "packing the initramfs (cpio, zstd)"
(cd "$root" && find . -xdev | LC_ALL=C sort | cpio --quiet -o -H newc) \
    | zstd -q -T0 -12 > "$tmp/ipa.initramfs"
unpacked=$(du -sm "$root" | cut -f1)
rm -rf "$root" "$tmp/all-modules" "$keep"
secs=$(( $(date +%s) - start ))
cat > "$tmp/manifest.txt" <<MANIFEST
suite=$suite
kernel=$kver
kernel_deb=$kernel_deb
ironic_python_agent=$ipa_installed
glean=$glean_version
unpacked_mb=$unpacked
initramfs_bytes=$(stat -c %s "$tmp/ipa.initramfs")
kernel_bytes=$(stat -c %s "$tmp/ipa.kernel")
build_seconds=$secs
MANIFEST
publish "$tmp" "$out"
trap - EXIT
log "built $out in ${secs}s: kernel $(du -h "$out/ipa.kernel" | cut -f1)," \
    "initramfs $(du -h "$out/ipa.initramfs" | cut -f1) (unpacked ${unpacked} MB)"
print_paths
