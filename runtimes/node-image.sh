#!/usr/bin/env bash
# An offline stand-in for the node kit's default image (node:24-alpine), built from Debian packages:
# nodejs (20 on trixie, 18 on bookworm: not 24) and npm, on Debian rather than Alpine (glibc, not musl).
# For machines that cannot reach a registry; with one, `podman pull node:24-alpine` gives the real thing.
#
# Usage: runtimes/node-image.sh [TAG] [ENGINE]       (default node:24-alpine, podman; SUITE=trixie)
set -euo pipefail
export POST_INSTALL='echo "node $(node --version), npm $(npm --version)"'
export IMAGE_CMD='["node"]'
exec "$(dirname "${BASH_SOURCE[0]}")/debian-image.sh" "${1:-node:24-alpine}" "${2:-podman}" \
    nodejs npm ca-certificates
