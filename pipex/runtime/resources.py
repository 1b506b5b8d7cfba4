"""Resource limits of a step: parsing (``cpus: 1.5``, ``memory: "2g"``, ``pids: 512``) and whether the engine
will actually enforce them.

Rootless containers on cgroup v1 (and rootless cgroup v2 without delegated controllers) get no limits: the
engine silently ignores them. pipex records per limit whether it was enforced (``meta.json``) and, with
``--strict-limits``, refuses to run a step whose limits would be ignored.
"""

from __future__ import annotations

import math
import re
from typing import Literal, TypedDict

from pipex.errors import FeatureUnsupported, PipelineError, Problem
from pipex.model.spec import ResourcesSpec
from pipex.runtime.base import Resources, RuntimeInfo

Limit = Literal["cpus", "memory", "pids"]
LIMITS: tuple[Limit, ...] = ("cpus", "memory", "pids")
_CONTROLLER = {"cpus": "cpu", "memory": "memory", "pids": "pids"}

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_MEMORY = re.compile(r"(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[bkmgt]?)(?:i?b)?", re.IGNORECASE)
_MIN_MEMORY = 6 * 1024**2  # engines refuse less than 6 MiB


class LimitRecord(TypedDict, total=False):
    value: float | int
    enforced: bool
    reason: str  # only when not enforced


def parse_cpus(value: object) -> float:
    """CPUs as a float > 0 (``1``, ``1.5``, ``"0.5"``)."""
    if isinstance(value, bool):
        raise ValueError(f"cpus must be a number of CPUs greater than 0, like 1.5 (got {value!r})")
    try:
        cpus = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"cpus must be a number of CPUs greater than 0, like 1.5 (got {value!r})") from None
    if not math.isfinite(cpus) or cpus <= 0:
        raise ValueError(f"cpus must be a number of CPUs greater than 0, like 1.5 (got {value!r})")
    return cpus


def parse_memory(value: object) -> int:
    """Memory in bytes: an int of bytes, or a number with a unit ``b k m g t`` (binary: ``1g`` = 1024³),
    case-insensitive, with an optional ``b``/``ib`` suffix (``512m``, ``2g``, ``1.5G``, ``512MiB``)."""
    example = 'like "512m", "2g" or a number of bytes'
    if isinstance(value, bool):
        raise ValueError(f"memory must be a size {example} (got {value!r})")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _MEMORY.fullmatch(value.strip())):
        size = int(float(match["number"]) * _UNITS[match["unit"].lower()])
    else:
        raise ValueError(f"memory must be a size {example} (got {value!r})")
    if size < _MIN_MEMORY:
        raise ValueError(f"memory must be at least 6m, the least an engine accepts (got {value!r})")
    return size


def parse_pids(value: object) -> int:
    """The most processes the container may have: an int > 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"pids must be a whole number greater than 0, like 512 (got {value!r})")
    return value


def to_resources(spec: ResourcesSpec | None, *, location: str = "resources") -> Resources:
    """Parse a step's ``resources`` into engine units; every bad field is reported at once."""
    if spec is None:
        return Resources()
    problems: list[Problem] = []
    parsed: dict[str, float | int | None] = {}
    for name, parse in (("cpus", parse_cpus), ("memory", parse_memory), ("pids", parse_pids)):
        raw = getattr(spec, name)
        try:
            parsed[name] = None if raw is None else parse(raw)
        except ValueError as exc:
            problems.append(Problem(f"{location}.{name}", str(exc)))
    if problems:
        raise PipelineError.from_problems(problems)
    return Resources(
        cpus=None if parsed["cpus"] is None else float(parsed["cpus"]),
        memory=None if parsed["memory"] is None else int(parsed["memory"]),
        pids=None if parsed["pids"] is None else int(parsed["pids"]),
    )


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
