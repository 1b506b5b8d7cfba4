"""Limits the engine will not enforce are said once per run (a ``warning`` event), and shown in the run view."""

from __future__ import annotations

from pathlib import Path

from pipex.cli.reporters.plain import PlainReporter
from pipex.engine.events import RunWarning
from pipex.runtime.base import RuntimeInfo
from pipex.runtime.fake import FakeRuntime
from pipex.testing import run
from tests.unit.engine.test_engine_support import write

LIMITED = """
    id: lim
    steps:
      - {id: a, image: alpine:3.20, cmd: [a], resources: {memory: 64m, pids: 10}}
      - {id: b, image: alpine:3.20, cmd: [b], resources: {memory: 64m}, inputs: [{step: a}]}
"""

V1 = RuntimeInfo(
    engine="fake", version="1.0", api_version="1.0", endpoint="fake://", rootless=True,
    libpod_api=False, supports_keep_id=True, cgroup_version="v1", cgroup_controllers=(), host_uid=None,
)  # fmt: skip


def test_ignored_limits_are_one_warning_per_run(tmp_path: Path) -> None:
    path = write(tmp_path / "p", LIMITED)
    r = run(path, runtime=FakeRuntime(info=V1), workdir=tmp_path / "wd")
    assert r.status == "success"
    warnings = [e for e in r.events if isinstance(e, RunWarning)]
    assert [(w.step.id if w.step else None, w.message) for w in warnings] == [
        (
            "a",
            "resource limits not enforced (memory, pids of step a, and any later step): rootless containers cannot "
            "have limits on cgroup v1; --strict-limits makes this an error",
        )
    ]
    assert warnings[0].to_json()["event"] == "warning"


def test_enforced_limits_say_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "p", LIMITED)
    r = run(path, runtime=FakeRuntime(), workdir=tmp_path / "wd")
    assert [e for e in r.events if isinstance(e, RunWarning)] == []


def test_the_run_view_shows_the_warning_line(tmp_path: Path) -> None:
    import io

    path = write(tmp_path / "p", LIMITED)
    r = run(path, runtime=FakeRuntime(info=V1), workdir=tmp_path / "wd")
    out = io.StringIO()
    reporter = PlainReporter(out, workspace="lim")
    for event in r.events:
        reporter.handle(event)
    reporter.close()
    shown = [line for line in out.getvalue().splitlines() if line.startswith("! ")]
    assert shown == [
        "! resource limits not enforced (memory, pids of step a, and any later step): rootless containers cannot "
        "have limits on cgroup v1; --strict-limits makes this an error"
    ]
