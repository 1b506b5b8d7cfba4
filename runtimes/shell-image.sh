#!/usr/bin/env bash
# Build a tiny image for the shell kit offline: Debian's busybox-static imported FROM scratch, tagged as the
# shell kit's default image (alpine:3.20) or the tag given. For machines that cannot reach a registry; with a
# registry, `podman pull alpine:3.20` gives the real thing.
#
# Usage: runtimes/shell-image.sh [TAG] [ENGINE]      (ENGINE: podman (default) or docker)
set -euo pipefail
TAG=${1:-alpine:3.20}
ENGINE=${2:-podman}
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || { echo "error: $BUSYBOX missing" >&2; echo "hint: apt-get install busybox-static" >&2; exit 2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/app,output,dev,proc,sys}
chmod 1777 "$root/tmp"
chmod 0777 "$root/output"
cp "$BUSYBOX" "$root/bin/busybox"
# One symlink per applet at its usual place (/bin/sh, /usr/bin/awk, …).
while read -r applet; do
    [[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done < <("$BUSYBOX" --list-full)
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$root/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/app" 2>/dev/null || true
tar --numeric-owner -C "$root" -c . | "$ENGINE" import --change 'CMD ["/bin/sh"]' - "$TAG" >/dev/null
echo "built $TAG ($("$ENGINE" image inspect --format '{{.Id}}' "$TAG" | cut -c1-19))" >&2
