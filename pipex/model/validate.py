"""Validation of a whole pipeline: every problem, in file order, each with its location and a way out.

``check`` runs on raw data (what ``load`` and ``Pipeline.from_dict`` read); ``model_problems`` re-checks an
existing ``Pipeline`` (``Pipeline.validate()``: files may have gone since it was loaded, or it was built in
Python). Both share the step checks (``checks.py``) and the checks across steps below.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipex.errors import PipelineError, Problem
from pipex.model.bounds import MAX_ID, clean, length_problem, structure_problems
from pipex.model.checks import Context, step_problems
from pipex.model.compose import include_cycle, inline
from pipex.model.dag import find_cycles
from pipex.model.draft import PIPELINE_ID, Draft, read_document
from pipex.model.fanout import NO_OUTER, Outer, fanout_problems, placeholder_problems
from pipex.model.reads import declared_problems, read_problems
from pipex.model.schema import aliases, quote
from pipex.model.step import ForeachStep, Step
from pipex.model.suggest import Suggester

if TYPE_CHECKING:
    from pipex.model.pipeline import Pipeline
    from pipex.model.project import ProjectConfig

# Checks a layer above adds (the kits' parameter checks): the model knows nothing of kits, it only merges their
# problems into file order with its own. They run only on a pipeline whose steps all parsed.
PipelineCheck = Callable[["Pipeline"], list[Problem]]

_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
_STEP_KEYS = aliases(Step)


def check(
    data: object,
    *,
    root: Path,
    boundary: Path,
    source: Path | None,
    config: ProjectConfig,
    config_path: Path | None,
    environ: Mapping[str, str] | None,
    extra: PipelineCheck | None = None,
    chain: tuple[Path, ...] = (),
    outer: Outer = NO_OUTER,
) -> tuple[Pipeline | None, list[Problem]]:
    """Validate raw data; the pipeline when there is no problem, else ``None`` and every problem (``extra``'s
    included). Sub-pipelines are inlined (``compose.py``); ``chain``: the files including this one; ``outer``:
    the ``${{ }}`` names a fanned sub-pipeline gives this file's steps."""
    # not at the top: pipeline.py imports this module (a loop)
    from pipex.model.pipeline import Pipeline

    structure = structure_problems(data)
    if any(problem.message.startswith("nested more than") for problem in structure):
        return None, structure  # too deep to look further into
    doc = read_document(data)
    problems = structure + doc.problems
    if doc.id is not None and (too_long := length_problem(doc.id, MAX_ID)):
        where = "id" if isinstance(data, dict) and "id" in data else "name"
        problems.append(Problem(where, f"the pipeline id {too_long}", "it names the workspace folder"))
        doc.id = None
    problems += drafts_problems(doc.drafts, Context(root, boundary), outer)
    pipeline = None
    if doc.drafts and all(draft.step is not None and not draft.bad for draft in doc.drafts):
        steps = [draft.step for draft in doc.drafts if draft.step is not None]
        pipeline = Pipeline.create(
            id=doc.id or "pipeline",
            name=doc.name,
            steps=steps,
            root=root,
            source=source,
            boundary=boundary,
            config=config,
            config_path=config_path,
            environ=environ,
        )
        if extra is not None:
            problems += extra(pipeline)
        if not problems and any(step.pipeline is not None for step in steps):
            here = (*chain, source.resolve()) if source is not None else chain
            loader = functools.partial(
                _load_child, boundary=boundary, config=config, config_path=config_path, environ=environ, extra=extra
            )
            pipeline, more = inline(pipeline, load_child=loader, chain=here, outer=outer)
            problems += more
    problems = sort_problems(problems, doc.keys, doc.drafts)
    return (None if problems or doc.id is None else pipeline), problems


def with_items(pipeline: Pipeline, items: Mapping[str, list[Any]]) -> Pipeline:
    """``pipeline`` loaded again with each deferred sub-pipeline step named in ``items`` (``compose.deferred``)
    given that list as a literal ``foreach`` (a paired one: the keys of its step's instances): the same path,
    ids, keys and values as the static form. Its files are read again (they were checked when it loaded);
    ``PipelineError`` when the list cannot make instances."""
    steps = [
        step.model_copy(update={"foreach": list(items[step.id])}) if step.id in items else step
        for step in pipeline.authored_steps
    ]
    paired = {
        step.id: step.foreach.step
        for step in pipeline.authored_steps
        if step.id in items and isinstance(step.foreach, ForeachStep)
    }
    base = pipeline.with_steps(steps)
    loader = functools.partial(
        _load_child,
        boundary=pipeline.boundary,
        config=pipeline.config,
        config_path=pipeline.config_path,
        environ=pipeline.environ,
        extra=None,
    )
    chain = (pipeline.source.resolve(),) if pipeline.source is not None else ()
    composed, problems = inline(base, load_child=loader, chain=chain, paired=paired)
    if problems or composed is None:
        raise PipelineError.from_problems(problems)
    return composed


def _load_child(
    file: Path,
    chain: tuple[Path, ...],
    outer: Outer,
    *,
    boundary: Path,
    config: ProjectConfig,
    config_path: Path | None,
    environ: Mapping[str, str] | None,
    extra: PipelineCheck | None,
) -> Pipeline:
    """A sub-pipeline's file, validated (and inlined itself) like a pipeline of its own within ``boundary``."""
    # not at the top: the loader builds Pipelines through this module (a loop)
    from pipex.model.loader import find_pipeline_file, read_pipeline_data

    file = find_pipeline_file(file, file.parent).resolve()
    cycle = include_cycle(file, chain)
    if cycle:
        raise PipelineError(cycle, hint="a pipeline cannot include itself")
    data = read_pipeline_data(file)
    child, problems = check(
        data,
        root=file.parent,
        boundary=boundary,
        source=file,
        config=config,
        config_path=config_path,
        environ=environ,
        extra=extra,
        chain=chain,
        outer=outer,
    )
    if problems or child is None:
        raise PipelineError.from_problems(problems, source=str(file))
    return child


def model_problems(pipeline: Pipeline, extra: PipelineCheck | None = None) -> list[Problem]:
    """Every problem of an existing pipeline (the same checks as loading, on its models), ``extra``'s included."""
    problems: list[Problem] = []
    if not PIPELINE_ID.match(pipeline.id):
        hint = 'start with a letter or digit, then use letters, digits, "_" and "-"'
        problems.append(Problem("id", f"{quote(pipeline.id)} is not a valid pipeline id", hint))
    if not pipeline.authored_steps:
        problems.append(Problem("steps", "must not be empty: a pipeline needs at least one step"))
    drafts = [Draft(index, _STEP_KEYS, None, step.id, step=step) for index, step in enumerate(pipeline.authored_steps)]
    if too_long := length_problem(pipeline.id, MAX_ID):
        problems.append(Problem("id", f"the pipeline id {too_long}", "it names the workspace folder"))
    # Built in Python, the steps never went through the file checks: NUL bytes and oversized strings.
    if not clean(pipeline.authored_steps):
        raw = {"steps": [step.model_dump(by_alias=True, exclude_defaults=True) for step in pipeline.authored_steps]}
        problems += structure_problems(raw)
    problems += drafts_problems(drafts, Context(pipeline.root, pipeline.boundary))
    if extra is not None:
        problems += extra(pipeline)
    return sort_problems(problems, ["id", "name", "steps"], drafts)


def drafts_problems(drafts: Sequence[Draft], ctx: Context, outer: Outer = NO_OUTER) -> list[Problem]:
    problems: list[Problem] = []
    for draft in drafts:
        problems += step_problems(draft, ctx)
    first: dict[str, int] = {}
    for draft in drafts:
        if draft.id is None:
            continue
        if draft.id in first:
            where = f"steps[{draft.index}].{draft.id_from}"
            message = f"duplicate step id {quote(draft.id)} (first used by steps[{first[draft.id]}])"
            hint = "step ids must be unique" if draft.id_from == "id" else 'give one of these steps an "id"'
            problems.append(Problem(where, message, hint))
        else:
            first[draft.id] = draft.index
    deps: dict[str, list[str]] = {}
    names = _StepNames(first)
    declared = {d.id: d.step.outputs for d in drafts if d.step is not None and d.id is not None}  # for `if` reads
    fanned = {
        d.id: True for d in drafts if d.step is not None and d.id is not None and (d.step.matrix or d.step.foreach)
    }
    for draft in drafts:
        if draft.step is not None:
            base = f"steps[{draft.index}]"
            if draft.step.outputs is not None:
                problems += declared_problems(draft.step, base)
            if draft.step.matrix is not None or draft.step.foreach is not None or draft.step.max_parallel is not None:
                problems += fanout_problems(draft.step, base, fanned, outer)
            elif outer:  # in a fanned sub-pipeline's file every step may read its values
                problems += placeholder_problems(draft.step, base, outer)
            if draft.step.if_ is not None and not {"if", "inputs"} & draft.bad:
                problems += read_problems(draft.step, base, declared, names.suggest)
        if draft.step is not None and draft.id is not None and "inputs" not in draft.bad:
            problems += _input_problems(draft, draft.step, names)
            if first.get(draft.id) == draft.index:
                deps[draft.id] = [i.step for i in draft.step.inputs if i.step in first and i.step != draft.id]
    if len(deps) < len(first):  # steps left out (bad inputs) cannot close a cycle: drop the edges to them
        deps = {step: [up for up in ups if up in deps] for step, ups in deps.items()}
    if _acyclic(deps):
        return problems
    ids = list(deps)
    by_index = {draft.index: draft for draft in drafts}  # one lookup per cycle: 10,000 cycles stay linear
    for cycle in find_cycles(ids, deps):
        start = by_index[first[cycle[0]]]
        assert start.step is not None
        position = next(n for n, i in enumerate(start.step.inputs) if i.step == cycle[-2])
        where = f"steps[{start.index}].inputs[{position}].step"
        problems.append(Problem(where, "dependency cycle: " + " → ".join(cycle), "remove one of these inputs"))
    return problems


def _acyclic(deps: Mapping[str, list[str]]) -> bool:
    """Whether the steps have no dependency cycle: Kahn's algorithm, cheaper than looking for the cycles."""
    waiting = {step: len(ups) for step, ups in deps.items()}
    downstream: dict[str, list[str]] = {}
    for step, ups in deps.items():
        for up in ups:
            downstream.setdefault(up, []).append(step)
    ready = [step for step, count in waiting.items() if count == 0]
    settled = 0
    while ready:
        settled += 1
        for child in downstream.get(ready.pop(), ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return settled == len(deps)


class _StepNames:
    """The step ids (id → index of the first step using it) and, built on the first unknown name, their
    did-you-mean index: a file with thousands of misspelled inputs stays linear (see ``Suggester``)."""

    def __init__(self, ids: Mapping[str, int]) -> None:
        self.ids = ids
        self._suggester: Suggester | None = None
        self.hint = "steps: " + ", ".join(ids) if len(ids) <= 10 else None

    def suggest(self, word: str) -> str | None:
        if self._suggester is None:
            self._suggester = Suggester(self.ids)
        return self._suggester.suggest(word)


def _input_problems(draft: Draft, step: Step, names: _StepNames) -> list[Problem]:
    ids = names.ids
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(step.inputs):
        if item.step in ids and item.step != draft.id and item.step not in seen:
            seen[item.step] = position  # the common case: a known step, once
            continue
        where = f"steps[{draft.index}].inputs[{position}].step"
        if item.step == draft.id:
            problems.append(Problem(where, f"step {quote(item.step)} cannot be its own input"))
        elif item.step in seen:
            problems.append(Problem(where, f"{quote(item.step)} is already an input (inputs[{seen[item.step]}])"))
        elif item.step not in ids and not item.optional:
            suggestion = names.suggest(item.step)
            message = f"unknown step {quote(item.step)}"
            if suggestion:
                problems.append(Problem(where, f'{message}; did you mean "{suggestion}"?'))
            else:
                problems.append(Problem(where, message, names.hint))
        seen.setdefault(item.step, position)
    return problems


def sort_problems(problems: list[Problem], top_keys: Sequence[str], drafts: Sequence[Draft]) -> list[Problem]:
    """File order: the file itself, then top-level keys as written, steps by index, fields as written."""
    if len(problems) < 2:
        return problems
    top = {key: position for position, key in enumerate(top_keys)}
    fields = {draft.index: {key: position for position, key in enumerate(draft.keys)} for draft in drafts}

    def key(problem: Problem) -> tuple[int, int, int, int]:
        parts: list[str | int] = [int(number) if number else name for number, name in _TOKEN.findall(problem.location)]
        if not parts:
            return (-1, -1, -1, -1)
        head = top.get(str(parts[0]), len(top))
        if parts[0] != "steps" or len(parts) < 2 or not isinstance(parts[1], int):
            return (head, -1, -1, -1)
        index = parts[1]
        if len(parts) < 3:
            return (head, index, -1, -1)
        order = fields.get(index, {})
        field = order.get(str(parts[2]), len(order))
        item = parts[3] if len(parts) > 3 and isinstance(parts[3], int) else -1
        return (head, index, field, item)

    return sorted(problems, key=key)
