"""Real workspaces for the workspace-command tests, made by running pipelines against the fake runtime."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipex.testing import mock, run

PIPELINE = """
id: demo
steps:
  - id: a
    image: alpine:3.20
    cmd: [sh, -c, "echo a"]
  - id: b
    image: alpine:3.20
    inputs: [{step: a}]
    cmd: [sh, -c, "echo b"]
"""


@dataclass
class Demo:
    """The ``demo`` workspace in ``workdir``: ``a`` succeeded with files and an output, ``b`` failed (exit 3)."""

    workdir: Path
    project: Path

    @property
    def ws(self) -> Path:
        return self.workdir / "demo"

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.ws / "state.json").read_text())
        return data

    def run_id(self, step: str, which: str = "last") -> str:
        return str(self.state()["steps"][step][which]["runId"])

    def artifacts(self, step: str) -> Path:
        return self.ws / "runs" / self.run_id(step, "lastSuccess") / "artifacts"

    def rerun(self, **mocks: Any) -> Any:
        return run(self.project, mocks=[mock(k, **v) for k, v in mocks.items()], workdir=self.workdir, force=True)


def make_demo(tmp: Path) -> Demo:
    project = tmp / "proj"
    project.mkdir()
    (project / "pipeline.yml").write_text(PIPELINE)
    workdir = tmp / "wd"
    run(
        project,
        mocks=[
            mock(
                "a",
                stdout=["hello", "world"],
                stderr=["careful"],
                files={"top.txt": b"top\n", "x/y.txt": b"yy"},
                outputs={"rows": 2},
            ),
            mock("b", exit_code=3, stderr=["boom"]),
        ],
        workdir=workdir,
    )
    return Demo(workdir, project)
