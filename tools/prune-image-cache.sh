#!/usr/bin/env bash
# Keep the image cache to the keys used most recently, so that trees
# with different inputs (another branch's Containerfile, another
# worktree's sources) do not delete each other's images.
#
#   tools/prune-image-cache.sh REPOSITORY USED-TAG
#
# Marks USED-TAG of REPOSITORY as used now (a stamp file in the cache),
# then removes the tags of REPOSITORY beyond the VMETAL_IMAGE_KEEP
# (default 4) most recently used ones, with their stamps and, for
# localhost/vmetal-base, their base-<key>.tar. `latest` is never removed;
# a tag without a stamp (made before stamps) counts as the oldest.
# An image a container still uses stays (podman rmi refuses).
# Environment: VMETAL_IMAGE_CACHE (default /var/cache/vmetal-ironic/images).
# Called by tools/build-image.sh under its cache lock.
set -eu
repo=$1 used=$2
cache=${VMETAL_IMAGE_CACHE:-/var/cache/vmetal-ironic/images}
keep=${VMETAL_IMAGE_KEEP:-4}
case $keep in ''|*[!0-9]*|0) echo "prune-image-cache: VMETAL_IMAGE_KEEP=$keep is not a count >= 1" >&2; exit 1 ;; esac
prefix=used-${repo##*/}-
tags=$(podman images --format '{{.Tag}}' --filter reference="$repo")
for tag in $tags; do
    [ "$tag" = latest ] || [ -e "$cache/$prefix$tag" ] ||
        touch -d @0 "$cache/$prefix$tag"
done
touch "$cache/$prefix$used"
kept=" $(cd "$cache" && ls -t -- "$prefix"* | head -n "$keep" | sed "s/^$prefix//" | tr '\n' ' ')"
for tag in $tags; do
    case $kept in *" $tag "*) continue ;; esac
    [ "$tag" = latest ] && continue
    podman rmi "$repo:$tag" >/dev/null 2>&1 && rm -f "$cache/$prefix$tag"
done
if [ "$repo" = localhost/vmetal-base ]; then
    for tar in "$cache"/base-*.tar; do
        [ -e "$tar" ] || continue
        tag=${tar##*/base-}
        tag=${tag%.tar}
        case $kept in *" $tag "*) ;; *) rm -f "$tar" ;; esac
    done
fi
# Stamps of tags removed elsewhere.
(cd "$cache" && ls -t -- "$prefix"* | tail -n +"$((keep + 1))" | xargs -r rm -f --)
