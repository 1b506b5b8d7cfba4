"""Shared pieces of the engine-on-real-engines tests (test_engine_*.py): a ``Driver`` per engine.

A ``Driver`` runs pipelines the way a user of that engine would: in this process through the Python API
(``pipex.Engine(workdir, runtime=…).run_sync``-style, events collected) for the rootful engines, and as the
test user ``pipex-test`` for rootless Podman (its socket belongs to that user; a root pipex would write the
workspace as root, which the user's containers cannot write). The results are the same plain JSON either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.engines.conftest import ENGINE_NAMES, UserPython
from tests.env import engine_api, users
from tests.env.registry import REGISTRY
from tests.env.services import Engine

# Runs in the test user's Python (only pipex on its path): the Python API, result and events as JSON.
API_SCRIPT = r"""
import asyncio, json, sys
import pipex

def outcome(o):
    return {"state": o.state, "reason": o.reason, "exitCode": o.exit_code, "runId": o.run_id, "message": o.message}

async def main(args):
    engine = pipex.Engine(workdir=args["workdir"], runtime=args.get("runtime", "auto"), host=args["host"])
    events, result = [], None
    async for event in engine.run(pipex.load(args["project"]), **args["kwargs"]):
        events.append(event.to_json())
        if isinstance(event, pipex.PipelineEnd):
            result = event.result
    return {"status": result.status, "steps": {o.id: outcome(o) for o in result.steps}, "events": events}

print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
"""


@dataclass
class Result:
    status: str
    steps: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]

    def state(self, step: str) -> str:
        return str(self.steps[step]["state"])

    def states(self) -> dict[str, str]:
        return {k: str(v["state"]) for k, v in self.steps.items()}

    def of(self, kind: str, step: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind and (step is None or e["step"]["id"] == step)]


@dataclass
class Driver:
    engine: Engine
    base: Path  # projects and the workdir; reachable by whoever runs pipex
    user_python: UserPython | None = None  # set: pipex runs as the test user
    runtime: Any = None  # in-process: the Runtime given to pipex.Engine
    projects: int = field(default=0)

    @property
    def as_user(self) -> bool:
        return self.user_python is not None

    @property
    def workdir(self) -> Path:
        return self.base / "wd"

    def ws(self, name: str) -> Path:
        return self.workdir / name

    def project(self, pipeline: str, files: dict[str, str] | None = None, name: str | None = None) -> Path:
        self.projects += 1
        root = self.base / (name or f"p{self.projects}")
        root.mkdir(parents=True)
        (root / "pipeline.yml").write_text(pipeline)
        for rel, text in (files or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return root

    # -- the Python API -----------------------------------------------------------------------------------
    def api(self, project: Path, **kwargs: Any) -> Result:
        if self.as_user:
            args = {"workdir": str(self.workdir), "host": self.engine.url, "project": str(project), "kwargs": kwargs}
            argv = [str(self.python()), "-c", API_SCRIPT, json.dumps(args, default=str)]
            done = users.run_as_test_user(argv, env=self.user_env(), cwd=project, timeout=240)
            assert done.returncode == 0, done.stderr
            data = json.loads(done.stdout)
            return Result(data["status"], data["steps"], data["events"])
        return asyncio.run(self._api_here(project, kwargs))

    async def _api_here(self, project: Path, kwargs: dict[str, Any]) -> Result:
        import pipex

        engine = pipex.Engine(workdir=self.workdir, runtime=self.runtime)
        events: list[dict[str, Any]] = []
        result = None
        async for event in engine.run(pipex.load(project), **kwargs):
            events.append(event.to_json())
            if isinstance(event, pipex.PipelineEnd):
                result = event.result
        assert result is not None
        steps = {
            o.id: {
                "state": o.state,
                "reason": o.reason,
                "exitCode": o.exit_code,
                "runId": o.run_id,
                "message": o.message,
            }
            for o in result.steps
        }
        return Result(result.status, steps, events)

    # -- the CLI ------------------------------------------------------------------------------------------
    def python(self) -> Path:
        return self.user_python.python if self.user_python else Path(sys.executable)

    def user_env(self) -> dict[str, str]:
        assert self.user_python is not None
        return {**self.user_python.env(), **self.engine.env(), "PYTHONUNBUFFERED": "1"}

    def cli_argv(self, args: list[str]) -> tuple[list[str], dict[str, str]]:
        argv = [str(self.python()), "-m", "pipex", "--host", self.engine.url, "--workdir", str(self.workdir), *args]
        if self.as_user:
            user = users.get_test_user()
            return users.as_user_argv(user, argv), {**users.base_env(user), **self.user_env()}
        return argv, {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(Path(__file__).parents[2])}

    def cli(self, args: list[str], *, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        argv, env = self.cli_argv(args)
        return subprocess.run(argv, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)

    def popen(self, args: list[str], *, cwd: Path) -> subprocess.Popen[str]:
        argv, env = self.cli_argv(args)
        # setpriv execs, so the pid is pipex's own and signals reach it directly.
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # -- what is left behind ------------------------------------------------------------------------------
    def containers(self) -> list[dict[str, Any]]:
        """This driver's pipex containers (by the workdir label), in any state."""
        from pipex.runtime.labels import workdir_hash

        mine = workdir_hash(self.workdir)
        return [
            c for c in engine_api.containers(self.engine.socket) if (c.get("Labels") or {}).get("pipex.workdir") == mine
        ]

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()


@contextlib.contextmanager
def make_driver(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> Iterator[Driver]:
    engine: Engine = request.getfixturevalue(name)
    if engine.rootless:
        # Not the user_tmp_path fixture: this may run in a module-scoped fixture.
        user = request.getfixturevalue("test_user")
        base = users.make_user_dir(REGISTRY.base_dir() / "user" / f"engine-{uuid.uuid4().hex[:8]}", user)
        driver = Driver(engine, base, user_python=request.getfixturevalue("user_python"))
    else:
        from pipex.runtime.factory import open_runtime

        driver = Driver(engine, tmp_path, runtime=open_runtime("auto", engine.url))
    try:
        yield driver
        assert driver.containers() == [], "pipex left containers behind"
    finally:
        driver.close()


def engine_params(names: tuple[str, ...] = ENGINE_NAMES) -> list[Any]:
    return [pytest.param(n, id=n, marks=[getattr(pytest.mark, n), pytest.mark.engine]) for n in names]


# -- workspace checks -------------------------------------------------------------------------------------
def state(ws: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws / "state.json").read_text())
    return data


def meta(ws: Path, run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws / "runs" / run_id / "meta.json").read_text())
    return data


def artifacts(ws: Path, run_id: str) -> Path:
    return ws / "runs" / run_id / "artifacts"


def assert_consistent(ws: Path) -> dict[str, Any]:
    """state.json parses (or is absent), every committed run is complete, the state points at existing runs."""
    st = state(ws) if (ws / "state.json").exists() else {"version": 1, "steps": {}}
    assert st["version"] == 1
    for run in (ws / "runs").iterdir() if (ws / "runs").exists() else ():
        assert (run / "meta.json").is_file(), f"committed run without meta.json: {run.name}"
        json.loads((run / "meta.json").read_text())
    for step, entry in st["steps"].items():
        for key in ("last", "lastSuccess"):
            if entry.get(key):
                assert (ws / "runs" / entry[key]["runId"] / "meta.json").is_file(), (step, key)
    return st


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every stdout line must be one JSON object (a killed process may leave a partial last line)."""
    return [json.loads(line) for line in text.splitlines()]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def kill9(proc: subprocess.Popen[str]) -> str:
    """SIGKILL pipex; its stdout so far."""
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    return out
