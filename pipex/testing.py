"""Test your pipelines without a container engine: run them against the in-memory ``FakeRuntime``.

What justpipe's ``TestPipe`` gives, for container steps: every step's container is *mocked* — you say what it
prints, which files it writes to its output and how it exits — and the real engine does the rest (the DAG,
skips, conditions, caching, retries, timeouts, the workspace on disk), so you test the pipeline's logic::

    from pipex.testing import mock, run

    def test_extract_runs_after_download(tmp_path):
        result = run(
            "pipelines/geodata",                                   # a file, a directory or a pipex.Pipeline
            mocks=[
                mock("download", stdout=["fetched 3 files"], files={"x.zip": b"PK..."}),
                mock("extract", exit_code=0, files={"rows.csv": b"a,b\\n1,2\\n"}),
            ],
            workdir=tmp_path,
        )
        assert result.status == "success"
        assert result.ran("download") and result.ran("extract")
        assert result.artifacts("extract") == {"rows.csv": b"a,b\\n1,2\\n"}
        assert result.logs("download") == ["fetched 3 files"]

        again = run("pipelines/geodata", workdir=tmp_path)         # same workdir: the cache hits
        assert again.cached("download") and again.cached("extract")

Unmocked steps succeed with no output. Several mocks of one step are played one per container, in order (the last
repeats): ``[mock("a", exit_code=1), mock("a")]`` fails the first attempt and lets a retry succeed. Every image
the pipeline uses is present in the fake engine unless you pass your own ``runtime=FakeRuntime(...)`` (to script
pull failures, setup phases with ``script_exec``, or to inspect ``runtime.calls``). ``workdir=None`` uses a
fresh temporary directory, removed when the ``TestResult`` is garbage-collected. Other keyword arguments go to
``Engine.run`` (``force``, ``target``, ``concurrency``, ``dry_run``, ``env_file``, ``timeout``, ``explain``…);
``environ`` is the host environment ``if:`` conditions see (default: ``os.environ``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from pipex.runtime.fake import Behaviour, FakeRuntime

if TYPE_CHECKING:
    from pipex.engine.events import Event, RunResult, StepOutcome
    from pipex.engine.options import RunKeywords
    from pipex.model.pipeline import Pipeline
    from pipex.model.spec import StepSpec

__all__ = ["Harness", "Mock", "TestResult", "arun", "mock", "run"]

_RAN = ("success", "failure", "timeout")


@dataclass(frozen=True)
class Mock:
    """What one container of a step does (see ``mock``)."""

    step: str
    behaviour: Behaviour
    approve: bool = False  # an approval gate: approved in this run (a gate runs no container to script)


def _text(lines: Sequence[str] | str | bytes) -> bytes:
    if isinstance(lines, bytes):
        return lines
    if isinstance(lines, str):
        return lines.encode()
    return "".join(f"{line}\n" for line in lines).encode()


def mock(
    step_id: str,
    exit_code: int = 0,
    stdout: Sequence[str] | str | bytes = (),
    stderr: Sequence[str] | str | bytes = (),
    files: Mapping[str, bytes | str | None] | None = None,
    delay: float = 0.0,
    outputs: Mapping[str, Any] | str | bytes | None = None,
    *,
    approve: bool = False,
) -> Mock:
    """Script the container of ``step_id``: its output lines (a list of lines, or raw ``str``/``bytes``), the
    files it writes under its ``outputPath`` (``None`` makes a directory), how long it runs, how it exits, and
    the step outputs it writes to ``$PIPEX_OUTPUT`` (a mapping: strings as they are, other values as JSON; or the
    file's raw text). ``mock(gate, approve=True)`` approves an approval gate in this run (as ``run --approve``);
    a gate takes nothing else."""
    if delay < 0:
        raise ValueError("delay must be >= 0")
    if approve:
        given = {"exit_code": exit_code != 0, "stdout": bool(stdout), "stderr": bool(stderr), "files": bool(files),
                 "delay": delay != 0.0, "outputs": outputs is not None}  # fmt: skip
        if any(given.values()):
            extra = ", ".join(name for name, on in given.items() if on)
            raise ValueError(f'mock("{step_id}", approve=True): an approval gate runs no container, so not {extra}')
    behaviour = Behaviour(
        exit_code=exit_code,
        stdout=_text(stdout),
        stderr=_text(stderr),
        files=dict(files or {}),
        delay=delay,
        outputs=_output_text(outputs),
    )
    return Mock(step_id, behaviour, approve)


def _output_text(outputs: Mapping[str, Any] | str | bytes | None) -> str | bytes | None:
    if outputs is None or isinstance(outputs, str | bytes):
        return outputs
    lines = []
    for key, value in outputs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"{key}<<PIPEX_EOF\n{text}\nPIPEX_EOF\n" if "\n" in text else f"{key}={text}\n")
    return "".join(lines)


@dataclass
class TestResult:
    """The outcome of ``run``: the engine's ``RunResult``, every event, and the workspace to read artifacts from."""

    __test__ = False  # not a pytest test class

    result: RunResult
    events: list[Event]
    workdir: Path
    runtime: FakeRuntime
    _cleanup: Any = field(default=None, repr=False)

    @property
    def status(self) -> str:
        return self.result.status

    def outcome(self, step: str) -> StepOutcome:
        try:
            return self.result.outcome(step)
        except KeyError:
            known = ", ".join(o.id for o in self.result.steps) or "none"
            raise KeyError(f'step "{step}" is not part of this run (its steps: {known})') from None

    def ran(self, step: str) -> bool:
        """A container ran for the step in this run (whatever its exit)."""
        o = self.outcome(step)
        return o.state in _RAN or (o.state == "cancelled" and o.run_id is not None)

    def cached(self, step: str) -> bool:
        return self.outcome(step).state == "cached"

    def skipped(self, step: str, reason: str | None = None) -> bool:
        """Skipped (optionally: for this ``reason``, ``dependency`` or ``condition``)."""
        o = self.outcome(step)
        return o.state == "skipped" and (reason is None or o.reason == reason)

    def calls(self, step: str) -> int:
        """How many times the step's container started in this run (each retry counts; cached, skipped, a gate:
        0). A sub-pipeline's id (``etl``) counts its steps together, a fan-out step's id (``convert``) its
        instances (``convert[eu]`` counts one)."""
        # start-up: `import pipex.testing` does not load the engine
        from pipex.engine.events import StepRetry, StepStart

        inside = (step + ".", step + "[") if not step.endswith("]") else (step + ".",)
        if not any(o.id.startswith(inside) for o in self.result.steps):
            self.outcome(step)  # an unknown step is a KeyError naming the steps
        return sum(
            1
            for e in self.events
            if isinstance(e, (StepStart, StepRetry)) and (e.step.id == step or e.step.id.startswith(inside))
        )

    def approved(self, step: str) -> bool:
        """An approval gate passed in this run."""
        o = self.outcome(step)
        return o.state == "success" and o.run_id is None

    def waiting(self, step: str) -> bool:
        """An approval gate waits (the run is ``suspended``)."""
        return self.outcome(step).state == "waiting"

    def failed(self, step: str) -> bool:
        """Failed or timed out (``allowFailure`` steps included)."""
        return self.outcome(step).state in ("failure", "timeout")

    def outputs(self, step: str) -> Mapping[str, Any]:
        """The step outputs of the step's run (a cached step keeps those of its run)."""
        return self.outcome(step).outputs

    def logs(self, step: str, stream: str | None = None) -> list[str]:
        """The step's log lines in this run, from its ``StepLog`` events (``stream``: ``stdout`` or ``stderr``)."""
        # start-up: `import pipex.testing` does not load the engine
        from pipex.engine.events import StepLog

        return [
            e.line
            for e in self.events
            if isinstance(e, StepLog) and e.step.id == step and (stream is None or e.stream == stream)
        ]

    def run_dir(self, step: str) -> Path:
        """The committed run that the step ran or was cached from."""
        o = self.outcome(step)
        if o.run_id is None:
            raise LookupError(f'step "{step}" has no committed run in this run (it was {o.state})')
        return self.workdir / self.result.workspace / "runs" / o.run_id

    def artifacts(self, step: str) -> dict[str, bytes]:
        """Every regular file of the step's committed artifacts, by POSIX path relative to the output.

        Read by the safe walk: symlinks are not followed (a step's link could point anywhere on the host), FIFOs
        and sockets are never opened."""
        from pipex.workspace.safetree import open_file, walk  # start-up: only tests that read artifacts need it

        found: dict[str, bytes] = {}
        for node in walk(self.run_dir(step) / "artifacts"):
            if node.kind == "file":
                with os.fdopen(open_file(node), "rb") as fh:
                    found[node.rel] = fh.read()
        return dict(sorted(found.items()))


def _specs(pipeline: Pipeline, env_file: Any) -> list[StepSpec]:
    # start-up: `import pipex.testing` does not load the kits
    from pipex.kits.resolve import resolve_steps
    from pipex.model.handwritten.dotenv import load_dotenv

    cli_env = load_dotenv(Path(env_file)) if env_file else {}
    return resolve_steps(pipeline, cli_env=cli_env)


def run(
    pipeline_or_path: Pipeline | str | os.PathLike[str],
    *,
    mocks: Sequence[Mock] = (),
    workdir: str | os.PathLike[str] | None = None,
    runtime: FakeRuntime | None = None,
    environ: Mapping[str, str] | None = None,
    **run_kwargs: Unpack[RunKeywords],
) -> TestResult:
    """Run a pipeline against a ``FakeRuntime`` with ``mocks`` and collect everything (see the module doc); the
    keywords are ``Engine.run``'s (``force=``, ``approve=``, ``env_file=``…)."""
    return asyncio.run(arun(pipeline_or_path, mocks=mocks, workdir=workdir, runtime=runtime, environ=environ,
                            **run_kwargs))  # fmt: skip


async def arun(
    pipeline_or_path: Pipeline | str | os.PathLike[str],
    *,
    mocks: Sequence[Mock] = (),
    workdir: str | os.PathLike[str] | None = None,
    runtime: FakeRuntime | None = None,
    environ: Mapping[str, str] | None = None,
    **run_kwargs: Unpack[RunKeywords],
) -> TestResult:
    """``run`` for async tests: ``result = await arun(...)`` inside a running event loop."""
    # start-up: `import pipex.testing` does not load the engine
    from pipex.engine.engine import Engine
    from pipex.engine.events import PipelineEnd
    from pipex.model.pipeline import Pipeline

    pipeline = pipeline_or_path if isinstance(pipeline_or_path, Pipeline) else _load(pipeline_or_path)
    specs = {spec.id: spec for spec in _specs(pipeline, run_kwargs.get("env_file"))}
    _check_mocks(mocks, list(specs), {sid for sid, spec in specs.items() if spec.pipeline is not None})
    _check_gates(mocks, {sid for sid, spec in specs.items() if spec.gate is not None})
    gates = [m.step for m in mocks if m.approve]
    if gates:  # the same as approve=[…]: a gate approved before the run reaches it
        run_kwargs["approve"] = [*run_kwargs.get("approve", ()), *gates]
    if runtime is None:
        runtime = FakeRuntime(images=sorted({spec.image for spec in specs.values()}))
    by_step: dict[str, list[Behaviour]] = {}
    for m in mocks:
        if m.approve:
            continue
        behaviour = m.behaviour
        if m.step in specs:  # the mock's files go where the step writes its artifacts
            behaviour = dataclasses.replace(behaviour, output_target=specs[m.step].output_path)
        by_step.setdefault(m.step, []).append(behaviour)
    for step, plays in by_step.items():
        runtime.script(step=step, behaviour=plays)
    where = Path(tempfile.mkdtemp(prefix="pipex-test-")) if workdir is None else Path(workdir)
    engine = Engine(workdir=where, runtime=runtime, environ=environ)

    events = [event async for event in engine.run(pipeline, **run_kwargs)]
    end = events[-1]
    assert isinstance(end, PipelineEnd)
    result = TestResult(end.result, events, where, runtime)
    if workdir is None:
        result._cleanup = weakref.finalize(result, shutil.rmtree, where, True)
    return result


def _check_mocks(mocks: Sequence[Mock], step_ids: list[str], later: Collection[str] = ()) -> None:
    """A mock of a step the pipeline does not have is a mistake (a typo, a renamed step), not a silent no-op.
    ``later``: sub-pipelines whose steps are known only at run time (``etl[a].extract``, ``etl.extract``: not
    checked)."""
    # start-up: `import pipex.testing` does not load the model
    from pipex.model.suggest import did_you_mean

    # a fanned sub-pipeline's step without its key (``etl.extract``) scripts it in every instance (the fake's rule)
    keyless = dict.fromkeys(re.sub(r"\[[^\[\]]*\]", "", s) for s in step_ids if "[" in s)
    known = {*step_ids, *keyless}
    for m in mocks:
        if later and re.split(r"[\[.]", m.step, maxsplit=1)[0] in later and m.step not in known:
            continue
        # ``convert[eu]``: one instance of a fan-out step (``etl[eu].extract``: a step of a fanned sub-pipeline)
        if m.step not in known and (not m.step.endswith("]") or m.step.rpartition("[")[0] not in known):
            guess = did_you_mean(m.step, [*step_ids, *keyless])
            hint = f'; did you mean "{guess}"?' if guess else f" (its steps: {', '.join(step_ids[:20])})"
            raise ValueError(f'mock("{m.step}"): the pipeline has no step "{m.step}"{hint}')


def _check_gates(mocks: Sequence[Mock], gates: set[str]) -> None:
    """A gate runs no container: a mock scripting one would be silently ignored, and approving a step that is
    not a gate means nothing."""
    for m in mocks:
        if m.approve and m.step not in gates:
            raise ValueError(f'mock("{m.step}", approve=True): "{m.step}" is not an approval gate')
        if not m.approve and m.step in gates:
            raise ValueError(
                f'mock("{m.step}"): "{m.step}" is an approval gate, which runs no container; '
                f'approve it with mock("{m.step}", approve=True)'
            )


class Harness:
    """The context-manager form: one workdir (and fake engine) for several runs, removed at the end::

    with Harness(mocks=[mock("fetch", files={"a.csv": b"1"})]) as h:
        first = h.run("pipeline.yml")
        again = h.run("pipeline.yml")          # same workspace: the cache hits
        assert again.cached("fetch")
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        mocks: Sequence[Mock] = (),
        runtime: FakeRuntime | None = None,
        environ: Mapping[str, str] | None = None,
        **defaults: Unpack[RunKeywords],
    ) -> None:
        """``defaults``: ``Engine.run``'s keywords for every run (a run's own keywords win)."""
        self.mocks = list(mocks)
        self.runtime = runtime
        self.environ = environ
        self.defaults = defaults
        self.workdir = Path()

    def __enter__(self) -> Harness:
        self.workdir = Path(tempfile.mkdtemp(prefix="pipex-test-"))
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(
        self,
        pipeline_or_path: Pipeline | str | os.PathLike[str],
        *,
        mocks: Sequence[Mock] = (),
        environ: Mapping[str, str] | None = None,
        **kwargs: Unpack[RunKeywords],
    ) -> TestResult:
        """``run`` in this harness's workdir (``mocks`` added to the harness's own)."""
        return asyncio.run(self.arun(pipeline_or_path, mocks=mocks, environ=environ, **kwargs))

    async def arun(
        self,
        pipeline_or_path: Pipeline | str | os.PathLike[str],
        *,
        mocks: Sequence[Mock] = (),
        environ: Mapping[str, str] | None = None,
        **kwargs: Unpack[RunKeywords],
    ) -> TestResult:
        """``run`` for async tests, in this harness's workdir: ``result = await h.arun(...)``."""
        options: RunKeywords = {**self.defaults, **kwargs}
        return await arun(
            pipeline_or_path,
            mocks=[*self.mocks, *mocks],
            workdir=self.workdir,
            runtime=self.runtime,
            environ=self.environ if environ is None else environ,
            **options,
        )


def _load(path: str | os.PathLike[str]) -> Pipeline:
    # start-up: `import pipex.testing` does not load the kits
    from pipex.kits.check import load

    return load(path)
