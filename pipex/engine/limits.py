"""A step's ``resources`` as the engine limits a ``ContainerSpec`` carries: parsed once, by the model's grammar."""

from __future__ import annotations

from pipex.errors import PipelineError, Problem
from pipex.model.limits import parse_cpus, parse_memory, parse_pids
from pipex.model.spec import ResourcesSpec
from pipex.runtime.base import Resources


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
