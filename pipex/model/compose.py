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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipex.errors import PipelineError, Problem
from pipex.model.bounds import path_problem
from pipex.model.step import ForeachStep, Input, Step

if TYPE_CHECKING:
    from pipex.model.pipeline import Pipeline

SEP = "."
# Fields a ``pipeline:`` step may set; the others describe a container, which it has not.
PIPELINE_STEP_FIELDS = frozenset({"id", "name", "pipeline", "inputs", "env", "if_"})
# Fan-out over a whole sub-pipeline (dynamic.md) is not built yet: said plainly, with the way to do it today.
FANOUT_FIELDS = frozenset({"matrix", "foreach", "max_parallel", "fail_fast"})
MAX_NESTING = 16  # include depth: well beyond any real use, well below a recursion limit


@dataclass(frozen=True, slots=True)
class Scope:
    """One inlined sub-pipeline: its step id in the parent, its file, its steps' full ids and its final steps."""

    id: str
    file: Path
    steps: tuple[str, ...]
    finals: tuple[str, ...]


# Loads a child file: (file, the chain of files including it) → the child pipeline, already inlined itself.
ChildLoader = Callable[[Path, tuple[Path, ...]], "Pipeline"]


def scope_of(step_id: str) -> str:
    """The sub-pipeline a step belongs to (``"etl"`` for ``etl.extract``; ``""`` at the top)."""
    return step_id.rpartition(SEP)[0]


def mount_name(reader: str, upstream: str) -> str:
    """Where ``reader`` finds ``upstream``'s artifacts under ``/input/``: ``upstream``'s id relative to the deepest
    scope both share, ``.`` as ``/`` (``report`` reads ``etl.load`` at ``etl/load``; ``etl.transform`` reads
    ``etl.extract`` at ``extract`` and the passed-down ``download`` at ``download``)."""
    if SEP not in upstream:
        return upstream
    scope = reader.split(SEP)[:-1]
    parts = upstream.split(SEP)
    shared = 0
    while shared < len(scope) and shared < len(parts) - 1 and parts[shared] == scope[shared]:
        shared += 1
    return "/".join(parts[shared:])


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
                    'put "matrix" or "foreach" on the steps of the sub-pipeline\'s file, '
                    'or write one "pipeline" step per value',
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
    pipeline: Pipeline, *, load_child: ChildLoader, chain: tuple[Path, ...]
) -> tuple[Pipeline | None, list[Problem]]:
    """``pipeline`` with its ``pipeline:`` steps replaced by their children's steps (see the module doc)."""
    problems: list[Problem] = []
    children: dict[str, Pipeline] = {}
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
            children[step.id] = load_child(file, chain)
        except PipelineError as exc:
            problems += _child_problems(exc, where)
    if problems:
        return None, problems
    return _assemble(pipeline, children), _clashes(pipeline, children)


def include_cycle(file: Path, chain: Sequence[Path]) -> str | None:
    """The message when ``file`` is already being loaded (an include cycle), naming the chain of files."""
    if file not in chain and len(chain) < MAX_NESTING:
        return None
    if file not in chain:
        return f"sub-pipelines nested more than {MAX_NESTING} deep"
    names = [str(f) for f in (*chain[chain.index(file) :], file)]
    return "include cycle: " + " → ".join(names)


def _child_problems(exc: PipelineError, where: str) -> list[Problem]:
    if not exc.problems:
        return [Problem(where, exc.message, exc.hint)]
    return [Problem(where, f"{p.location}: {p.message}" if p.location else p.message, p.hint) for p in exc.problems]


def _finals(child: Pipeline) -> list[str]:
    read = {i.step for s in child.steps for i in s.inputs}
    return [s.id for s in child.steps if s.id not in read]


def _assemble(pipeline: Pipeline, children: Mapping[str, Pipeline]) -> Pipeline:
    # not at the top: pipeline.py imports this module (a loop)
    from pipex.model.pipeline import Pipeline

    finals = {sid: [f"{sid}{SEP}{f}" for f in _finals(child)] for sid, child in children.items()}

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
        prefix = step.id + SEP
        passed = expanded(step.inputs)
        for inner in child.steps:
            own = [i.model_copy(update={"step": prefix + i.step}) for i in inner.inputs]
            taken = {i.step for i in own}
            ids = frozenset(child.ids)
            update: dict[str, object] = {
                "id": prefix + inner.id,
                "inputs": own + [i for i in passed if i.step not in taken],
                "env": {**step.env, **inner.env},
                "if_": _both(step.if_, rescoped(inner.if_, prefix, ids) if inner.if_ else None),
            }
            if inner.foreach is not None:
                update["foreach"] = _foreach(inner.foreach, prefix, ids)
            steps.append(inner.model_copy(update=update))
            roots[prefix + inner.id] = child.root_of(inner.id)
        for sid, scope in child.scopes.items():
            scopes[prefix + sid] = Scope(
                prefix + sid,
                scope.file,
                tuple(prefix + s for s in scope.steps),
                tuple(prefix + f for f in scope.finals),
            )
        file = child.source or child.root
        scopes[step.id] = Scope(step.id, file, tuple(prefix + s.id for s in child.steps), tuple(finals[step.id]))
    composed = Pipeline.create(
        id=pipeline.id,
        name=pipeline.name,
        steps=steps,
        root=pipeline.root,
        source=pipeline.source,
        boundary=pipeline.boundary,
        config=pipeline.config,
        config_path=pipeline.config_path,
        environ=pipeline.environ,
    )
    composed.model_post_init(None)
    composed.set_composition(authored=pipeline.authored_steps, roots=roots, scopes=scopes)
    return composed


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
