#!/usr/bin/env bash
# `make demo`: from a fresh clone, install what is missing, make sure the demo's image exists (built locally from
# Debian's busybox-static when no registry answers), run examples/text-processing twice — the second run is fully
# cached — and show where the artifacts are.
#
# Works as root on a fresh Debian/Ubuntu machine (rootful Podman, started privately by pipex) and as a normal user
# on a workstation (rootless Podman; packages are installed with sudo only if something is missing).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SUDO=""
[[ $(id -u) == 0 ]] || SUDO=sudo
DEMO_DIR=${PIPEX_DEMO_DIR:-$REPO/.demo}
WORKDIR=$DEMO_DIR/workspaces
IMAGE=alpine:3.20
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

say "1/5 system packages"
need=()
for entry in podman:/usr/bin/podman runc:/usr/sbin/runc uidmap:/usr/bin/newuidmap slirp4netns:/usr/bin/slirp4netns \
    fuse-overlayfs:/usr/bin/fuse-overlayfs catatonit:/usr/bin/catatonit busybox-static:/bin/busybox; do
    [[ -e ${entry#*:} ]] || need+=("${entry%%:*}")
done
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
    echo "installing: ${need[*]}" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
else
    echo "all present" >&2
fi

say "2/5 pipex in .venv"
[[ -x .venv/bin/python ]] || /usr/bin/python3 -m venv .venv
.venv/bin/python -c 'import pipex.cli.app' 2>/dev/null || .venv/bin/python -m pip install -q -e .
PIPEX=$REPO/.venv/bin/pipex
"$PIPEX" --version

say "3/5 engine configuration"
mkdir -p "$DEMO_DIR"
# Hosts with hybrid cgroups (v1 controllers + a v2 'unified' mount) cannot run crun; runc works. Root without
# CAP_SYS_RESOURCE (some VMs and CI) cannot raise rlimits to Podman's defaults. Only then use a demo config.
conf=()
if [[ -d /sys/fs/cgroup/unified && -x /usr/sbin/runc ]]; then
    conf+=('[engine]' 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"')
fi
if [[ $(id -u) == 0 ]] && (($(ulimit -Hn) < 1048576)); then
    conf=('[containers]' "default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]" "${conf[@]}")
fi
if ((${#conf[@]})); then
    printf '%s\n' "# written by examples/demo.sh for this host" "${conf[@]}" >"$DEMO_DIR/containers.conf"
    export CONTAINERS_CONF=$DEMO_DIR/containers.conf
    echo "using $CONTAINERS_CONF (runc / cgroupfs for this host)" >&2
fi
"$PIPEX" doctor || true

say "4/5 the image $IMAGE"
if podman image exists "$IMAGE"; then
    echo "present" >&2
elif timeout 60 podman pull -q "$IMAGE" >/dev/null 2>&1; then
    echo "pulled" >&2
else
    echo "no registry answered: building $IMAGE locally from busybox-static" >&2
    "$REPO/runtimes/shell-image.sh" "$IMAGE"
fi

say "5/5 run examples/text-processing twice"
export PIPEX_WORKDIR=$WORKDIR
"$PIPEX" run examples/text-processing
echo >&2
echo "again, nothing changed: every step comes from the cache" >&2
"$PIPEX" run examples/text-processing

ws=$WORKDIR/text-processing
echo >&2
echo "Artifacts: $ws/step-runs/<step>/artifacts/   (e.g. $ws/step-runs/report/artifacts/report.txt)" >&2
echo "---- report.txt" >&2
cat "$ws/step-runs/report/artifacts/report.txt"
