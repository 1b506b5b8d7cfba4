#!/usr/bin/env bash
# Build an image from Debian packages, offline from any registry (a Debian mirror is enough): a
# `debootstrap --variant=minbase` root, the given packages installed with apt, imported FROM scratch.
# The kits' stand-in images (python-image.sh, node-image.sh) and the pipex image's offline base use it.
#
# Usage: runtimes/debian-image.sh TAG ENGINE PACKAGE...   (ENGINE: podman, docker, or tar:FILE = only write the
#                                                          root filesystem to FILE, for an `import` elsewhere)
# Environment:
#   SUITE=trixie                        Debian release to bootstrap
#   MIRROR=http://deb.debian.org/debian
#   ROOTFS_CACHE=DIR                    keep the bare minbase root as DIR/<suite>-minbase.tar and reuse it
#   IMAGE_CMD='["/bin/sh"]'             the image's CMD (JSON form)
#   POST_INSTALL='shell code'           run in the root (chroot) after the packages are installed
set -euo pipefail
TAG=${1:?usage: debian-image.sh TAG ENGINE PACKAGE...}
ENGINE=${2:?usage: debian-image.sh TAG ENGINE PACKAGE...}
shift 2
SUITE=${SUITE:-trixie}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
IMAGE_CMD=${IMAGE_CMD:-'["/bin/sh"]'}

die() { echo "error: $1" >&2; [[ -z ${2:-} ]] || echo "hint: $2" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "debootstrap and chroot need root" "run it with sudo"
command -v debootstrap >/dev/null || die "debootstrap is missing" "apt-get install debootstrap"
[[ $ENGINE == tar:* ]] || command -v "$ENGINE" >/dev/null || die "$ENGINE is missing" "install podman (or docker), or pass the other ENGINE"

work=$(mktemp -d /var/tmp/pipex-image.XXXXXX)
root=$work/root
cleanup() {
    mountpoint -q "$root/proc" && umount -l "$root/proc"
    rm -rf "$work"
}
trap cleanup EXIT

# A bare minbase root, from the cache when there is one (debootstrap takes ~30 s).
cached=${ROOTFS_CACHE:+$ROOTFS_CACHE/$SUITE-minbase.tar}
if [[ -n $cached && -f $cached ]]; then
    mkdir "$root" && tar --numeric-owner -xpf "$cached" -C "$root"
else
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap $SUITE failed" "check that $MIRROR is reachable"; }
    if [[ -n $cached ]]; then
        mkdir -p "$ROOTFS_CACHE"
        tar --numeric-owner -C "$root" -cf "$cached.partial" . && mv "$cached.partial" "$cached"
    fi
fi

if (($# > 0)); then
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    # policy-rc.d: maintainer scripts must not start services inside the build root.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -ec '
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    ' apt "$@"
    [[ -z ${POST_INSTALL:-} ]] || chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -ec "$POST_INSTALL"
    umount "$root/proc"
    rm -f "$root/usr/sbin/policy-rc.d"
fi
# What an image does not need: package lists and caches, docs, man pages, the host's resolver.
apt_clean() {
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
    : >"$root/etc/resolv.conf"
}
apt_clean
mkdir -p "$root/output" && chmod 0777 "$root/output"

if [[ $ENGINE == tar:* ]]; then
    tar --numeric-owner -C "$root" -cf "${ENGINE#tar:}" .
    echo "wrote ${ENGINE#tar:} ($SUITE, $(($(stat -c %s "${ENGINE#tar:}") / 1000000)) MB)" >&2
    exit 0
fi
# Podman tags a bare `name:tag` as localhost/name:tag; qualify it as a pull would, so short names resolve.
ref=$TAG
if [[ $ENGINE == podman ]]; then
    first=${ref%%/*}
    if [[ $ref != */* ]]; then
        ref=docker.io/library/$ref
    elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
        ref=docker.io/$ref
    fi
fi
tar --numeric-owner -C "$root" -c . | "$ENGINE" import \
    --change "CMD $IMAGE_CMD" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' - "$ref" >/dev/null
size=$("$ENGINE" image inspect --format '{{.Size}}' "$ref")
echo "built $ref ($SUITE, $((size / 1000000)) MB)" >&2
