#!/usr/bin/env bash
# Build, lint and install-test pipex's .deb for Debian 13 (trixie), on any Debian/Ubuntu host, as root:
#
#  1. a `debootstrap --variant=minbase trixie` root, cached (CACHE/trixie-base);
#  2. a build root = that + debian/control's Build-Depends + lintian, cached (CACHE/trixie-build; rebuilt when
#     debian/control changes);
#  3. dpkg-buildpackage -b in the build root (runs the unit tests), then lintian: no errors, no warnings;
#  4. the versioned Depends (G3 in packaging-notes: dh_python3 drops versions without py3dist-overrides);
#  5. a throwaway copy of the clean root: apt-get install ./pipex_*.deb, then pipex --version and --help,
#     man -w for every page, the three completion files, bash loading its completion, and the autopkgtest
#     script debian/tests/validate (pipex validate on a pipeline, and a broken one rejected with exit code 2).
#
# Usage: packaging/ci/build-deb.sh [OUTDIR]          (default OUTDIR: dist/; the .deb and .changes go there)
# Environment: DEB_BUILD_OPTIONS (e.g. nocheck: skip the unit tests at build time), PIPEX_PACKAGING_CACHE (default
# /var/tmp/pipex-packaging), MIRROR (default http://deb.debian.org/debian)
#
# The roots live outside the working tree: while a chroot runs, /proc (and an apt cache bind) is mounted inside
# its root, and a root under the repository would be copied, archived or `rm -rf`ed with it. Every mount is
# undone on every exit path (success, failure, Ctrl-C, SIGTERM, SIGHUP), and leftovers of a killed run are
# unmounted before any root is touched.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(realpath -m "${1:-$REPO/dist}")
CACHE=$(realpath -m "${PIPEX_PACKAGING_CACHE:-/var/tmp/pipex-packaging}")
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
BASE=$CACHE/$SUITE-base
BUILD=$CACHE/$SUITE-build
WORK=$CACHE/work
# What the build root has besides debian/control's Build-Depends (part of its cache key).
BUILD_TOOLS="build-essential dpkg-dev fakeroot lintian"
CHROOT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)

began=$SECONDS
step() { printf '== build-deb [%3ds] %s\n' $((SECONDS - began)) "$*" >&2; }
die() { echo "build-deb: error: $1" >&2; [[ -z ${2:-} ]] || echo "hint: $2" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "debootstrap and chroot need root" "run it with sudo, or use \`make package\`"
case "$CACHE/" in "$REPO/"*)
    die "PIPEX_PACKAGING_CACHE=$CACHE is inside the working tree" \
        "choose a directory outside $REPO (default: /var/tmp/pipex-packaging): its roots get /proc mounted in them" ;;
esac
command -v debootstrap >/dev/null || die "debootstrap is missing" "apt-get install debootstrap"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
deb_version=$(sed -n '1s/^pipex (\([^)]*\)).*/\1/p' "$REPO/packaging/debian/changelog")
[[ $version == "$deb_version" ]] || die "pyproject.toml says $version, packaging/debian/changelog says $deb_version" \
    "add a changelog entry: dch -c packaging/debian/changelog -v $version"

# Unmount every mount under our cache on exit, even after a failure (G9: chroots need /proc).
unmount_all() {
    local target
    for target in $(awk -v p="$CACHE/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount -l "$target" 2>/dev/null || true
    done
}
cleanup() {
    unmount_all
    rm -rf "$WORK"
}
trap cleanup EXIT
# A signal ends the script through `exit`, so the EXIT trap (the unmounting) runs for it too.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
unmount_all # what a run killed with SIGKILL left mounted: never delete or copy a root with /proc inside

in_root() { # in_root ROOT COMMAND...: run with /proc mounted and the host's resolver (apt needs the mirror)
    local root=$1
    shift
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    local rc=0
    chroot "$root" "${CHROOT_ENV[@]}" "$@" || rc=$?
    umount "$root/proc"
    return "$rc"
}

ensure_base() {
    [[ -f $BASE/.pipex-ok ]] && return
    step "debootstrap $SUITE (once; cached in $BASE)"
    rm -rf "$BASE" "$BASE.partial"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase "$SUITE" "$BASE.partial" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
        { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed" "is $MIRROR reachable?"; }
    # Maintainer scripts must not start services in these roots.
    printf '#!/bin/sh\nexit 101\n' >"$BASE.partial/usr/sbin/policy-rc.d"
    chmod +x "$BASE.partial/usr/sbin/policy-rc.d"
    touch "$BASE.partial/.pipex-ok"
    mv "$BASE.partial" "$BASE"
}

ensure_build_root() {
    local key
    key=$(cat "$REPO/packaging/debian/control" <(echo "$BUILD_TOOLS") | sha256sum | cut -c1-16)
    [[ -f $BUILD/.pipex-ok && $(cat "$BUILD/.pipex-ok") == "$key" ]] && return
    step "build root: Build-Depends + $BUILD_TOOLS (cached in $BUILD until debian/control changes)"
    rm -rf "$BUILD" "$BUILD.partial"
    cp -a "$BASE" "$BUILD.partial"
    mkdir -p "$BUILD.partial/tmp/deps/debian"
    cp "$REPO/packaging/debian/control" "$BUILD.partial/tmp/deps/debian/"
    # shellcheck disable=SC2086  # a word list
    in_root "$BUILD.partial" sh -ec "apt-get update -qq
        apt-get install -y -qq --no-install-recommends $BUILD_TOOLS
        apt-get build-dep -y -qq /tmp/deps
        apt-get clean" >"$CACHE/build-root.log" 2>&1 ||
        { tail -20 "$CACHE/build-root.log" >&2; die "installing the build dependencies failed"; }
    rm -rf "$BUILD.partial/tmp/deps"
    echo "$key" >"$BUILD.partial/.pipex-ok"
    mv "$BUILD.partial" "$BUILD"
}

# The source tree as git sees it (tracked and untracked, not ignored), or everything but local state.
copy_source() {
    local dest=$1
    mkdir -p "$dest"
    if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' |
            tar --null -T - -cf -) | tar -xf - -C "$dest"
    else
        tar -C "$REPO" --exclude=./.venv --exclude=./.test-env --exclude=./dist --exclude=./build \
            --exclude='*cache*' --exclude=__pycache__ -cf - . | tar -xf - -C "$dest"
    fi
    cp -r "$REPO/packaging/debian" "$dest/debian"
}

build_deb() {
    step "dpkg-buildpackage (pipex $version) in the $SUITE build root"
    rm -rf "$BUILD/build"
    copy_source "$BUILD/build/pipex-$version"
    in_root "$BUILD" sh -ec "cd /build/pipex-$version && DEB_BUILD_OPTIONS='${DEB_BUILD_OPTIONS:-}' dpkg-buildpackage -us -uc -b" >"$CACHE/dpkg-buildpackage.log" 2>&1 ||
        { tail -40 "$CACHE/dpkg-buildpackage.log" >&2; die "dpkg-buildpackage failed (log: $CACHE/dpkg-buildpackage.log)"; }
    grep -E ' passed' "$CACHE/dpkg-buildpackage.log" | tail -1 | sed 's/^/   unit tests at build time: /' >&2 || true
    step "lintian --pedantic (fails on errors and warnings)"
    in_root "$BUILD" sh -ec "cd /build && lintian --pedantic -I --fail-on error,warning --suppress-tags \
        bad-distribution-in-changes-file pipex_${version}_*.changes" >&2 ||
        die "lintian found errors or warnings (above)"
    mkdir -p "$OUT"
    cp "$BUILD"/build/pipex_"$version"_* "$OUT"/
}

check_depends() {
    local deb=$1 depends
    depends=$(dpkg-deb -f "$deb" Depends)
    echo "Depends: $depends" >&2
    local want
    for want in 'python3-pydantic (>= 2.9' 'python3-typer (>= 0.15' 'python3-podman (>= 5.4'; do
        [[ $depends == *"$want"* ]] || die "Depends lacks a versioned '$want…)' (see py3dist-overrides)"
    done
    [[ $(dpkg-deb -f "$deb" Recommends) == *podman* ]] || die "Recommends lacks podman"
}

install_test() {
    local deb=$1 root=$WORK/install-root
    step "install into a clean $SUITE root and smoke-test"
    rm -rf "$WORK"
    mkdir -p "$WORK" "$CACHE/apt-archives/partial"
    cp -a "$BASE" "$root"
    cp "$deb" "$root/tmp/"
    cp "$REPO/packaging/debian/tests/validate" "$root/tmp/validate"
    # The downloaded .debs are kept between runs: a repeat install fetches nothing.
    mount --bind "$CACHE/apt-archives" "$root/var/cache/apt/archives"
    in_root "$root" sh -ec "apt-get update -qq
        apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb") man-db" >"$CACHE/install.log" 2>&1 ||
        { tail -20 "$CACHE/install.log" >&2; die "apt-get install ./$(basename "$deb") failed in a clean $SUITE root"; }
    in_root "$root" sh -ec "
        test \"\$(pipex --version)\" = 'pipex $version'
        pipex --help | grep -q 'Usage: pipex'
        man -w pipex
        for page in \$(dpkg -L pipex | sed -n 's|^/usr/share/man/man1/\\(.*\\)\\.1\\.gz\$|\\1|p'); do man -w \$page; done
        test -s /usr/share/bash-completion/completions/pipex
        test -s /usr/share/zsh/vendor-completions/_pipex
        test -s /usr/share/fish/vendor_completions.d/pipex.fish
        bash -c '. /usr/share/bash-completion/completions/pipex && complete -p pipex'
        mkdir -p /tmp/autopkgtest && AUTOPKGTEST_TMP=/tmp/autopkgtest sh /tmp/validate
        pipex --version" >&2 || die "the installed package failed its smoke test (above)"
    umount "$root/var/cache/apt/archives"
}

ensure_base
ensure_build_root
build_deb
deb=$OUT/pipex_${version}_all.deb
check_depends "$deb"
install_test "$deb"
step "ok: $deb ($(du -k "$deb" | cut -f1) kB)"
