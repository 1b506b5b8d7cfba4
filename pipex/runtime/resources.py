"""Resource limits of a step: whether the engine will actually enforce them (the limits arrive parsed, as numbers
in ``Resources``: ``pipex/model/limits.py`` reads the step's fields).

Rootless containers on cgroup v1 (and rootless cgroup v2 without delegated controllers) get no limits: the
engine silently ignores them. pipex records per limit whether it was enforced (``meta.json``) and, with
``--strict-limits``, refuses to run a step whose limits would be ignored.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pipex.errors import FeatureUnsupported
from pipex.runtime.base import Resources, RuntimeInfo

Limit = Literal["cpus", "memory", "pids"]
LIMITS: tuple[Limit, ...] = ("cpus", "memory", "pids")
_CONTROLLER = {"cpus": "cpu", "memory": "memory", "pids": "pids"}


class LimitRecord(TypedDict, total=False):
    value: float | int
    enforced: bool
    reason: str  # only when not enforced


def why_not_enforced(limit: Limit, info: RuntimeInfo) -> str | None:
    """Why ``info``'s engine would ignore ``limit``, or ``None`` when it enforces it."""
    if info.enforces(limit):
        return None
    controller = _CONTROLLER[limit]
    if info.rootless and info.cgroup_version == "v1":
        return "rootless containers cannot have limits on cgroup v1"
    if info.rootless:
        return f"the {controller} cgroup controller is not delegated to your user"
    return f"the engine reports no {controller} cgroup controller"


def enforcement(resources: Resources, info: RuntimeInfo) -> dict[str, LimitRecord]:
    """Per set limit: its value and whether the engine enforces it (with the reason when it does not)."""
    record: dict[str, LimitRecord] = {}
    for limit in LIMITS:
        value = getattr(resources, limit)
        if value is None:
            continue
        reason = why_not_enforced(limit, info)
        entry: LimitRecord = {"value": value, "enforced": reason is None}
        if reason is not None:
            entry["reason"] = reason
        record[limit] = entry
    return record


def require_enforced(resources: Resources, info: RuntimeInfo) -> None:
    """``--strict-limits``: raise ``FeatureUnsupported`` naming the first limit the engine would ignore."""
    for limit in LIMITS:
        value = getattr(resources, limit)
        if value is None or info.enforces(limit):
            continue
        controller = _CONTROLLER[limit]
        if info.rootless and info.cgroup_version == "v1":
            needs = "cgroup v2: rootless containers cannot have limits on cgroup v1"
            hint = (
                "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or use a rootful engine; "
                "without --strict-limits the step runs with the limit ignored"
            )
        elif info.rootless:
            needs = f"the {controller} cgroup controller delegated to your user"
            hint = (
                "delegate it with a systemd drop-in /etc/systemd/system/user@.service.d/delegate.conf "
                "containing `[Service]` and `Delegate=cpu cpuset io memory pids`, then log in again; "
                "without --strict-limits the step runs with the limit ignored"
            )
        else:
            needs = f"the {controller} cgroup controller"
            hint = "enable it on the engine's host; without --strict-limits the step runs with the limit ignored"
        raise FeatureUnsupported(
            f"enforcing the {limit} limit ({_shown(limit, value)})", info.version, needs=needs, hint=hint
        )


def _shown(limit: Limit, value: float) -> str:
    if limit != "memory":
        return f"{value:g}"
    for unit, size in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if value >= size:
            return f"{value / size:.4g}{unit}"
    return f"{value:g}b"
