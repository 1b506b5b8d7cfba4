#!/usr/bin/env bash
# The offline base of the top-level Containerfile: Debian trixie with python3, venv, hatchling and pipex's
# runtime dependencies from Debian packages, so `podman build` needs neither a registry nor PyPI:
#
#   runtimes/pipex-base-image.sh                       # -> localhost/pipex-base:trixie
#   podman build --network=none --build-arg BASE=localhost/pipex-base:trixie \
#       --build-arg PIP_ARGS="--no-index --no-build-isolation" -t pipex .
#
# Usage: runtimes/pipex-base-image.sh [TAG] [ENGINE]   (ENGINE may be tar:FILE; see debian-image.sh)
set -euo pipefail
export POST_INSTALL='rm -f /usr/lib/python3*/EXTERNALLY-MANAGED'
export IMAGE_CMD='["python3"]'
exec "$(dirname "${BASH_SOURCE[0]}")/debian-image.sh" "${1:-localhost/pipex-base:trixie}" "${2:-podman}" \
    python3 python3-venv python3-pip python3-hatchling ca-certificates \
    python3-docker python3-platformdirs python3-podman python3-pydantic python3-typer python3-yaml
