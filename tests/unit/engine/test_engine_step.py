"""Running one step against the fake runtime: the container spec, outputs, setup, timeout, retries, images."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from pipex.engine.events import StepEnd, StepRetry
from pipex.errors import ContainerFailed, EngineError, ImagePullFailed, WorkspaceBusy
from pipex.runtime.base import LogChunk
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import mock, run
from pipex.workspace.lock import FileLock
from tests.unit.engine.test_engine_support import calls, creates, meta, of, write


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class SeesOutputAtStart(FakeRuntime):
    """Records what the output directory holds when each container starts."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.at_start: dict[str, dict[str, bytes]] = {}

    def start(self, container: str) -> None:
        box = self.containers[container]
        out = next(b for b in box.spec.binds if not b.read_only and b.target == "/output")
        self.at_start[box.spec.labels["pipex.step"]] = tree(out.source)
        super().start(container)


def test_copy_to_output_copies_before_start_later_inputs_win(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: copy
        steps:
          - {id: up1, image: alpine:3.20, cmd: [one]}
          - {id: up2, image: alpine:3.20, cmd: [two]}
          - id: down
            image: alpine:3.20
            cmd: [down]
            inputs: [{step: up1, copyToOutput: true}, {step: up2, copyToOutput: true}]
        """,
    )
    rt = SeesOutputAtStart()
    mocks = [
        mock("up1", files={"a.txt": b"1", "same.txt": b"from1"}),
        mock("up2", files={"same.txt": b"from2", "sub/b.txt": b"2"}),
        mock("down", files={"own.txt": b"mine"}),
    ]
    r = run(path, mocks=mocks, runtime=rt, workdir=tmp_path / "wd")
    assert rt.at_start["down"] == {"a.txt": b"1", "same.txt": b"from2", "sub/b.txt": b"2"}
    assert r.artifacts("down") == {"a.txt": b"1", "own.txt": b"mine", "same.txt": b"from2", "sub/b.txt": b"2"}
    assert r.artifacts("up1") == {"a.txt": b"1", "same.txt": b"from1"}  # upstream untouched


def test_output_path_is_the_read_write_bind_of_the_run_artifacts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: outp
        steps:
          - {id: s, image: alpine:3.20, cmd: [s], outputPath: /data/out}
        """,
    )
    r = run(path, mocks=[mock("s", files={"r.csv": b"x"})], workdir=tmp_path / "wd")
    (spec,) = creates(r.runtime, "s")
    out = [b for b in spec.binds if not b.read_only]
    assert [(b.target, b.source.parent.parent.name) for b in out] == [("/data/out", "staging"), ("/pipex", "staging")]
    assert r.artifacts("s") == {"r.csv": b"x"}
    assert meta(r, "s")["outputPath"] == "/data/out"


def test_a_steps_container_asks_the_engine_for_no_log_copy_and_its_output_is_still_logged(tmp_path: Path) -> None:
    # pipex reads the output attached and writes it to the run's log files; the engine's copy would be a second
    # write of every byte (log driver "none").
    path = write(
        tmp_path / "p",
        """
        id: nolog
        steps:
          - {id: s, image: alpine:3.20, cmd: [s]}
        """,
    )
    r = run(path, mocks=[mock("s", stdout="one\ntwo\n")], workdir=tmp_path / "wd")
    assert [spec.engine_log for spec in creates(r.runtime, "s")] == [False]
    assert (r.run_dir("s") / "stdout.log").read_bytes() == b"one\ntwo\n"


def test_mounts_read_only_sources_copied_in_caches_read_write_and_persistent(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "data").mkdir(parents=True)
    (project / "data" / "in.csv").write_text("1\n")
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("print(1)\n")
    path = write(
        project,
        """
        id: binds
        steps:
          - id: s
            image: alpine:3.20
            cmd: [s]
            mounts: [{host: data, container: /data}]
            sources: [{host: src, container: /app}]
            caches: [{name: pip, path: /root/.cache/pip}]
        """,
    )
    wd = tmp_path / "wd"
    rt = FakeRuntime()
    rt.script(step="s", behaviour=Behaviour(files={"wheel.whl": b"W"}, output_target="/root/.cache/pip"))
    r = run(path, runtime=rt, workdir=wd)
    assert r.status == "success"
    (spec,) = creates(rt, "s")
    binds = {b.target: b for b in spec.binds}
    assert binds["/data"].read_only and binds["/data"].source == (project / "data").resolve()
    cache = binds["/root/.cache/pip"]
    assert not cache.read_only and cache.source == wd / "binds" / "caches" / "pip"
    assert "/app" not in binds
    cid = next(args[0] for name, args in rt.calls if name == "start")
    order = [(name, args) for name, args in rt.calls if name in ("copy_in", "start")]
    assert order == [("copy_in", (cid, (project / "src").resolve(), "/app")), ("start", (cid,))]
    assert spec.network is False and spec.env == {"PIPEX_OUTPUT": "/pipex/output"}

    rt2 = FakeRuntime()
    again = run(path, runtime=rt2, workdir=wd, force=True)
    assert again.ran("s")
    assert {b.target: b.source for b in creates(rt2, "s")[0].binds}["/root/.cache/pip"] == cache.source
    assert (cache.source / "wheel.whl").read_bytes() == b"W"  # the cache outlived the first run


SETUP = """
    id: setup
    steps:
      - id: s
        image: alpine:3.20
        cmd: [build]
        allowNetwork: {run_net}
        timeoutSec: {timeout}
        setup:
          cmd: [install]
          allowNetwork: true
          caches: [{{name: pkgs, path: /var/cache/pkgs, exclusive: true}}]
"""


def container_calls(rt: FakeRuntime) -> list[tuple[str, tuple[str, ...]]]:
    """(method, exec argv) of the calls made on containers, in order."""
    out = []
    for name, args in rt.calls:
        if name in ("create", "start", "exec", "disconnect_network", "remove"):
            out.append((name, tuple(args[1]) if name == "exec" else ()))
    return out


@pytest.mark.parametrize("run_net", [False, True])
def test_setup_runs_first_in_the_held_container_then_loses_the_network(tmp_path: Path, run_net: bool) -> None:
    path = write(tmp_path / "p", SETUP.format(run_net=str(run_net).lower(), timeout=60))
    r = run(path, mocks=[mock("s", stdout=["built"], files={"app.bin": b"B"})], workdir=tmp_path / "wd")
    assert r.status == "success"
    (spec,) = creates(r.runtime, "s")
    assert spec.hold and spec.network
    assert {b.target: b.read_only for b in spec.binds}["/var/cache/pkgs"] is False
    expected = [("create", ()), ("start", ()), ("exec", ("install",))]
    expected += [] if run_net else [("disconnect_network", ())]
    expected += [("exec", ("build",)), ("remove", ())]
    assert container_calls(r.runtime) == expected
    assert r.artifacts("s") == {"app.bin": b"B"} and r.logs("s") == ["built"]


def test_failing_setup_fails_the_step_with_reason_setup_and_never_runs_it(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SETUP.format(run_net="false", timeout=60))
    rt = FakeRuntime()
    rt.script_exec(["install"], Behaviour(exit_code=100, stderr="E: Unable to locate package\n"))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    assert r.status == "failed" and r.result.failure_kind == "setup"
    (step_end,) = of(r, StepEnd, "s")
    assert (step_end.status, step_end.reason, step_end.exit_code) == ("failure", "setup", 100)
    assert step_end.message == "setup exited with code 100"
    assert ("exec", ("build",)) not in container_calls(rt)
    assert calls(rt, "disconnect_network") == []
    assert r.logs("s", "stderr") == ["E: Unable to locate package"]
    assert meta(r, "s")["reason"] == "setup"


def test_network_that_cannot_be_removed_fails_the_step(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SETUP.format(run_net="false", timeout=60))
    rt = FakeRuntime()
    rt.fail("disconnect_network", EngineError("cannot disconnect container from network podman"))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    assert r.failed("s") and r.outcome("s").reason == "engine"
    assert r.outcome("s").message == "cannot disconnect container from network podman"
    assert ("exec", ("build",)) not in container_calls(rt)


class ProbesCacheLock(FakeRuntime):
    """During each exec, tries to take the exclusive cache lock the way a second pipex process would."""

    def __init__(self, lock_path: Callable[[], Path]) -> None:
        super().__init__()
        self.lock_path = lock_path
        self.probes: dict[str, str] = {}

    def exec(
        self,
        container: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        on_output: Callable[[LogChunk], None] | None = None,
    ) -> int:
        try:
            FileLock(self.lock_path(), what='cache "pkgs"').acquire().release()
            self.probes[cmd[0]] = "free"
        except WorkspaceBusy as exc:
            self.probes[cmd[0]] = exc.message
        return super().exec(container, cmd, env=env, workdir=workdir, on_output=on_output)


def test_exclusive_cache_lock_is_held_during_setup_only(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SETUP.format(run_net="false", timeout=60))
    wd = tmp_path / "wd"
    rt = ProbesCacheLock(lambda: wd / "setup" / "caches" / "pkgs.lock")
    r = run(path, runtime=rt, workdir=wd)
    assert r.status == "success"
    expected = rf'cache "pkgs" is in use by pid {os.getpid()} \(pipex run, started \d\d:\d\d\)'
    assert re.fullmatch(expected, rt.probes["install"])
    assert rt.probes["build"] == "free"


def test_timeout_stops_the_container_and_records_exit_124(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: slow
        steps:
          - {id: s, image: alpine:3.20, cmd: [sleep], timeoutSec: 0.2}
          - {id: after, image: alpine:3.20, cmd: [after], inputs: [{step: s}]}
        """,
    )
    r = run(path, mocks=[mock("s", delay=30)], workdir=tmp_path / "wd")
    assert r.status == "failed" and r.result.failure_kind == "timeout"
    (step_end,) = of(r, StepEnd, "s")
    assert (step_end.status, step_end.reason, step_end.exit_code) == ("timeout", "timeout", 124)
    assert step_end.message == "timed out after 0.2 s"
    assert step_end.duration < 5
    assert [args[1:] for _, args in calls(r.runtime, "stop")] == [(10.0,)]
    assert calls(r.runtime, "remove")
    m = meta(r, "s")
    assert (m["status"], m["reason"], m["exitCode"]) == ("timeout", "timeout", 124)
    assert r.skipped("after", "dependency")


def test_a_timed_out_attempt_is_retried_with_a_fresh_deadline(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: slow
        steps:
          - {id: s, image: alpine:3.20, cmd: [sleep], timeoutSec: 0.3, retries: 1, retryDelayMs: 0}
        """,
    )
    r = run(path, mocks=[mock("s", delay=30), mock("s", delay=0.1)], workdir=tmp_path / "wd")
    assert r.status == "success" and r.ran("s")
    (retry,) = of(r, StepRetry, "s")
    assert (retry.attempt, retry.reason) == (2, "timed out after 0.3 s")
    assert meta(r, "s")["attempt"] == 2


def test_timeout_covers_setup_too(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SETUP.format(run_net="false", timeout=0.2))
    rt = FakeRuntime()
    rt.script_exec(["install"], Behaviour(delay=30))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    assert r.outcome("s").state == "timeout" and r.outcome("s").exit_code == 124
    assert ("exec", ("build",)) not in container_calls(rt)


RETRY = """
    id: retry
    steps:
      - {{id: s, image: alpine:3.20, cmd: [flaky], retries: 2, retryDelayMs: {delay}}}
"""


def test_retries_use_fresh_containers_and_keep_earlier_logs(tmp_path: Path) -> None:
    path = write(tmp_path / "p", RETRY.format(delay=20))
    mocks = [
        mock("s", exit_code=1, stdout=["try 1"], stderr=["err 1"]),
        mock("s", exit_code=2, stdout=["try 2"]),
        mock("s", stdout=["try 3"], files={"ok": b"1"}),
    ]
    wd = tmp_path / "wd"
    r = run(path, mocks=mocks, workdir=wd)
    assert r.status == "success" and r.ran("s")
    retries = of(r, StepRetry, "s")
    assert [(e.attempt, e.max, e.delay, e.reason) for e in retries] == [
        (2, 3, 0.02, "exited with code 1"),
        (3, 3, 0.02, "exited with code 2"),
    ]
    created = creates(r.runtime, "s")
    assert len(created) == 3
    assert len({c[1][0] for c in calls(r.runtime, "start")}) == 3  # three distinct containers
    assert len({s.binds[-1].source for s in created}) == 3  # each in a fresh staging dir
    run_dir = r.run_dir("s")
    logs = {p.name: p.read_bytes() for p in run_dir.glob("*.log")}
    assert logs == {
        "attempt-1.stdout.log": b"try 1\n",
        "attempt-1.stderr.log": b"err 1\n",
        "attempt-2.stdout.log": b"try 2\n",
        "attempt-2.stderr.log": b"",
        "stdout.log": b"try 3\n",
        "stderr.log": b"",
    }
    assert meta(r, "s")["attempt"] == 3 and of(r, StepEnd, "s")[0].attempt == 3
    assert [p.name for p in (wd / "retry" / "runs").iterdir()] == [run_dir.name]
    assert list((wd / "retry" / "staging").iterdir()) == []
    assert r.artifacts("s") == {"ok": b"1"}


def test_retries_exhausted_fail_with_the_last_attempt(tmp_path: Path) -> None:
    path = write(tmp_path / "p", RETRY.format(delay=0))
    r = run(path, mocks=[mock("s", exit_code=9)], workdir=tmp_path / "wd")
    assert r.failed("s") and r.outcome("s").exit_code == 9
    assert len(creates(r.runtime, "s")) == 3
    assert meta(r, "s")["attempt"] == 3 and meta(r, "s")["status"] == "failure"


@pytest.mark.parametrize("delay_ms", [0, 300])
def test_retry_delay_is_honoured(tmp_path: Path, delay_ms: int) -> None:
    path = write(tmp_path / "p", RETRY.format(delay=delay_ms).replace("retries: 2", "retries: 1"))
    r = run(path, mocks=[mock("s", exit_code=1), mock("s")], workdir=tmp_path / "wd")
    (retry,) = of(r, StepRetry, "s")
    (step_end,) = of(r, StepEnd, "s")
    waited = (step_end.ts - retry.ts).total_seconds()
    assert retry.delay == delay_ms / 1000
    assert (waited >= 0.3) if delay_ms else (waited < 0.25)


def test_allow_failure_keeps_the_pipeline_green_and_reruns_next_time(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: af
        steps:
          - {id: lint, image: alpine:3.20, cmd: [lint], allowFailure: true}
          - {id: build, image: alpine:3.20, cmd: [build]}
        """,
    )
    wd = tmp_path / "wd"
    r = run(path, mocks=[mock("lint", exit_code=1)], workdir=wd)
    assert r.status == "success" and r.failed("lint") and r.result.failed_steps == ()
    again = run(path, mocks=[mock("lint", exit_code=1)], workdir=wd)
    assert again.ran("lint") and again.cached("build")


PULL = """
    id: pull
    steps:
      - {{id: s, image: "ghcr.io/acme/tool:1", cmd: [tool], retries: {retries}, retryDelayMs: 0}}
"""


def test_missing_image_that_cannot_be_pulled_fails_with_reason_image(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PULL.format(retries=0))
    rt = FakeRuntime(images=[])
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    message = "cannot pull image 'ghcr.io/acme/tool:1': not in the fake registry"
    assert r.status == "failed" and r.result.failure_kind == "image"
    assert r.result.error == f"step s: {message}"
    (step_end,) = of(r, StepEnd, "s")
    assert (step_end.status, step_end.reason, step_end.message) == ("failure", "image", message)
    assert [c[0] for c in rt.calls if c[0] in ("image", "pull", "create")] == ["image", "pull"]
    # The failure is committed as a run, like any other, so its reason stays readable on disk.
    assert step_end.step_run_id is not None
    m = meta(r, "s")
    assert (m["status"], m["reason"], m["message"], m["exitCode"]) == ("failure", "image", message, None)
    run_dir = tmp_path / "wd" / "pull" / "runs" / step_end.step_run_id
    assert (run_dir / "stderr.log").read_text() == f"pipex: {message}\n"


def test_image_pull_failure_is_retried(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PULL.format(retries=1))
    rt = FakeRuntime(images=[])
    rt.pullable.add("ghcr.io/acme/tool:1")
    rt.fail("pull", ImagePullFailed("ghcr.io/acme/tool:1", "registry: 503 Service Unavailable"))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    assert r.status == "success" and r.ran("s")
    (retry,) = of(r, StepRetry, "s")
    assert (retry.attempt, retry.max, retry.reason) == (2, 2, "registry: 503 Service Unavailable")
    assert [c[0] for c in rt.calls if c[0] in ("pull", "create")] == ["pull", "pull", "create"]


def test_engine_error_fails_the_attempt_and_is_retried(tmp_path: Path) -> None:
    path = write(tmp_path / "p", RETRY.format(delay=0).replace("retries: 2", "retries: 1"))
    rt = FakeRuntime()
    rt.fail("create", ContainerFailed("create container failed: no space left on device"))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    assert r.status == "success" and r.ran("s")
    (retry,) = of(r, StepRetry, "s")
    assert retry.reason == "create container failed: no space left on device"
    assert len(calls(rt, "create")) == 2


class ReadsStateAtStart(FakeRuntime):
    """Reads state.json whenever a container starts: it must already hold every step finished before."""

    def __init__(self, state_path: Path) -> None:
        super().__init__()
        self.state_path = state_path
        self.seen: dict[str, list[str]] = {}

    def start(self, container: str) -> None:
        step = self.containers[container].spec.labels["pipex.step"]
        data = json.loads(self.state_path.read_text()) if self.state_path.exists() else {"steps": {}}
        self.seen[step] = sorted(data["steps"])
        super().start(container)


def test_state_is_written_after_each_step_not_per_level(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: st
        steps:
          - {id: a, image: alpine:3.20, cmd: [a]}
          - {id: b, image: alpine:3.20, cmd: [b], inputs: [{step: a}]}
          - {id: c, image: alpine:3.20, cmd: [c], inputs: [{step: b}]}
        """,
    )
    rt = ReadsStateAtStart(tmp_path / "wd" / "st" / "state.json")
    assert run(path, runtime=rt, workdir=tmp_path / "wd").status == "success"
    assert rt.seen == {"a": [], "b": ["a"], "c": ["a", "b"]}
