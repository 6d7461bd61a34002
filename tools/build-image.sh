#!/usr/bin/env bash
# Build the agent's container image with podman from this checkout: the
# base from tools/build-base-image.sh (debootstrap, no registry), the
# project as a wheel built here, deploy/image/Containerfile. Cached: the
# image is tagged localhost/vmetal-ironic:<key>, the key a hash of every
# input (base, Containerfile, this script, the project's tracked sources
# as they are in the work tree), and not rebuilt while it exists.
#
#   tools/build-image.sh        prints the image name on stdout
#
# Also tags localhost/vmetal-ironic:latest. Prints sizes and build times
# on stderr. Needs root, podman (and for a cold base, debootstrap).
#
# The cache keeps the VMETAL_IMAGE_KEEP (default 4) most recently used
# keys of the image and of the base (tools/prune-image-cache.sh), so two
# trees with different inputs do not rebuild each other's image.
set -eu
cd "$(dirname "$0")/.."
log() { echo "build-image: $*" >&2; }
# Where cgroup v1 has a v2 hierarchy mounted beside it (hybrid), crun
# refuses to run; without CAP_SYS_RESOURCE podman's default rlimits
# (nofile 1048576) cannot be set. The defaults work there and elsewhere;
# VMETAL_PODMAN_ARGS replaces them (e.g. empty for podman's own).
read -r -a podman_args <<< "${VMETAL_PODMAN_ARGS---runtime runc}"
read -r -a build_args <<< "${VMETAL_PODMAN_BUILD_ARGS---ulimit nofile=16384:16384 --ulimit nproc=4096:4096}"

cache=${VMETAL_IMAGE_CACHE:-/var/cache/vmetal-ironic/images}
mkdir -p "$cache"
# One build at a time (parallel test workers share the cache).
exec 9>"$cache/build.lock"
flock 9

t0=$(date +%s)
base=$(tools/build-base-image.sh)
extras="PyMySQL psycopg2-binary"
inputs=$(git ls-files -- vmetal_ironic setup.cfg setup.py pyproject.toml requirements.txt \
             deploy/image tools/build-image.sh tools/build-base-image.sh)
key=$( (echo "$base $extras"; for f in $inputs; do [ -e "$f" ] && sha256sum "$f"; done) \
       | sha256sum | cut -c1-16)
image=localhost/vmetal-ironic:$key

if ! podman image exists "$image"; then
    ctx=$(mktemp -d /var/tmp/vmetal-image.XXXXXX)
    trap 'rm -rf "$ctx"' EXIT
    py=.venv/bin/python
    [ -x "$py" ] || py=python3
    # The project and every dependency as wheels, fetched by this
    # machine's pip (its index and certificates): the build itself
    # installs with --no-index. The base's Python is this Debian's, so
    # the wheels fit. And the database drivers.
    if ! "$py" -m pip wheel -q --wheel-dir "$ctx/wheels" . $extras \
            >"$ctx/pip.log" 2>&1; then
        cat "$ctx/pip.log" >&2
        exit 1
    fi
    t1=$(date +%s)
    # podman's build network turns the machine's IPv4 forwarding on and
    # leaves its bridge (cni-podman0) behind; put back what was, so a
    # build leaves the machine as it found it.
    forward=$(sysctl -n net.ipv4.ip_forward)
    bridge_before=false
    ip link show cni-podman0 >/dev/null 2>&1 && bridge_before=true
    restore() {
        sysctl -qw net.ipv4.ip_forward="$forward"
        if ! $bridge_before && ip link show cni-podman0 >/dev/null 2>&1; then
            ip link delete cni-podman0 2>/dev/null || true
        fi
        rm -rf "$ctx"
    }
    trap restore EXIT
    podman "${podman_args[@]}" build -q "${build_args[@]}" --build-arg BASE_IMAGE="$base" \
        -f deploy/image/Containerfile -t "$image" "$ctx" >/dev/null
    log "built $image in $(( $(date +%s) - t1 ))s (wheel and base $(( t1 - t0 ))s)"
else
    log "cached: $image"
fi
podman tag "$image" localhost/vmetal-ironic:latest
# Keep the cache to the keys used most recently (VMETAL_IMAGE_KEEP, 4):
# another tree's images are kept while it keeps using them.
tools/prune-image-cache.sh localhost/vmetal-ironic "${image##*:}"
tools/prune-image-cache.sh localhost/vmetal-base "${base##*:}"
log "size: $(podman image inspect -f '{{.Size}}' "$image") bytes (base $(podman image inspect -f '{{.Size}}' "$base")); total $(( $(date +%s) - t0 ))s"
echo "$image"
