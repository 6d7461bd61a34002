# Shared helpers of tools/build-ramdisk.sh and tools/build-disk-image.sh
# (sourced, not run). They keep the two builds alike: the same Debian
# suite and mirror as this machine's apt, the same PyPI set-up as this
# machine's pip, a cache keyed by the inputs, atomic publication.

images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

suite=${VMETAL_DEBIAN_SUITE:-$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")}
mirror=${VMETAL_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb \(\[[^]]*\] \)\?\([^ ]*\) .*/\2/p' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1)}

# The version apt would install of a Debian package: part of the cache
# key, so a new kernel (a point release, a security update) rebuilds.
# This machine's apt lists come from the same mirror; "unknown" when apt
# cannot tell (then only the script and the other inputs key the cache).
deb_version() {
    apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1 | grep -v '(none)' \
        || echo unknown
}

# Hash of the build script, every file under the given image directories
# and the extra words (versions): the cache key.
inputs_key() {
    local script=$1; shift
    local dirs=$1; shift
    { cat "$script"
      find $dirs -type f | LC_ALL=C sort | xargs cat
      echo "$*"
    } | sha256sum | cut -c1-16
}

# debootstrap into DEST, through a tar of the result kept in CACHE and
# keyed by the suite, the package list and the extra words (the kernel
# package's version): a rebuild after a change of the later steps (pip,
# trimming, GRUB) does not download and unpack Debian again. Remove
# CACHE/debootstrap-*.tar to refresh the other packages.
deb_cache=${VMETAL_DEB_CACHE:-/var/cache/vmetal-ironic/debs}
debootstrap_cached() {
    local cache=$1 include=$2 dest=$3 k tar; shift 3
    k=$(echo "$suite $mirror $include $*" | sha256sum | cut -c1-16)
    tar=$cache/debootstrap-$k.tar
    mkdir -p "$dest"
    if [ -s "$tar" ]; then
        tar -C "$dest" --numeric-owner --xattrs -xf "$tar"
        return 0
    fi
    # The .debs are kept too (both images share most of them).
    mkdir -p "$deb_cache"
    debootstrap --variant=minbase --cache-dir="$deb_cache" --include="$include" \
        "$suite" "$dest" "$mirror" \
        >"$dest.debootstrap.log" 2>&1 || { tail -n 30 "$dest.debootstrap.log" >&2; return 1; }
    rm -f "$dest.debootstrap.log"
    tar -C "$dest" --numeric-owner --xattrs -cf "$tar.$$" . && mv "$tar.$$" "$tar"
}

# Make the chroot's pip use what this machine's pip uses (its index and
# CA bundle): nothing is fetched from anywhere else.
setup_chroot_pip() {
    local root=$1 index extra
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    index=$(pip3 config get global.index-url 2>/dev/null || true)
    index=${PIP_INDEX_URL:-$index}
    {
        echo "[global]"
        echo "cert = /etc/ssl/certs/ca-certificates.crt"
        echo "disable-pip-version-check = true"
        echo "no-cache-dir = true"
        echo "timeout = 120"
        [ -n "$index" ] && echo "index-url = $index"
        # file:// indexes of this machine are not visible in the chroot;
        # only http(s) extra indexes are passed on.
        extra=$(pip3 config get global.extra-index-url 2>/dev/null | tr ' ' '\n' | grep -E '^https?://' | tr '\n' ' ' || true)
        [ -n "$extra" ] && echo "extra-index-url = $extra"
        true
    } > "$root/etc/pip.conf"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

# Run a command in a chroot with a clean environment: this machine's
# PIP_* variables (local wheel directories, constraints) mean nothing
# there; /etc/pip.conf (setup_chroot_pip) is the chroot's pip set-up.
in_chroot() {
    local root=$1; shift
    env -i HOME=/root LC_ALL=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        chroot "$root" "$@"
}

# Drop what a booted image never reads: docs, man pages, locales, apt's
# lists and caches.
trim_common() {
    local root=$1
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/lintian "$root"/usr/share/linda \
        "$root"/var/cache/debconf/*-old "$root"/var/log/*.log \
        "$root"/etc/pip.conf "$root"/root/.cache
    find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
        -exec rm -rf {} + 2>/dev/null || true
}

# Publish a finished build directory atomically: a reader sees either no
# cache entry or a complete one.
publish() {
    local tmp=$1 out=$2
    mkdir -p "$(dirname "$out")"
    rm -rf "$out.old"
    [ -e "$out" ] && mv "$out" "$out.old"
    # readable by QEMU under libvirt (another user) and by HTTP servers
    chmod 0755 "$tmp"
    chmod 0644 "$tmp"/*
    mv "$tmp" "$out"
    rm -rf "$out.old"
}
