"""``pipex run --cache-store`` and ``pipex cache stats|prune|verify`` in-process on the fake runtime."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from pipex.cli.main import main
from pipex.engine.options import RunOptions
from pipex.runtime.fake import Behaviour, FakeRuntime

PIPELINE = """\
id: demo
steps:
  - id: hello
    image: alpine:3.20
    cmd: [echo, hi]
  - id: two
    image: alpine:3.20
    cmd: [cat, /input/hello/a.txt]
    inputs: [{step: hello}]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "project"
    here.mkdir()
    (here / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    (here / ".git").mkdir()  # no .pipex.yml above it counts
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def runtime() -> FakeRuntime:
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(step="hello", behaviour=Behaviour(stdout="hi\n", files={"a.txt": b"1"}))
    return rt


def pipex_cli(args: list[str], runtime: FakeRuntime) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", *args], runtime=runtime)
    code = exited.value.code
    assert isinstance(code, int)
    return code


def _filled(tmp_path: Path, runtime: FakeRuntime, capsys: pytest.CaptureFixture[str]) -> Path:
    store = tmp_path / "store"
    assert pipex_cli(["--workdir", str(tmp_path / "wd1"), "run", "--cache-store", str(store)], runtime) == 0
    capsys.readouterr()
    return store


def test_a_fresh_workdir_shows_cached_store(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _filled(tmp_path, runtime, capsys)
    created = len([c for c in runtime.calls if c[0] == "create"])
    assert pipex_cli(["--workdir", str(tmp_path / "wd2"), "run", "--cache-store", str(store)], runtime) == 0
    err = re.sub(r"\d+(\.\d+)?(ms|s)", "T", capsys.readouterr().err)
    assert err.splitlines() == [
        "pipeline demo · workspace demo · 2 steps",
        "= hello  cached (store)",
        "= two  cached (store)",
        "✓ succeeded in T: 0 ran, 2 cached, 0 failed, 0 skipped",
    ]
    assert len([c for c in runtime.calls if c[0] == "create"]) == created
    assert pipex_cli(["--workdir", str(tmp_path / "wd3"), "run", "--json", "--cache-store", str(store)], runtime) == 0
    cached = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "step_cached" in line]
    assert [(e["step"]["id"], e["source"]) for e in cached] == [("hello", "store"), ("two", "store")]


def test_a_fresh_workdirs_dry_run_shows_cached_store(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _filled(tmp_path, runtime, capsys)
    wd = ["--workdir", str(tmp_path / "wd2")]
    for flags in (["--dry-run"], ["--dry-run", "--explain"]):
        assert pipex_cli([*wd, "run", *flags, "--cache-store", str(store)], runtime) == 0
        err = re.sub(r"\d+(\.\d+)?(ms|s)", "T", capsys.readouterr().err)
        assert err.splitlines() == [
            "pipeline demo · workspace demo · 2 steps · dry run",
            "= hello  cached (store)",
            "= two  cached (store)",
            "✓ dry run in T: 0 would run, 2 cached, 0 skipped",
        ]
    assert pipex_cli([*wd, "run", "--dry-run", "--json", "--cache-store", str(store)], runtime) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cached = [(e["step"]["id"], e["source"], e["cachedRunId"]) for e in events if e["event"] == "step_cached"]
    assert cached == [("hello", "store", ""), ("two", "store", "")]
    assert not (tmp_path / "wd2").exists()
    # without the store, the same dry run would run both
    assert pipex_cli([*wd, "run", "--dry-run"], runtime) == 0
    assert capsys.readouterr().err.splitlines()[1:3] == [
        "? hello  would run (no previous successful run)",
        "? two  would run (input hello would run)",
    ]


def test_cache_store_travels_to_a_detached_run() -> None:
    options = RunOptions(cache_store=Path("/shared/cache"))
    assert RunOptions.from_json(json.loads(json.dumps(options.to_json()))) == options


def test_cache_stats_prune_verify(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _filled(tmp_path, runtime, capsys)
    assert pipex_cli(["cache", "stats", "--cache-store", str(store)], runtime) == 0
    assert capsys.readouterr().out == f"{store}: 2 entries, 3 blobs, 4 B\n"
    assert pipex_cli(["cache", "verify", "--cache-store", str(store)], runtime) == 0
    assert capsys.readouterr().out == "2 entries ok, 0 corrupt removed\n"

    record = next((store / "ac").iterdir())
    record.chmod(0o644)
    record.write_text("{")
    assert pipex_cli(["cache", "verify", "--cache-store", str(store)], runtime) == 1
    out = capsys.readouterr()
    assert out.err == f"removed corrupt entry {record.name[:12]}: the record is not valid JSON (truncated?)\n"
    assert out.out == "1 entry ok, 1 corrupt removed\n"

    old = next((store / "ac").iterdir())
    then = time.time() - 40 * 86400
    os.utime(old, (then, then))
    assert pipex_cli(["cache", "prune", "--older-than", "30d", "--json", "--cache-store", str(store)], runtime) == 0
    assert json.loads(capsys.readouterr().out) == {"store": str(store), "entries": 1, "blobs": 0, "bytes": 0}
    assert list((store / "ac").iterdir()) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["stats"], 1, "error: no cache store\nhint: pass --cache-store DIR or set cacheStore: in .pipex.yml\n"),
        (
            ["prune", "--cache-store", "x"],
            2,
            "error: cache prune needs --max-size or --older-than\nhint: e.g. pipex cache prune --older-than 30d\n",
        ),
        (
            ["prune", "--older-than", "soon", "--cache-store", "x"],
            2,
            'error: --older-than: "soon" is not an age\nhint: e.g. "30d", "12h", "90m" or seconds\n',
        ),
        (
            ["prune", "--max-size", "big", "--cache-store", "x"],
            2,
            'error: --max-size: "big" is not a size\nhint: e.g. "50g", "500m" or bytes\n',
        ),
        (
            ["verify", "--cache-store", "nowhere"],
            1,
            "error: no cache store at nowhere\nhint: check the path; a run with it creates it\n",
        ),
    ],
)
def test_cache_command_errors(
    project: Path, runtime: FakeRuntime, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    assert pipex_cli(["cache", *args], runtime) == code
    assert capsys.readouterr().err == message


def test_cache_store_in_pipex_yml(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".pipex.yml").write_text("cacheStore: ../team-cache\n")
    assert pipex_cli(["--workdir", str(tmp_path / "wd1"), "run"], runtime) == 0
    capsys.readouterr()
    assert pipex_cli(["cache", "stats", "--json"], runtime) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 2
