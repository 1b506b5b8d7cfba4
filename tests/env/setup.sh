#!/usr/bin/env bash
# Prepare this machine for pipex's engine tests. Idempotent; run as root (the Makefile uses sudo otherwise).
#
#  1. installs the system packages the tests need (apt, only when something is missing);
#  2. creates the non-root user `pipex-test` with a home and a /etc/subuid + /etc/subgid range, and gives it a
#     containers.conf (runc, cgroupfs, file events) so rootless Podman works on hybrid-cgroup hosts;
#  3. makes sure `pipex-test` can run a Python with the runtime dependencies of pipex (ensure_user_python).
#
# Usage: tests/env/setup.sh packages          (before the repo venv exists: it needs python3-venv)
#        tests/env/setup.sh user <repo-venv>   (after `pip install -e .[test]`)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TEST_USER=pipex-test
# Readable by every user, outside the clone (which may sit in /root): the fallback venv for the test user.
USER_VENV=/var/tmp/pipex-test-venv

# Debian package -> a file it installs; a package is installed only if its file is missing.
PACKAGES=(
    "python3:/usr/bin/python3"
    "ca-certificates:/etc/ssl/certs/ca-certificates.crt"
    "podman:/usr/bin/podman"
    "runc:/usr/sbin/runc"
    "crun:/usr/bin/crun"
    "conmon:/usr/bin/conmon"
    "uidmap:/usr/bin/newuidmap"
    "slirp4netns:/usr/bin/slirp4netns"
    "fuse-overlayfs:/usr/bin/fuse-overlayfs"
    "catatonit:/usr/bin/catatonit"
    "docker.io:/usr/sbin/dockerd"
    "containerd:/usr/bin/containerd"
    "busybox-static:/bin/busybox"
    "debootstrap:/usr/sbin/debootstrap"
    "make:/usr/bin/make"
    "util-linux:/usr/bin/setpriv"
    "passwd:/usr/sbin/useradd"
    # The report tests render HTML in headless Chromium (tests/engines/test_report_chromium.py).
    "chromium:/usr/bin/chromium"
    "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    # A private single-node Slurm for the Slurm executor's tests (tests/env/slurm.py; policy-rc.d below keeps
    # the packages' own services from starting).
    "slurmctld:/usr/sbin/slurmctld"
    "slurmd:/usr/sbin/slurmd"
    "slurm-client:/usr/bin/sbatch"
    "munge:/usr/sbin/munged"
)

log() { printf 'setup: %s\n' "$*" >&2; }

install_packages() {
    local missing=() entry
    for entry in "${PACKAGES[@]}"; do
        [[ -e ${entry#*:} ]] || missing+=("${entry%%:*}")
    done
    # python3-venv's ensurepip wheel is what `python3 -m venv` needs; check it the way venv does.
    if ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
    if ((${#missing[@]} == 0)); then
        log "system packages: all present"
        return
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Without systemd, maintainer scripts would start the system's dockerd and containerd (with iptables):
    # the tests start their own. policy-rc.d = 101 tells invoke-rc.d not to start services.
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        trap 'rm -f '"$policy" EXIT
    fi
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The first free id after every range already in $1 (/etc/subuid or /etc/subgid), at least 100000.
next_free_range() {
    awk -F: 'BEGIN { m = 100000 } NF >= 3 { e = $2 + $3; if (e > m) m = e } END { print m }' "$1"
}

ensure_user() {
    if ! getent passwd "$TEST_USER" >/dev/null; then
        log "creating user $TEST_USER"
        useradd --create-home --shell /bin/bash --comment "pipex engine tests" "$TEST_USER"
    fi
    local file start
    for file in /etc/subuid /etc/subgid; do
        touch "$file"
        if ! grep -q "^$TEST_USER:" "$file"; then
            start=$(next_free_range "$file")
            echo "$TEST_USER:$start:65536" >>"$file"
            log "added $TEST_USER:$start:65536 to $file"
        fi
    done
    local home conf_dir
    home=$(getent passwd "$TEST_USER" | cut -d: -f6)
    conf_dir=$home/.config/containers
    install -d -o "$TEST_USER" -g "$TEST_USER" -m 0755 "$home/.config" "$conf_dir"
    install -o "$TEST_USER" -g "$TEST_USER" -m 0644 "$HERE/containers-rootless.conf" "$conf_dir/containers.conf"
    # Rootless networking (slirp4netns) opens /dev/net/tun. udev makes it 0666; without udev (CI VMs,
    # containers) devtmpfs leaves it 0600 and every rootless container with a network fails to start.
    if [[ -c /dev/net/tun && $(stat -c %a /dev/net/tun) != 666 ]]; then
        chmod 0666 /dev/net/tun
        log "made /dev/net/tun 0666 (as udev does) for rootless networking"
    fi
}

# Can the test user import pipex's runtime dependencies with this interpreter?
user_can_run() {
    (cd / && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- env -i PATH=/usr/bin:/bin HOME=/tmp "$1" -c \
        'import docker, podman, pydantic, yaml, typer, platformdirs' 2>/dev/null)
}

# The repo venv is made from /usr/bin/python3, so the test user can run it when the clone is readable by it.
# When it is not (a clone under /root), build a venv outside the clone with the runtime dependencies only;
# tests then run pipex from a readable copy of the package (tests/engines/conftest.py: run_as_test_user).
ensure_user_python() {
    local venv=$1
    if user_can_run "$venv/bin/python"; then
        log "test user python: $venv/bin/python"
        return
    fi
    local deps stamp
    deps=$(/usr/bin/python3 -c 'import tomllib, sys
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' "$REPO/pyproject.toml")
    stamp=$USER_VENV/.pipex-deps
    if [[ ! -f $stamp || $(cat "$stamp") != "$deps" ]] || ! user_can_run "$USER_VENV/bin/python"; then
        log "building $USER_VENV for $TEST_USER (it cannot read the repo venv)"
        rm -rf "$USER_VENV"
        /usr/bin/python3 -m venv "$USER_VENV"
        printf '%s\n' "$deps" >"$USER_VENV/requirements.txt"
        "$USER_VENV/bin/pip" install -q -r "$USER_VENV/requirements.txt" >&2
        printf '%s' "$deps" >"$stamp"
        chmod -R a+rX "$USER_VENV"
    fi
    log "test user python: $USER_VENV/bin/python"
}

[[ $(id -u) == 0 ]] || { log "must run as root (try: sudo $0 $*)"; exit 1; }
case ${1:-} in
    packages) install_packages ;;
    user) ensure_user && ensure_user_python "${2:?usage: setup.sh user <repo-venv>}" ;;
    *) log "usage: setup.sh packages | setup.sh user <repo-venv>"; exit 2 ;;
esac
