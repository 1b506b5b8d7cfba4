"""``exec``: one step run in an existing workspace, its inputs taken from that workspace's last successful runs.

The step comes from a step file (one step mapping, or a pipeline file with ``--step ID``) or a ``Pipeline``.
It runs through the ordinary scheduler and runner as a one-step plan: same fingerprint and cache, same
``if``/``envFile`` handling, same commit of a failed run. Each input — the step's own ``inputs`` and every
``--input [alias=]step`` — is mounted read-only at ``/input/<alias>`` from the named step's last successful
run; a missing one is an error naming the step. ``ephemeral`` runs the step uncached and keeps nothing: its
run stays in ``staging/`` and is deleted at the end, the state is not touched.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipex.engine.plan import Provided
from pipex.errors import PipelineError, PipexError, Problem, UsageError, WorkspaceError
from pipex.kits.check import kit_check, load
from pipex.model.loader import _shown, find_pipeline_file, read_pipeline_data
from pipex.model.pipeline import Pipeline
from pipex.model.project import find_project_config
from pipex.model.step import Input, Step
from pipex.model.validate import check
from pipex.workspace.layout import Workspace, remove

_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class ExecInput:
    """``--input alias=step``: the last successful run of ``step`` mounted at ``/input/<alias>``."""

    alias: str
    step: str

    @classmethod
    def parse(cls, text: str) -> ExecInput:
        alias, _, step = text.rpartition("=")
        alias = alias or step
        for part in (alias, step):
            if not _ALIAS.match(part):
                raise UsageError(
                    f'--input "{text}": expected [alias=]step with letters, digits, "_" or "-"',
                    hint="e.g. --input download or --input data=download",
                )
        return cls(alias, step)


def load_step_file(
    path: str | os.PathLike[str], step_id: str | None = None, *, environ: Mapping[str, str] | None = None
) -> tuple[Pipeline, Step]:
    """The step a step file holds: a single step mapping, or one step (``step_id``) of a pipeline file.

    The step's ``inputs`` name steps of the workspace, so they need not exist in the file.
    """

    here = Path.cwd().absolute()
    file = find_pipeline_file(path, here)
    shown = _shown(file, here)
    data = read_pipeline_data(file, shown)
    if isinstance(data, dict) and "steps" in data:
        pipeline = load(file, cwd=here, environ=environ)
        return pipeline, pick_step(pipeline, step_id, shown)
    if not isinstance(data, dict):
        raise PipelineError(f"invalid step file {shown}: expected a step (a mapping with image and cmd, or uses)")
    if step_id is not None:
        data["id"] = step_id  # as in the original: --step names the step of a step file (its own id or none)
    raw_inputs = data.pop("inputs", [])
    root = file.parent.resolve()
    project = here.resolve()
    config, config_path = find_project_config(here)
    single, problems = check(
        {"id": "exec", "steps": [data]},
        root=root,
        boundary=project if root.is_relative_to(project) else root,
        source=file,
        config=config,
        config_path=config_path,
        environ=environ,
        extra=kit_check,
    )
    inputs: list[Input] = []
    if not isinstance(raw_inputs, list):
        problems.append(Problem("inputs", "expected a list of {step, copyToOutput?, optional?}"))
    else:
        for n, raw in enumerate(raw_inputs):
            try:
                inputs.append(Input.model_validate(raw))
            except ValueError:
                problems.append(Problem(f"inputs[{n}]", "expected {step, copyToOutput?, optional?}"))
    if problems or single is None:
        raise PipelineError.from_problems(problems, source=shown)
    step = single.steps[0]
    return single, step.model_copy(update={"inputs": inputs})


def pick_step(pipeline: Pipeline, step_id: str | None, shown: str | None = None) -> Step:
    where = shown or (str(pipeline.source) if pipeline.source else f'pipeline "{pipeline.id}"')
    if step_id is None:
        if len(pipeline.steps) == 1:
            return pipeline.steps[0]
        ids = ", ".join(pipeline.ids[:20])
        raise UsageError(f"{where} holds {len(pipeline.steps)} steps ({ids}); choose one", hint="pass --step ID")
    try:
        return pipeline.step(step_id)
    except KeyError as exc:
        raise UsageError(f"--step: {exc.args[0]}") from None


def wire_inputs(step: Step, extra: Sequence[ExecInput]) -> tuple[Step, list[ExecInput]]:
    """The step with one input per mount (the step's own, then ``extra``; an alias given twice is an error),
    and what each alias reads."""

    wired = [ExecInput(i.step, i.step) for i in step.inputs] + list(extra)
    seen: set[str] = set()
    for item in wired:
        if item.alias in seen:
            raise UsageError(f"--input: /input/{item.alias} is mounted twice", hint="give one of them another alias")
        seen.add(item.alias)
    own = {i.step: i for i in step.inputs}
    inputs = [own.get(w.alias) or Input(step=w.alias) for w in wired]
    return step.model_copy(update={"inputs": inputs}), wired


def provided_runs(ws: Workspace, step: Step, wired: Sequence[ExecInput]) -> dict[str, Any]:
    """The ``Provided`` (last successful run) of each alias; an error names a required step without one."""

    optional = {i.step for i in step.inputs if i.optional}
    state = ws.state() if ws.exists() else None
    out: dict[str, Any] = {}
    for item in wired:
        entry = state.steps.get(item.step) if state is not None else None
        ok = entry.last_success if entry is not None else None
        if ok is None or not ws.run_dir(ok.run_id).is_dir():
            if item.alias in optional:
                continue
            raise WorkspaceError(
                f'input "{item.step}" has no successful run in workspace "{ws.name}"',
                hint=f"run the step {item.step} first (pipex run … -w {ws.name}), or drop this input",
            )
        out[item.alias] = Provided(ok.run_id, ok.artifacts_digest or "")
    return out


class EphemeralWorkspace(Workspace):
    """A workspace whose runs are never committed nor recorded: they stay in ``staging/`` until ``discard``."""

    def __init__(self, workdir: Path, name: str) -> None:
        super().__init__(workdir, name)
        self.staged: list[str] = []

    def new_staging(self, run_id: str) -> Path:
        self.staged.append(run_id)
        return super().new_staging(run_id)

    def commit(self, run_id: str, meta: dict[str, Any], *, wait: bool = True) -> Path:
        return self.staging_dir / run_id

    def record(self, step_id: str, entry: Any, *, wait: bool = True) -> None:
        return None

    def discard(self, remove_tree: Any = None) -> None:
        """Delete the staged runs (best effort: the next locked start clears ``staging/`` anyway)."""
        for run_id in self.staged:
            with contextlib.suppress(OSError, PipexError):
                remove(self.staging_dir / run_id, remove_tree)


def prepare_exec(
    engine: Any,
    source: Pipeline | str | os.PathLike[str],
    options: Any,
    *,
    step: str | None,
    inputs: Sequence[str],
    ephemeral: bool,
) -> Any:
    """Check what can be checked without the lock (the step, its inputs), and return ``setup(prepare)`` that
    the engine calls to take the lock and open the runtime for a one-step plan (``Engine._prepare``)."""

    extra = [ExecInput.parse(text) for text in inputs]
    if isinstance(source, Pipeline):
        pipeline, chosen = source, pick_step(source, step)
    else:
        pipeline, chosen = load_step_file(source, step, environ=engine.environ)
    chosen, wired = wire_inputs(chosen, extra)
    one = pipeline.model_copy(update={"steps": [chosen]})  # where it came from (root, config…) is kept
    ws = Workspace(engine.workdir_for(pipeline), options.workspace)
    provided = provided_runs(ws, chosen, wired)

    def setup(prepare: Any) -> Any:
        prepared = prepare(one, options, "pipex exec")
        prepared.provided.update(provided)
        if ephemeral:
            scratch = EphemeralWorkspace(prepared.ws.workdir, prepared.ws.name)
            prepared.ws = scratch
            remove_tree = prepared.runtime.remove_tree if prepared.runtime is not None else None
            prepared.on_finish = lambda: scratch.discard(remove_tree)
        return prepared

    return setup
