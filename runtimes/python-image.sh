#!/usr/bin/env bash
# An offline stand-in for the python kit's default image (python:3.12-slim), built from Debian packages:
# python3 (3.13 on trixie, 3.11 on bookworm: not 3.12), pip and venv, `python` on PATH, and pip allowed to
# install into the system Python as in the official image (Debian's EXTERNALLY-MANAGED marker removed).
# For machines that cannot reach a registry; with one, `podman pull python:3.12-slim` gives the real thing.
#
# Usage: runtimes/python-image.sh [TAG] [ENGINE]     (default python:3.12-slim, podman; SUITE=trixie)
set -euo pipefail
export POST_INSTALL='rm -f /usr/lib/python3*/EXTERNALLY-MANAGED; python --version; pip --version'
export IMAGE_CMD='["python3"]'
exec "$(dirname "${BASH_SOURCE[0]}")/debian-image.sh" "${1:-python:3.12-slim}" "${2:-podman}" \
    python3 python3-pip python3-venv python-is-python3 ca-certificates
