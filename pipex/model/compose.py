"""Sub-pipelines: a ``pipeline:`` step's child steps inlined into the parent at load time.

A step ``etl`` with ``pipeline: ./etl/pipeline.yml`` becomes the child's steps, with ids ``etl.<child-id>`` (``.``
is reserved for this, user ids cannot hold one). Every later layer then sees ordinary steps — each with its own
fingerprint, cache entry, logs and address (``--force etl.extract``, ``pipex logs WS etl.extract``).

- The ``etl`` step's ``inputs`` are added to every child step, ``env`` is set below each child step's own, and its
  ``if`` is and-ed with each child step's.
- A parent step that reads ``etl`` reads the child's *final* steps (those no child step reads) instead, each
  mounted at ``/input/etl/<child-id>/``. Inside the child, steps see each other and what was passed down at
  ``/input/<id>/`` as in a pipeline of their own: ``mount_name`` is that naming rule, for the engine.
- Host paths of child steps (mounts, sources, envFile, kits' folders) stay relative to the child's own file:
  ``Pipeline.root_of(step_id)``.
- The child file is found relative to the parent's root and must stay inside the project boundary; a file that
  includes itself, directly or through others, is a validation error naming the chain of files.
- A ``pipeline:`` step with ``matrix`` or a literal ``foreach`` list is inlined once per instance, with ids
  ``etl[<key>].<child-id>`` (the key as for a fan-out step's instances, ``model/fanout.py``): the instance's
  values reach every child step as ``MATRIX_*``/``ITEM`` (below the child's own env) and by substitution of
  ``${{ matrix.X }}``/``${{ item }}`` in its ``cmd``, ``env``, ``with`` and ``name``, where the child step's own
  ``matrix``/``foreach`` does not name them (the innermost fan-out wins). A dependent of ``etl`` reads every
  instance's final steps, at ``/input/etl/<key>/<child-id>/``. The instances are known when the file loads, so
  each is a set of ordinary steps: per-instance caching, addressing and events need nothing more.
- A ``pipeline:`` step whose ``foreach`` reads an upstream output (``steps.list.outputs.files``) or pairs with a
  fan-out step's instances (``foreach: {step: X}``) stays a step of its own here (``deferred``): its child file
  is checked now, and once the list (or ``X``'s instance keys) is known the engine loads the pipeline again with
  it as a literal ``foreach`` (``validate.with_items``), so the instances are exactly those of the static form
  (paired: each instance's steps read ``X``'s instance of the same key, at ``/input/X/``). Only at the top
  level: the engine re-plans the top-level pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipex.errors import PipelineError, Problem
from pipex.model.bounds import path_problem
from pipex.model.fanout import NO_OUTER, Outer, env_name, item_key, item_text, matrix_instances, matrix_key, substitute
from pipex.model.step import ForeachStep, Input, Step

if TYPE_CHECKING:
    from pipex.model.pipeline import Pipeline

SEP = "."
# Fields a ``pipeline:`` step may set; the others describe a container, which it has not.
PIPELINE_STEP_FIELDS = frozenset({"id", "name", "pipeline", "inputs", "env", "if_", "matrix", "foreach"})
# What a fan-out over a whole sub-pipeline cannot do (yet): said plainly, with the way to do it today.
FANOUT_FIELDS = frozenset({"max_parallel", "fail_fast"})
# A part of an inlined id: a name, with an instance key when its sub-pipeline fans out (``etl[a.csv]``); the
# dots between parts are the ones outside brackets (a key may hold a dot, never a bracket).
_PART = re.compile(r"[^.\[\]]+(?:\[[^\[\]]*\])?")
MAX_NESTING = 16  # include depth: well beyond any real use, well below a recursion limit


@dataclass(frozen=True, slots=True)
class Scope:
    """One inlined sub-pipeline: its step id in the parent, its file, its steps' full ids and its final steps."""

    id: str
    file: Path
    steps: tuple[str, ...]
    finals: tuple[str, ...]


# Loads a child file: (file, the chain of files including it, the names its fan-out parents give it) → the
# child pipeline, already inlined itself.
ChildLoader = Callable[[Path, tuple[Path, ...], Outer], "Pipeline"]


def parts_of(step_id: str) -> list[str]:
    """An inlined id's parts: ``etl[a.csv].extract`` → ``["etl[a.csv]", "extract"]``."""
    return _PART.findall(step_id) if "[" in step_id else step_id.split(SEP)


def scope_of(step_id: str) -> str:
    """The sub-pipeline (instance) a step belongs to (``"etl"`` for ``etl.extract``, ``"etl[eu]"`` for
    ``etl[eu].extract``, ``""`` at the top and for ``process[a.csv]``)."""
    return SEP.join(parts_of(step_id)[:-1])


def mount_name(reader: str, upstream: str) -> str:
    """Where ``reader`` finds ``upstream``'s artifacts under ``/input/``: ``upstream``'s id relative to the deepest
    scope both share, ``.`` as ``/`` (``report`` reads ``etl.load`` at ``etl/load``; ``etl.transform`` reads
    ``etl.extract`` at ``extract`` and the passed-down ``download`` at ``download``). An instance of a fanned
    sub-pipeline is a folder of its own (``report`` reads ``etl[eu].load`` at ``etl/eu/load``); one instance of
    a fan-out step (paired fan-out) is mounted as its step (``each[a]`` at ``each``)."""
    if SEP not in upstream:
        return upstream  # as before (top-level ids are their own name; it is in fingerprints)
    scope = parts_of(reader)[:-1]
    parts = parts_of(upstream)
    shared = 0
    while shared < len(scope) and shared < len(parts) - 1 and parts[shared] == scope[shared]:
        shared += 1
    *outer, last = parts[shared:]
    folders = [part[:-1].replace("[", "/", 1) if part.endswith("]") else part for part in outer]
    return "/".join([*folders, last.partition("[")[0]])


def field_problems(step: Step, base: str) -> list[Problem]:
    """A ``pipeline:`` step's own problems: the fields only a container step has."""
    problems = []
    for name in sorted(step.model_fields_set - PIPELINE_STEP_FIELDS):
        alias = Step.model_fields[name].alias or name
        if name in FANOUT_FIELDS:
            problems.append(
                Problem(
                    f"{base}.{alias}",
                    f'"{alias}" on a sub-pipeline step ("pipeline") is not supported yet',
                    "every instance of the child runs, within --concurrency; "
                    f'set "{alias}" on the fan-out steps of the sub-pipeline\'s file',
                )
            )
            continue
        problems.append(
            Problem(
                f"{base}.{alias}",
                f'a sub-pipeline step ("pipeline") cannot set "{alias}"',
                "set it on the steps of the sub-pipeline's file",
            )
        )
    if step.pipeline == "":
        problems.append(Problem(f"{base}.pipeline", "must not be empty: name a pipeline file"))
    return problems


def child_file(value: str, *, root: Path, boundary: Path) -> Path:
    """The child pipeline file ``value`` names (a file or a directory holding ``pipeline.yml``…); ``ValueError``
    with the message when it leaves the project or does not exist."""
    if too_long := path_problem(value):
        raise ValueError(f"the path {too_long}")
    if value.startswith(("/", "~")) or Path(value).is_absolute():
        raise ValueError(f"{value!r} must be relative to the pipeline root {root}")
    target = (root / value).resolve()
    if not target.is_relative_to(boundary.resolve()):
        raise ValueError(f"{value!r} resolves to {target}, outside the project directory {boundary}")
    return target


def inline(
    pipeline: Pipeline,
    *,
    load_child: ChildLoader,
    chain: tuple[Path, ...],
    outer: Outer = NO_OUTER,
    paired: Mapping[str, str] | None = None,
) -> tuple[Pipeline | None, list[Problem]]:
    """``pipeline`` with its ``pipeline:`` steps replaced by their children's steps (see the module doc);
    ``outer``: the ``${{ }}`` names fanned sub-pipelines around this file give its steps; ``paired``: the
    ``pipeline:`` steps paired with a fan-out step's instances (``foreach: {step: X}``, their instance keys now
    their literal ``foreach``) → ``X``: each instance of the child reads only its own instance of ``X``."""
    problems: list[Problem] = []
    children: dict[str, Pipeline] = {}
    runs: dict[str, list[Instance]] = {}
    for index, step in enumerate(pipeline.steps):
        if step.pipeline is None:
            continue
        where = f"steps[{index}].pipeline"
        try:
            file = child_file(step.pipeline, root=pipeline.root, boundary=pipeline.boundary)
        except ValueError as exc:
            problems.append(Problem(where, str(exc), "sub-pipelines must stay inside the project"))
            continue
        try:
            child = load_child(file, chain, outer.around(step))
        except PipelineError as exc:
            problems += _child_problems(exc, where, _shown(file, pipeline.root))
            child = None
        if child is not None and deferred(child):
            problems.append(
                Problem(
                    where,
                    f'{_shown(file, pipeline.root)}: a sub-pipeline step with "foreach" from an upstream output '
                    "is not supported inside a sub-pipeline yet",
                    'give it a literal list or a "matrix", or move it to the top-level pipeline',
                )
            )
        if isinstance(step.foreach, str | ForeachStep):  # instances known only at run time: checked now, inlined then
            continue
        if child is not None:
            children[step.id] = child
        found = instances(step)
        if isinstance(found, Problem):
            problems.append(Problem(f"steps[{index}].{found.location}", found.message, found.hint))
        else:
            runs[step.id] = found
    problems += _pairing_problems(pipeline)
    if problems:
        return None, problems
    return _assemble(pipeline, children, runs, paired or {}), _clashes(pipeline, children)


def deferred(pipeline: Pipeline) -> list[str]:
    """The ``pipeline:`` steps left in ``pipeline`` (their ``foreach`` reads an upstream output, so their instances
    are known only at run time: the engine inlines them then, ``validate.with_items``)."""
    return [step.id for step in pipeline.steps if step.pipeline is not None]


@dataclass(frozen=True, slots=True)
class Instance:
    """One run of a sub-pipeline's child: its key (``None``: the ``pipeline:`` step does not fan out, the child
    runs once) and the values it gives the child's steps."""

    key: str | None = None
    matrix: Mapping[str, Any] | None = None
    item: Any = None
    has_item: bool = False

    @property
    def env(self) -> dict[str, str]:
        """``MATRIX_<NAME>``/``ITEM``, as a fan-out step's instances get them."""
        env = {env_name(name): item_text(value) for name, value in (self.matrix or {}).items()}
        if self.has_item:
            env["ITEM"] = item_text(self.item)
        return env


def instances(step: Step) -> list[Instance] | Problem:
    """The runs of a ``pipeline:`` step's child: one per matrix combination or ``foreach`` item (keys as for a
    fan-out step's instances), else one; a ``Problem`` (located in the step) when two items make one key."""
    if step.matrix is not None:
        return [Instance(matrix_key(values), values) for values in matrix_instances(step.matrix)]
    if not isinstance(step.foreach, list):
        return [Instance()]
    found: dict[str, Instance] = {}
    for item in step.foreach:
        key = item_key(item)
        if key in found:  # an item listed twice is its own problem (fanout.py); two items, one key, is this one
            return Problem("foreach", f"two items make the instance key {key!r}", "make the items differ in text")
        found[key] = Instance(key, None, item, True)
    return list(found.values())


def include_cycle(file: Path, chain: Sequence[Path]) -> str | None:
    """The message when ``file`` is already being loaded (an include cycle), naming the chain of files."""
    if file not in chain and len(chain) < MAX_NESTING:
        return None
    if file not in chain:
        return f"sub-pipelines nested more than {MAX_NESTING} deep"
    names = [str(f) for f in (*chain[chain.index(file) :], file)]
    return "include cycle: " + " → ".join(names)


def _child_problems(exc: PipelineError, where: str, file: str) -> list[Problem]:
    """The child file's problems, at the ``pipeline:`` step, each naming the file and where in it."""
    if not exc.problems:
        return [Problem(where, exc.message, exc.hint)]
    return [
        Problem(where, f"{file}: {p.location}: {p.message}" if p.location else f"{file}: {p.message}", p.hint)
        for p in exc.problems
    ]


def _shown(file: Path, root: Path) -> str:
    return str(file.relative_to(root)) if file.is_relative_to(root) else str(file)


def _pairing_problems(pipeline: Pipeline) -> list[Problem]:
    """``foreach: {step: etl}`` pairs with a fan-out step's instances; a fanned sub-pipeline has none of its own
    (it is many steps per instance), so the pairing would mean nothing: said at load, not found missing later."""
    fanned = {s.id for s in pipeline.steps if s.pipeline is not None and (s.matrix or s.foreach)}
    problems = []
    for index, step in enumerate(pipeline.steps):
        if isinstance(step.foreach, ForeachStep) and step.foreach.step in fanned:
            problems.append(
                Problem(
                    f"steps[{index}].foreach.step",
                    f'"{step.foreach.step}" is a sub-pipeline: a step cannot pair with its instances',
                    f'read it whole (inputs: [{{step: {step.foreach.step}}}]) or give this step the same "matrix"',
                )
            )
    return problems


def _finals(child: Pipeline) -> list[str]:
    read = {i.step for s in child.steps for i in s.inputs}
    return [s.id for s in child.steps if s.id not in read]


def _assemble(
    pipeline: Pipeline,
    children: Mapping[str, Pipeline],
    runs: Mapping[str, Sequence[Instance]],
    paired: Mapping[str, str],
) -> Pipeline:
    # by instance key: a dependent's inputs (and so its fingerprint) stay the same when the items are reordered
    finals = {
        sid: [f"{_scope_id(sid, inst)}{SEP}{f}" for inst in _by_key(runs[sid]) for f in _finals(child)]
        for sid, child in children.items()
    }

    def expanded(inputs: Sequence[Input]) -> list[Input]:
        out: list[Input] = []
        for item in inputs:
            if item.step in finals:
                out += [item.model_copy(update={"step": final}) for final in finals[item.step]]
            else:
                out.append(item)
        return out

    steps: list[Step] = []
    roots: dict[str, Path] = dict(pipeline.roots)
    scopes: dict[str, Scope] = dict(pipeline.scopes)
    for step in pipeline.steps:
        child = children.get(step.id)
        if child is None:
            steps.append(step.model_copy(update={"inputs": expanded(step.inputs)}) if step.inputs else step)
            continue
        passed = expanded(step.inputs)
        ids = frozenset(child.ids)
        last = _finals(child)
        file = child.source or child.root
        made: list[str] = []
        for inst in runs[step.id]:
            scope = _scope_id(step.id, inst)
            prefix = scope + SEP
            mine_passed = passed
            if step.id in paired:  # its own instance of the paired step, mounted as that step (``mount_name``)
                pair = paired[step.id]
                mine_passed = [
                    i.model_copy(update={"step": f"{pair}[{inst.key}]"}) if i.step == pair else i for i in passed
                ]
            for inner in child.steps:
                own = [i.model_copy(update={"step": prefix + i.step}) for i in inner.inputs]
                taken = {i.step for i in own}
                update: dict[str, object] = {
                    "id": prefix + inner.id,
                    "inputs": own + [i for i in mine_passed if i.step not in taken],
                    "env": {**step.env, **inner.env},
                    "if_": _both(step.if_, rescoped(inner.if_, prefix, ids) if inner.if_ else None),
                }
                if inst.key is not None:
                    update.update(_filled(step, inner, inst))
                if inner.foreach is not None:
                    update["foreach"] = _foreach(inner.foreach, prefix, ids)
                steps.append(inner.model_copy(update=update))
                roots[prefix + inner.id] = child.root_of(inner.id)
            for sid, nested in child.scopes.items():
                scopes[prefix + sid] = Scope(
                    prefix + sid,
                    nested.file,
                    tuple(prefix + s for s in nested.steps),
                    tuple(prefix + f for f in nested.finals),
                )
            mine = tuple(prefix + s.id for s in child.steps)
            scopes[scope] = Scope(scope, file, mine, tuple(prefix + f for f in last))
            made += mine
        if runs[step.id][0].key is not None:  # a fanned sub-pipeline: its id names every instance
            scopes[step.id] = Scope(step.id, file, tuple(made), tuple(finals[step.id]))
    composed = pipeline.with_steps(steps)
    composed.model_post_init(None)
    composed.set_composition(authored=pipeline.authored_steps, roots=roots, scopes=scopes)
    return composed


def _by_key(found: Sequence[Instance]) -> list[Instance]:
    return sorted(found, key=lambda inst: inst.key or "")


def _scope_id(step_id: str, inst: Instance) -> str:
    return step_id if inst.key is None else f"{step_id}[{inst.key}]"


def _filled(step: Step, inner: Step, inst: Instance) -> dict[str, object]:
    """A child step's fields with one instance's values: ``MATRIX_*``/``ITEM`` between the ``pipeline:`` step's
    env and the child step's own; ``${{ }}`` substituted where the child step's own fan-out does not name them
    (its own ``matrix.X``/``item`` are its instances', filled in by the engine)."""
    matrix = {k: v for k, v in (inst.matrix or {}).items() if k not in (inner.matrix or {})} or None
    has_item = inst.has_item and inner.foreach is None

    def fill(text: str) -> str:
        return substitute(text, matrix, inst.item, has_item)

    outer_env = {k: substitute(v, inst.matrix, inst.item, inst.has_item) for k, v in step.env.items()}
    update: dict[str, object] = {"env": {**outer_env, **inst.env, **{k: fill(v) for k, v in inner.env.items()}}}
    if inner.with_:
        update["with_"] = {k: fill(v) if isinstance(v, str) else v for k, v in inner.with_.items()}
    if inner.cmd is not None:
        update["cmd"] = [fill(arg) for arg in inner.cmd]
    if inner.name is not None:
        update["name"] = fill(inner.name)
    return update


def rescoped(text: str, prefix: str, ids: frozenset[str]) -> str:
    """A child's expression with its references to its own steps (``steps.extract``, ``steps["extract"]``) made
    to name the inlined ids (``steps["etl.extract"]``): the child's ``if`` and ``foreach`` read its own steps'
    results, which the engine knows only by their full ids. Rewritten token by token, so string literals and
    other names stay exactly as written; an expression that does not parse is left alone (its own error)."""
    if "steps" not in text:
        return text
    # start-up: the condition language only for child steps with an expression
    from pipex.model.handwritten.condition import ConditionSyntaxError
    from pipex.model.handwritten.condition_parse import tokenize

    try:
        tokens = tokenize(text)
    except ConditionSyntaxError:
        return text
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the original text
    for n, tok in enumerate(tokens[:-2]):
        if tok.kind != "name" or tok.text != "steps" or (n and tokens[n - 1].op == "."):
            continue  # only the root name `steps`, not a field called "steps"
        nxt, target = tokens[n + 1], tokens[n + 2]
        if nxt.op == "." and target.kind == "name" and target.text in ids:
            edits.append((nxt.pos, target.pos + len(target.text), f'["{prefix}{target.text}"]'))
        elif nxt.op == "[" and target.kind == "str" and target.text in ids and tokens[n + 3].op == "]":
            edits.append((target.pos, tokens[n + 3].pos, f'"{prefix}{target.text}"'))
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text


def _foreach(foreach: str | list[Any] | ForeachStep, prefix: str, ids: frozenset[str]) -> str | list[Any] | ForeachStep:
    if isinstance(foreach, ForeachStep):
        return ForeachStep(step=prefix + foreach.step) if foreach.step in ids else foreach
    if isinstance(foreach, str):
        return rescoped(foreach, prefix, ids)
    return foreach


def _both(outer: str | None, inner: str | None) -> str | None:
    if outer is None or inner is None:
        return outer if inner is None else inner
    return f"({outer}) && ({inner})"


def _clashes(pipeline: Pipeline, children: Mapping[str, Pipeline]) -> list[Problem]:
    """A child step whose id is also the name of an input passed down would be mounted at the same place."""
    problems = []
    for index, step in enumerate(pipeline.steps):
        child = children.get(step.id)
        if child is None:
            continue
        passed = {mount_name(f"{step.id}{SEP}x", i.step).split("/")[0] for i in step.inputs}
        for name in sorted(passed & set(child.ids)):
            problems.append(
                Problem(
                    f"steps[{index}].inputs",
                    f'input "{name}" would be mounted where the sub-pipeline\'s own step "{name}" is (/input/{name})',
                    "rename one of them",
                )
            )
    return problems
