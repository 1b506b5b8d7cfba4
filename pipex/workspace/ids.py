"""Names that become directories: workspace names, step ids, run ids. Nothing may escape the workdir."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from pipex.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_STEP = re.compile(r"^[A-Za-z0-9_-]+$")
_RUN = re.compile(r"^\d{8}T\d{6}(?:\d{3})?Z-[0-9a-f]{8}$")


def check_workspace_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise UsageError(
            f'invalid workspace name "{name}"',
            hint="use letters, digits, '_', '.', '-' (starting with a letter or digit), without '..'",
        )
    return name


def check_step_id(step: str) -> str:
    if not _STEP.match(step):
        raise UsageError(f'invalid step id "{step}"', hint="step ids use letters, digits, '_' and '-'")
    return step


def is_run_id(value: str) -> bool:
    return bool(_RUN.match(value))


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the millisecond, then 32 random bits (``20261123T101500123Z-1a2b3c4d``)."""
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(4)}"
