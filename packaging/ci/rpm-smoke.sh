#!/usr/bin/env bash
# ADVISORY smoke test of packaging/rpm/pipex.spec: rpmbuild on Debian cannot resolve or generate Fedora
# dependencies (packaging-notes G8), so this only proves that the spec parses, that %install runs (wheel,
# man pages, completions) and that %files matches what it installs. The authoritative RPM builds are
# Packit's COPR builds (.packit.yaml). A failure here must not fail CI; the Makefile labels it advisory.
#
# Usage: packaging/ci/rpm-smoke.sh [OUTDIR]     (root; reuses build-deb.sh's cached trixie build root)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(realpath -m "${1:-$REPO/dist}")
CACHE=$(realpath -m "${PIPEX_PACKAGING_CACHE:-/var/tmp/pipex-packaging}") # build-deb.sh's: outside the tree
BUILD=$CACHE/trixie-build
ROOT=$CACHE/trixie-rpm
CHROOT_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
began=$SECONDS
step() { printf '== rpm-smoke (advisory) [%3ds] %s\n' $((SECONDS - began)) "$*" >&2; }
die() { echo "rpm-smoke (advisory): error: $1" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "chroot needs root"
[[ -f $BUILD/.pipex-ok ]] || die "no build root at $BUILD: run packaging/ci/build-deb.sh first"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")

cleanup() { mountpoint -q "$ROOT/proc" && umount -l "$ROOT/proc"; rm -rf "$ROOT/root/rpmbuild"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# A run killed with SIGKILL may have left /proc mounted: never delete or copy the root with it inside.
if mountpoint -q "$ROOT/proc"; then umount -l "$ROOT/proc"; fi

if [[ ! -f $ROOT/.pipex-rpm-ok || $ROOT/.pipex-rpm-ok -ot $BUILD/.pipex-ok ]]; then
    step "rpm root: the build root + rpm, rpmlint (once; cached in $ROOT)"
    rm -rf "$ROOT" && cp -a "$BUILD" "$ROOT"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    mount -t proc proc "$ROOT/proc"
    chroot "$ROOT" "${CHROOT_ENV[@]}" sh -ec 'apt-get update -qq
        apt-get install -y -qq --no-install-recommends rpm rpmlint >/dev/null; apt-get clean' >&2
    umount "$ROOT/proc"
    touch "$ROOT/.pipex-rpm-ok"
fi

# Fedora's macros that Debian's rpm lacks, reduced to what this spec uses (a shim, not the real thing).
cat >"$ROOT/root/.rpmmacros" <<'MACROS'
%_topdir /root/rpmbuild
%python3 /usr/bin/python3
%python3_sitelib /usr/lib/python3/dist-packages
%bash_completions_dir /usr/share/bash-completion/completions
%zsh_completions_dir /usr/share/zsh/site-functions
%fish_completions_dir /usr/share/fish/vendor_completions.d
%autorelease 1
%autochangelog %{nil}
%pyproject_buildrequires true
%pyproject_wheel %{python3} -m build --wheel --no-isolation --skip-dependency-check --outdir pyproject-wheeldir .
%pyproject_install sh /root/pyproject-install %{buildroot} %{python3_sitelib}
%pyproject_files %{_builddir}/pyproject-files
%pyproject_save_files(l) printf '%%s\\n' %{python3_sitelib}/%1 '%{python3_sitelib}/%1-*.dist-info' > %{pyproject_files}
%pyproject_check_import PYTHONPATH=%{buildroot}%{python3_sitelib} %{python3} -c 'import pipex.cli.app'
%pytest PYTHONPATH=%{buildroot}%{python3_sitelib} %{python3} -m pytest
MACROS

# Debian's Python installs under /usr/local: move the wheel's files to Fedora's places.
cat >"$ROOT/root/pyproject-install" <<'SHIM'
set -eu
buildroot=$1 sitelib=$2
/usr/bin/python3 -m installer --destdir="$buildroot" --prefix=/usr pyproject-wheeldir/*.whl
stage=$(mktemp -d)
mv "$buildroot/usr" "$stage/usr"
mkdir -p "$buildroot/usr/bin" "$buildroot$sitelib"
find "$stage" -path '*/bin/*' -type f -exec mv {} "$buildroot/usr/bin/" \;
pkgs=$(dirname "$(find "$stage" -path '*-packages/pipex/__init__.py' | head -1)")/..
cp -a "$pkgs"/. "$buildroot$sitelib/"
rm -rf "$stage"
SHIM

step "rpmbuild --nodeps -ba (pipex $version; Version: 0 stamped as Packit does)"
top=$ROOT/root/rpmbuild
rm -rf "$top" && mkdir -p "$top"/{SOURCES,SPECS}
src=$(mktemp -d)
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
    xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | tar --null -T - -cf -) |
    (mkdir -p "$src/pipex-$version" && tar -xf - -C "$src/pipex-$version")
tar -C "$src" -czf "$top/SOURCES/pipex-$version.tar.gz" "pipex-$version" && rm -rf "$src"
sed "s/^Version:.*/Version:        $version/" "$REPO/packaging/rpm/pipex.spec" >"$top/SPECS/pipex.spec"
mount -t proc proc "$ROOT/proc"
chroot "$ROOT" "${CHROOT_ENV[@]}" rpmbuild --nodeps --nocheck -ba /root/rpmbuild/SPECS/pipex.spec \
    >"$CACHE/rpmbuild.log" 2>&1 || { tail -30 "$CACHE/rpmbuild.log" >&2; die "rpmbuild failed (log: $CACHE/rpmbuild.log)"; }
rpm=$(cd "$top/RPMS/noarch" && ls pipex-"$version"-*.noarch.rpm)
step "files in $rpm"
files=$(chroot "$ROOT" "${CHROOT_ENV[@]}" rpm -qpl "/root/rpmbuild/RPMS/noarch/$rpm")
for want in /usr/bin/pipex /usr/share/man/man1/pipex.1 /usr/share/bash-completion/completions/pipex \
    /usr/share/zsh/site-functions/_pipex /usr/share/fish/vendor_completions.d/pipex.fish \
    /usr/lib/python3/dist-packages/pipex/__init__.py; do
    grep -q "^$want" <<<"$files" || die "$rpm lacks $want"
done
step "rpmlint (informational only: openSUSE-style checks, no Fedora Requires on Debian)"
chroot "$ROOT" "${CHROOT_ENV[@]}" rpmlint "/root/rpmbuild/SPECS/pipex.spec" "/root/rpmbuild/RPMS/noarch/$rpm" 2>&1 |
    tail -5 | sed 's/^/   /' >&2 || true
umount "$ROOT/proc"
mkdir -p "$OUT" && cp "$top/RPMS/noarch/$rpm" "$top"/SRPMS/*.src.rpm "$OUT"/
step "ok: $OUT/$rpm"
