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
set -eu
cd "$(dirname "$0")/.."
log() { echo "build-image: $*" >&2; }

t0=$(date +%s)
base=$(tools/build-base-image.sh)
inputs=$(git ls-files -- vmetal_ironic setup.cfg setup.py pyproject.toml requirements.txt \
             deploy/image tools/build-image.sh tools/build-base-image.sh)
key=$( (echo "$base"; for f in $inputs; do [ -e "$f" ] && sha256sum "$f"; done) \
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
    # the wheels fit.
    "$py" -m pip wheel -q --wheel-dir "$ctx/wheels" . PyMySQL psycopg2-binary >&2
    t1=$(date +%s)
    podman build -q --build-arg BASE_IMAGE="$base" -f deploy/image/Containerfile \
        -t "$image" "$ctx" >/dev/null
    log "built $image in $(( $(date +%s) - t1 ))s (wheel and base $(( t1 - t0 ))s)"
else
    log "cached: $image"
fi
podman tag "$image" localhost/vmetal-ironic:latest
log "size: $(podman image inspect -f '{{.Size}}' "$image") bytes (base $(podman image inspect -f '{{.Size}}' "$base")); total $(( $(date +%s) - t0 ))s"
echo "$image"
