"""Names that become directories: workspace names, step ids, run ids. Nothing may escape the workdir."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from pipex.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Dotted: the steps of a sub-pipeline are ``<step>.<child-id>`` (never empty parts, so never "." or "..");
# an instance of a fan-out step: ``convert[eu-csv]`` (the key is a safe file name); the steps of one instance of
# a fanned sub-pipeline: ``etl[eu].extract``.
_PART = r"[A-Za-z0-9_-]+(?:\[[A-Za-z0-9_][A-Za-z0-9_.-]*\])?"
_STEP = re.compile(rf"^{_PART}(?:\.{_PART})*$")
_RUN = re.compile(r"^\d{8}T\d{6}(?:\d{3})?Z-[0-9a-f]{8}$")
# Names become folder names (at most 255 bytes) and parts of container names: the pipeline format's limit on
# ids (pipex.model.bounds.MAX_ID), so a workspace named after a pipeline id always fits.
MAX_NAME = 128


def _too_long(what: str, name: str) -> UsageError | None:
    if len(name) <= MAX_NAME:
        return None
    return UsageError(f"{what} is too long: {len(name):,} characters, at most {MAX_NAME}", hint="use a shorter name")


def check_workspace_name(name: str) -> str:
    if error := _too_long("workspace name", name):
        raise error
    if not _NAME.match(name) or ".." in name:
        raise UsageError(
            f'invalid workspace name "{name}"',
            hint="use letters, digits, '_', '.', '-' (starting with a letter or digit), without '..'",
        )
    return name


def check_step_id(step: str) -> str:
    if error := _too_long("step id", step):
        raise error
    if not _STEP.match(step):
        raise UsageError(
            f'invalid step id "{step}"',
            hint="step ids use letters, digits, '_' and '-' ('.' between a sub-pipeline and its steps; an "
            "instance: step[key])",
        )
    return step


def is_run_id(value: str) -> bool:
    return bool(_RUN.match(value))


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the millisecond, then 32 random bits (``20261123T101500123Z-1a2b3c4d``)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(4)}"
