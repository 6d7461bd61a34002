#!/usr/bin/env bash
# Build the slim Debian/Python base image of the agent's image locally
# (debootstrap, then a tar, then `podman import`): no container registry
# is needed. The result is cached outside the clone, keyed by its inputs
# (this script, the suite, the package list): a second run with the same
# inputs only prints the cached image's name.
#
#   tools/build-base-image.sh          prints the image name on stdout
#
# Environment: VMETAL_IMAGE_CACHE (default /var/cache/vmetal-ironic/images)
# holds base-<key>.tar; VMETAL_DEBIAN_SUITE (default: this machine's, or
# bookworm); VMETAL_DEBIAN_MIRROR (default: the first URI of this machine's
# apt sources). Needs root, debootstrap and podman.
set -eu
cd "$(dirname "$0")/.."

cache=${VMETAL_IMAGE_CACHE:-/var/cache/vmetal-ironic/images}
suite=${VMETAL_DEBIAN_SUITE:-$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")}
mirror=${VMETAL_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb \(\[[^]]*\] \)\?\([^ ]*\) .*/\2/p' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1)}
# The base: Python and the CA bundle, nothing else (the Containerfile adds
# iPXE and the project).
include=python3,python3-venv,ca-certificates

key=$( (cat "$0"; echo "$suite $include") | sha256sum | cut -c1-16)
image=localhost/vmetal-base:$key
tar=$cache/base-$key.tar
log() { echo "build-base-image: $*" >&2; }

if podman image exists "$image"; then
    log "cached: $image ($(podman image inspect -f '{{.Size}}' "$image") bytes)"
    echo "$image"
    exit 0
fi
mkdir -p "$cache"
start=$(date +%s)
if [ ! -s "$tar" ]; then
    root=$(mktemp -d /var/tmp/vmetal-base.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    log "debootstrap $suite from $mirror (include $include)"
    debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" >&2
    # Slim: no apt lists, caches, docs or locales in the base.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/info/*
    find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
        -exec rm -rf {} + 2>/dev/null || true
    # The same apt sources as this machine (with security updates).
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
        cp /etc/apt/sources.list.d/*.sources "$root"/etc/apt/sources.list.d/
        rm -f "$root"/etc/apt/sources.list
    fi
    tar -C "$root" --numeric-owner --xattrs -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
fi
podman import --change 'CMD ["/bin/bash"]' "$tar" "$image" >/dev/null
log "built $image in $(( $(date +%s) - start ))s: tar $(du -h "$tar" | cut -f1), image $(podman image inspect -f '{{.Size}}' "$image") bytes"
echo "$image"
