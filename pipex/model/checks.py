"""Checks of one step's fields that pydantic's types cannot express: kinds, paths, numbers, conditions."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipex.errors import Problem
from pipex.model.bounds import (
    MAX_CPUS,
    MAX_ID,
    MAX_MEMORY_BYTES,
    MAX_NAME,
    MAX_PIDS,
    MAX_RETRIES,
    MAX_RETRY_DELAY_MS,
    MAX_TIMEOUT_SEC,
    length_problem,
    path_problem,
    short_number,
)
from pipex.model.compose import field_problems
from pipex.model.draft import Draft
from pipex.model.handwritten.dotenv import load_dotenv
from pipex.model.limits import MEMORY_HINT, MIN_MEMORY, memory_size
from pipex.model.paths import check_container_path, normal_container_path, resolve_host_path
from pipex.model.schema import quote
from pipex.model.step import Cache, Mount, Resources, Step

GATE_FIELDS = frozenset({"id", "name", "approval", "inputs", "if_"})
STEP_ID = re.compile(r"^[A-Za-z0-9_-]+$")
CACHE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
Claim = Callable[[str, str, str], None]  # (container path, location, label): reserve a path


@dataclass(frozen=True, slots=True)
class Context:
    root: Path
    boundary: Path


def step_problems(draft: Draft, ctx: Context) -> list[Problem]:
    """Everything wrong with one step on its own (not its relation to other steps)."""
    step = draft.step
    if step is None:
        return []
    base = f"steps[{draft.index}]"  # location(draft.loc), without the generic walk: this runs once per step
    out: list[Problem] = []
    if draft.id_from == "id" and "id" not in draft.bad and not STEP_ID.match(step.id):
        hint = 'use only letters, digits, "_" and "-"'
        out.append(Problem(f"{base}.id", f"{quote(step.id[:40])} is not a valid step id", hint))
    elif too_long := length_problem(step.id, MAX_ID):
        what = "" if draft.id_from == "id" else "the id made from it "
        out.append(Problem(f"{base}.{draft.id_from}", what + too_long, "step ids become file and container names"))
    if step.name is not None and (too_long := length_problem(step.name, MAX_NAME)):
        out.append(Problem(f"{base}.name", too_long))
    _kind(draft, step, base, out)
    if step.env or step.env_file is not None:
        out += _env(draft, step, base, ctx)
    if step.secrets:
        out += _secrets(step, base, ctx)
    out += _paths(draft, step, base, ctx)
    if step.if_ is not None and "if" not in draft.bad:
        message = condition_problem(step.if_)
        if message:
            out.append(Problem(f"{base}.if", message))
    _numbers(draft, step, base, out)
    if step.when == "failure" and not step.inputs:
        out.append(
            Problem(
                f"{base}.when",
                '"failure" needs inputs: the step runs only when one of its inputs failed',
                "list the steps whose failure it handles in inputs",
            )
        )
    return out


@functools.lru_cache(maxsize=1024)  # steps generated from a template share their conditions
def condition_problem(text: str) -> str | None:
    """The syntax error of an ``if`` condition, or ``None``."""
    # start-up: the condition parser only for steps with `if`
    from pipex.model.handwritten.condition import ConditionSyntaxError, parse

    try:
        parse(text)
    except ConditionSyntaxError as exc:
        return str(exc)
    return None


def _given(draft: Draft, step: Step, name: str) -> bool:
    if name in draft.hinted:
        return True  # misspelled: the did-you-mean already says it, no "missing" on top
    if draft.data is not None:
        return draft.data.get(name) is not None
    if name == "with":
        return bool(step.with_)
    return getattr(step, name) is not None


def _kind(draft: Draft, step: Step, base: str, out: list[Problem]) -> None:
    if step.pipeline is not None:  # a sub-pipeline: no container of its own
        out += field_problems(step, base)
        return
    if step.approval is not None:  # an approval gate: no container either
        for name in sorted(step.model_fields_set - GATE_FIELDS):
            alias = Step.model_fields[name].alias or name
            out.append(Problem(f"{base}.{alias}", f'an approval gate cannot set "{alias}"', "a gate runs no container"))
        return
    image, cmd, uses = _given(draft, step, "image"), _given(draft, step, "cmd"), _given(draft, step, "uses")
    if uses:
        both = [quote(name) for name, given in (("image", image), ("cmd", cmd)) if given]
        if both:
            out.append(
                Problem(
                    f"{base}.uses",
                    f'a kit step ("uses") cannot also set {" and ".join(both)}',
                    'the kit chooses the image and command; remove them, or remove "uses" for a raw step',
                )
            )
        if step.uses == "":
            out.append(Problem(f"{base}.uses", "must not be empty: name a kit"))
    else:
        if not image and not cmd:
            out.append(Problem(base, 'a step needs "image" and "cmd", or "uses" (a kit)'))
        elif not cmd:
            out.append(Problem(base, 'missing "cmd": a step with "image" needs a command'))
        elif not image:
            out.append(Problem(base, 'missing "image": a step with "cmd" needs an image'))
        if _given(draft, step, "with") and "with" not in draft.bad:
            out.append(Problem(f"{base}.with", '"with" holds kit parameters; it needs "uses"'))
    if step.image == "":
        out.append(Problem(f"{base}.image", "must not be empty"))
    if step.cmd == [] and "cmd" not in draft.bad:
        out.append(Problem(f"{base}.cmd", "must not be empty: give the command and its arguments"))


def _env(draft: Draft, step: Step, base: str, ctx: Context) -> list[Problem]:
    out: list[Problem] = []
    for name in step.env:
        if not name or "=" in name or "\x00" in name:
            out.append(Problem(f"{base}.env", f"{quote(name)} is not a valid variable name"))
    if step.env_file is not None and "envFile" not in draft.bad:
        message = env_file_problem(step.env_file, ctx.root)
        if message:
            out.append(Problem(f"{base}.envFile", message))
    return out


def _secrets(step: Step, base: str, ctx: Context) -> list[Problem]:
    """Each entry on its own, unique names, and none also set in ``env``/``envFile`` (one value, one place)."""
    out: list[Problem] = []
    seen: set[str] = set()
    env_file: set[str] = set()
    if step.env_file is not None and env_file_problem(step.env_file, ctx.root) is None:
        env_file = set(load_dotenv(ctx.root / step.env_file))
    for position, secret in enumerate(step.secrets):
        where = f"{base}.secrets[{position}]"
        out += [Problem(f"{where}.{field}", message) for field, message in secret.problems()]
        if secret.name in seen:
            out.append(Problem(f"{where}.name", f"secret {quote(secret.name)} is declared twice"))
        seen.add(secret.name)
        if secret.name in step.env or secret.name in env_file:
            where_set = "env" if secret.name in step.env else "envFile"
            out.append(
                Problem(
                    f"{where}.name",
                    f"{quote(secret.name)} is both a secret and set in {where_set}",
                    f"remove it from {where_set}: a secret's value comes only from its source",
                )
            )
        if secret.file is not None:
            why = env_file_problem(secret.file, ctx.root, what="secret file", parse=False)
            if why:
                out.append(Problem(f"{where}.file", why))
    return out


def env_file_problem(value: str, root: Path, *, what: str = "env file", parse: bool = True) -> str | None:
    """Why a step's ``envFile`` (or a secret's ``file``: ``what``, unparsed) cannot be used, or ``None``."""
    if not value:
        return "must not be empty"
    if "\x00" in value:
        return f"{what} name contains a NUL byte"
    if too_long := path_problem(value):
        return f"{what} {too_long}"
    if Path(value).is_absolute():
        return f"{what} {quote(value)} must be relative to the pipeline root {root}"
    path = (root / value).resolve()
    if not path.is_relative_to(root.resolve()):
        return f"{what} {quote(value)} resolves to {path}, outside the pipeline root {root}"
    if not path.is_file():
        return f"{what} {quote(value)} not found ({path})"
    if not parse:
        return None
    try:
        load_dotenv(path)
    except ValueError as exc:
        return str(exc)
    return None


def _paths(draft: Draft, step: Step, base: str, ctx: Context) -> list[Problem]:
    out: list[Problem] = []
    used: dict[str, str] = {}  # container path → the field that claimed it first

    def claim(value: str, where: str, label: str) -> None:
        message = check_container_path(value)
        if message:
            out.append(Problem(where, message))
            return
        normal = normal_container_path(value)
        if normal in used:
            out.append(Problem(where, f"{quote(value)} is already used by {used[normal]}"))
        else:
            used[normal] = label

    if "outputPath" not in draft.bad:
        claim(step.output_path, f"{base}.outputPath", "outputPath")
    for field, items in (("mounts", step.mounts), ("sources", step.sources)):
        if items and field not in draft.bad:
            _mounts(field, items, base, ctx, claim, out)
    if step.caches and "caches" not in draft.bad:
        _caches(step.caches, f"{base}.caches", claim, out)
    if step.setup is not None and "setup" not in draft.bad:
        if not step.setup.cmd:
            out.append(Problem(f"{base}.setup.cmd", "must not be empty: give the command and its arguments"))
        setup_used: dict[str, str] = {}

        def claim_setup(value: str, where: str, label: str) -> None:
            message = check_container_path(value)
            if message:
                out.append(Problem(where, message))
            elif (normal := normal_container_path(value)) in setup_used:
                out.append(Problem(where, f"{quote(value)} is already used by setup.{setup_used[normal]}"))
            else:
                setup_used[normal] = label

        _caches(step.setup.caches, f"{base}.setup.caches", claim_setup, out)
    return out


def _mounts(field: str, items: list[Mount], base: str, ctx: Context, claim: Claim, out: list[Problem]) -> None:
    for position, mount in enumerate(items):
        where = f"{base}.{field}[{position}]"
        try:
            resolve_host_path(mount.host, root=ctx.root, boundary=ctx.boundary)
        except ValueError as exc:
            out.append(Problem(f"{where}.host", str(exc)))
        claim(mount.container, f"{where}.container", f"{field}[{position}]")


def _caches(items: list[Cache], where: str, claim: Claim, out: list[Problem]) -> None:
    for position, cache in enumerate(items):
        if too_long := length_problem(cache.name, MAX_ID):
            out.append(Problem(f"{where}[{position}].name", too_long, "cache names become folder names"))
        elif not CACHE_NAME.match(cache.name):
            hint = 'use only letters, digits, "_" and "-"'
            out.append(Problem(f"{where}[{position}].name", f"{quote(cache.name)} is not a valid cache name", hint))
        claim(cache.path, f"{where}[{position}].path", f"{where.rsplit('.', 1)[-1]}[{position}]")


def _numbers(draft: Draft, step: Step, base: str, out: list[Problem]) -> None:
    timeout = step.timeout_sec
    if timeout is not None and "timeoutSec" not in draft.bad:
        if not math.isfinite(timeout) or timeout <= 0:
            message = f"must be a number of seconds greater than 0, got {_num(timeout)}"
            out.append(Problem(f"{base}.timeoutSec", message))
        elif timeout > MAX_TIMEOUT_SEC:
            out.append(Problem(f"{base}.timeoutSec", _at_most(MAX_TIMEOUT_SEC, timeout, " (365 days)")))
    if "retries" not in draft.bad:
        if step.retries < 0:
            out.append(Problem(f"{base}.retries", f"must be 0 or more, got {_num(step.retries)}"))
        elif step.retries > MAX_RETRIES:
            out.append(Problem(f"{base}.retries", _at_most(MAX_RETRIES, step.retries)))
    if "retryDelayMs" not in draft.bad:
        if step.retry_delay_ms < 0:
            out.append(Problem(f"{base}.retryDelayMs", f"must be 0 or more, got {_num(step.retry_delay_ms)}"))
        elif step.retry_delay_ms > MAX_RETRY_DELAY_MS:
            out.append(Problem(f"{base}.retryDelayMs", _at_most(MAX_RETRY_DELAY_MS, step.retry_delay_ms, " (a day)")))
    resources = step.resources
    if resources is not None and "resources" not in draft.bad:
        _resources(resources, f"{base}.resources", out)


def _resources(resources: Resources, where: str, out: list[Problem]) -> None:
    cpus, pids, memory = resources.cpus, resources.pids, resources.memory
    if cpus is not None:
        if not math.isfinite(cpus) or cpus <= 0:
            out.append(Problem(f"{where}.cpus", f"must be greater than 0, got {_num(cpus)}"))
        elif cpus > MAX_CPUS:
            out.append(Problem(f"{where}.cpus", _at_most(MAX_CPUS, cpus)))
    if pids is not None:
        if pids <= 0:
            out.append(Problem(f"{where}.pids", f"must be greater than 0, got {_num(pids)}"))
        elif pids > MAX_PIDS:
            out.append(Problem(f"{where}.pids", _at_most(MAX_PIDS, pids)))
    if memory is not None:
        size = memory_size(memory)  # the grammar a run parses with (model/limits.py)
        if size is None:
            out.append(Problem(f"{where}.memory", f"{quote(memory[:40])} is not a memory size", MEMORY_HINT))
        elif size > MAX_MEMORY_BYTES:
            out.append(Problem(f"{where}.memory", f"{quote(memory[:40])} is more memory than any machine has"))
        elif size < MIN_MEMORY:
            message = f"{quote(memory[:40])} is less than 6m, the least memory an engine accepts"
            out.append(Problem(f"{where}.memory", message))


def _at_most(most: float, value: float, meaning: str = "") -> str:
    return f"must be at most {most:,}{meaning}, got {_num(value)}"


def _num(value: float) -> str:
    return short_number(value) if isinstance(value, int) or math.isfinite(value) else str(value)
