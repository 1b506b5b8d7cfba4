"""Instance expansion: a fan-out step (``matrix`` / ``foreach``) → one ``StepSpec`` per instance.

Each instance is an ordinary step to the rest of the engine — its own id ``<step>[<key>]``, fingerprint, run,
logs, cache entry and state — with its values substituted into ``cmd``, ``env`` values and ``name`` and given as
``MATRIX_<NAME>`` / ``ITEM`` variables (so they enter its fingerprint through ``cmd`` and ``env``). A kit step
whose ``with`` holds ``${{ … }}`` is resolved per instance instead (``FanOutSpec.resolve``): its values are
substituted in ``with`` before the kit sees them, so whatever the kit makes of them (image, command, mounts, the
kit's parameters in the fingerprint) is the instance's own.
Kept apart from the scheduler: it decides nothing, it only turns values into specs.

Spec: dynamic.md, "Fan-out: `matrix` and `foreach`".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipex.engine.plan import UpstreamInput
from pipex.errors import PipexError
from pipex.model.fanout import (
    MAX_INSTANCES,
    env_name,
    item_key,
    item_text,
    matrix_instances,
    matrix_key,
    substitute,
)
from pipex.model.spec import StepSpec, frozen_map


@dataclass(frozen=True, slots=True)
class ExpandError:
    """The items cannot make instances (not a list, too many, two items with one key): the step fails."""

    message: str


def instance_id(step: str, key: str) -> str:
    return f"{step}[{key}]"


def split_id(sid: str) -> tuple[str, str | None]:
    """``convert[eu]`` → (``convert``, ``eu``); a plain step id → (it, ``None``). Keys never hold ``[``: the last
    one opens the key (``etl[eu].convert[csv]`` → (``etl[eu].convert``, ``csv``))."""
    if sid.endswith("]") and "[" in sid:
        step, _, key = sid[:-1].rpartition("[")
        return step, key
    return sid, None


def targeted_instances(specs: Sequence[StepSpec], targets: Sequence[str]) -> dict[str, frozenset[str]]:
    """Fan-out step id → the only instance keys to run, for ``--target 'step[key]'``: that instance, and through
    a paired fan-out (``foreach: {step: X}``) the same instance of ``X``. A step also needed whole (``--target
    step``, or read by another target) is not narrowed; steps not named here run all their instances."""
    by_id = {s.id: s for s in specs}
    whole: set[str] = set()
    keys: dict[str, set[str]] = {}
    stack = [split_id(t) for t in targets]
    while stack:
        sid, key = stack.pop()
        spec = by_id.get(sid)
        if spec is None or sid in whole or (key is not None and key in keys.get(sid, ())):
            continue
        if key is None:
            whole.add(sid)
        else:
            keys.setdefault(sid, set()).add(key)
        paired = spec.fan_out.paired if spec.fan_out is not None and key is not None else None
        stack.extend((i.step, key if i.step == paired else None) for i in spec.inputs)
    return {sid: frozenset(found) for sid, found in keys.items() if sid not in whole}


def expand(
    spec: StepSpec, items: Sequence[Any] | None = None, refused: dict[str, str] | None = None
) -> list[StepSpec] | ExpandError:
    """The instances of ``spec``: of its matrix, of its literal ``foreach`` list, or of ``items`` (the upstream
    output a ``foreach`` names, already read by the caller).

    A kit step resolved per instance (``FanOutSpec.resolve``) may have instances whose values its kit refuses
    (only items known at run time can: the others were checked when the pipeline loaded). With ``refused``,
    such an instance is still listed (without its kit's image and command) and ``refused`` maps its id to the
    kit's one-line message, so the caller fails that instance alone; without it, the step fails."""
    fan = spec.fan_out
    assert fan is not None
    found: list[StepSpec] = []
    if fan.matrix is not None:
        matrix = {name: list(values) for name, values in fan.matrix}
        for combo in matrix_instances(matrix):
            inst = _instance(spec, matrix_key(combo), combo, None, False, refused)
            if isinstance(inst, ExpandError):
                return inst
            found.append(inst)
        return found
    values = fan.items if fan.items is not None else items
    if not isinstance(values, list | tuple):
        return ExpandError(f"steps.{fan.source[0]}.outputs.{fan.source[1]} is not a list" if fan.source else "no items")
    if len(values) > MAX_INSTANCES:
        return ExpandError(f"{len(values):,} items, at most {MAX_INSTANCES:,} instances per step")
    seen: dict[str, Any] = {}
    for item in values:
        key = item_key(item)
        if key in seen:
            if _same(seen[key], item):
                continue  # the same item twice is one instance
            return ExpandError(f"two items make the instance key {key!r}")
        seen[key] = item
        inst = _instance(spec, key, None, item, True, refused)
        if isinstance(inst, ExpandError):
            return inst
        if fan.paired is not None:  # its own instance of the paired step, at /input/<step>/
            paired = instance_id(fan.paired, key)
            inputs = tuple(dataclasses.replace(i, step=paired) if i.step == fan.paired else i for i in inst.inputs)
            inst = dataclasses.replace(inst, inputs=inputs)
        found.append(inst)
    return found


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _instance(
    spec: StepSpec,
    key: str,
    matrix: Mapping[str, Any] | None,
    item: Any,
    has_item: bool,
    refused: dict[str, str] | None,
) -> StepSpec | ExpandError:
    resolve = spec.fan_out.resolve if spec.fan_out is not None else None
    if resolve is not None:  # substituted before its kit resolved it: nothing is substituted twice
        try:
            own = resolve(matrix, item, has_item)
        except PipexError as exc:
            problems = getattr(exc, "problems", None)
            message = str(problems[0]) if problems else exc.message
            if refused is None:
                return ExpandError(f"instance {instance_id(spec.id, key)}: {message}")
            refused[instance_id(spec.id, key)] = message
            own = spec
        return _named(own, spec, key, dict(own.env), matrix, item, has_item, own.cmd)
    env = {name: substitute(value, matrix, item, has_item) for name, value in spec.env.items()}
    cmd = tuple(substitute(arg, matrix, item, has_item) for arg in spec.cmd)
    return _named(spec, spec, key, env, matrix, item, has_item, cmd)


def _named(
    own: StepSpec,
    spec: StepSpec,
    key: str,
    env: dict[str, str],
    matrix: Mapping[str, Any] | None,
    item: Any,
    has_item: bool,
    cmd: tuple[str, ...],
) -> StepSpec:
    """``own`` as the instance ``key`` of ``spec``: its id, name, ``MATRIX_*``/``ITEM`` variables."""
    if matrix is not None:
        env.update({env_name(name): item_text(value) for name, value in matrix.items()})
    if has_item:
        env["ITEM"] = item_text(item)
    name = substitute(spec.name, matrix, item, has_item)
    return dataclasses.replace(
        own,
        id=instance_id(spec.id, key),
        name=name if name != spec.name else f"{spec.name}[{key}]",
        cmd=cmd,
        env=frozen_map(env),
        fan_out=None,
        instance=key,
        group=spec.id,
    )


def fan_in_digest(parts: Mapping[str, str]) -> str:
    """One digest for all the instances a dependent reads (key → artifacts digest): any instance that changes,
    appears or goes changes it; the order of the items does not."""
    text = json.dumps(dict(sorted(parts.items())), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def input_digests(inputs: Sequence[UpstreamInput]) -> dict[str, str]:
    """Upstream step id → the digest its fingerprint entry holds: the artifacts digest, or for a fan-out step
    the digest over all its instances (``fan_in_digest``)."""
    found: dict[str, str] = {}
    fanned: dict[str, dict[str, str]] = {}
    for i in inputs:
        if i.instance is None:
            found[i.step] = i.digest
        else:
            fanned.setdefault(i.step, {})[i.instance] = i.digest
    found.update({step: fan_in_digest(parts) for step, parts in fanned.items()})
    return found
