"""Terminal records no scheduler made: a pipeline that did not validate, a fault of the engine, an internal error.

A consumer of ``--json`` always gets one ``pipeline_end``; these build its ``RunResult`` with the same error records
(``RunError``) a failed step gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pipex.engine.events import FailureSource, Metrics, PipelineEnd, RunError, RunResult
from pipex.errors import Problem


def fault_result(
    run_id: str, workspace: str, message: str, *, source: FailureSource = "engine", line: str | None = None
) -> RunResult:
    """A run ended by a fault outside any step (``line``: the message with its hint, for ``errors``)."""
    return RunResult(
        run_id=run_id,
        workspace=workspace,
        status="failed",
        steps=(),
        duration=0.0,
        metrics=Metrics(),
        failure_kind="engine",
        error=message,
        errors=(RunError(None, "engine" if source == "engine" else "pipex", source, line or message),),
        failure_source=source,
    )


def validation_end(run_id: str, workspace: str, message: str, problems: Sequence[Problem]) -> PipelineEnd:
    """The one ``pipeline_end`` of a run whose pipeline did not validate: ``failureKind: validation``, one error
    record per problem (``source: user``: the pipeline file is the user's to fix)."""
    errors = tuple(RunError(None, "validation", "user", str(p)) for p in problems) or (
        RunError(None, "validation", "user", message),
    )
    result = RunResult(
        run_id=run_id,
        workspace=workspace,
        status="failed",
        steps=(),
        duration=0.0,
        metrics=Metrics(),
        failure_kind="validation",
        error=message,
        errors=errors,
        failure_source="user",
    )
    return PipelineEnd(run_id=run_id, seq=1, ts=datetime.now(UTC), workspace=workspace, result=result)
