"""Fuzzing the loader, the validator and ``.pipex.yml`` through the CLI (in process) and the Python API.

Whatever the file holds, ``pipex validate`` ends with exit 0 (valid) or 2 (invalid), prints no traceback and no
"internal error", within the deadline of the hypothesis profile (tests/conftest.py: a fixed budget in CI);
``Pipeline.from_dict`` raises only ``PipelineError`` (or ``ConfigError``). Memory is checked too (the peak RSS
may grow by at most MAX_GROWTH per example, for inputs of a few KB); the 300,000-problem case is measured by
bench/bench_validate_errors.py, and every output line stays under MAX_LINE characters.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import Result

from pipex.cli.app import app_for
from pipex.errors import ConfigError, PipelineError
from pipex.model import Pipeline
from tests.cli.conftest import make_runner
from tests.fuzz.strategies import mutated_pipeline, values

MAX_LINE = 2000
MAX_GROWTH = 128 * 2**20  # bytes; inputs are at most a few KB
VALID = "id: ok\nsteps:\n  - id: a\n    image: alpine:3.20\n    cmd: [echo, hi]\n"


@contextlib.contextmanager
def project() -> Iterator[Path]:
    """A fresh project directory (with a .git, so no .pipex.yml above it counts), as the current directory."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(before)


def validate(*args: str) -> Result:
    """``pipex validate ARGS`` in process; its memory is bounded: the peak RSS grows by at most MAX_GROWTH."""
    argv = ["validate", *args]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = make_runner().invoke(app_for(argv), argv, catch_exceptions=False)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert grown <= MAX_GROWTH, f"peak RSS grew by {grown / 2**20:.0f} MiB"
    return result


def assert_clean(result: Result, *, as_json: bool = False) -> None:
    assert result.exit_code in (0, 2), (result.exit_code, result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    if as_json:
        report = json.loads(result.stdout)
        assert report["valid"] is (result.exit_code == 0)
        assert len(report["problems"]) <= 1000
    elif result.exit_code == 2:
        assert result.stderr.startswith("error: "), result.stderr
        assert len(result.stderr.splitlines()) <= 52
    # Messages quote at most 80 characters of a value: no line grows with what the file holds.
    assert max(map(len, output.splitlines()), default=0) <= MAX_LINE, output


@given(st.text(max_size=300))
def test_any_yaml_text(text: str) -> None:
    with project() as root:
        (root / "pipeline.yml").write_text(text, encoding="utf-8")
        assert_clean(validate())


@given(st.binary(max_size=300))
def test_any_bytes_as_json(data: bytes) -> None:
    with project() as root:
        (root / "pipeline.json").write_bytes(data)
        assert_clean(validate("pipeline.json"))


@given(mutated_pipeline(), st.sampled_from(["yml", "json"]))
def test_mutated_pipelines(data: dict[str, Any], suffix: str) -> None:
    text = yaml.safe_dump(data, allow_unicode=True) if suffix == "yml" else json.dumps(data)
    with project() as root:
        (root / f"pipeline.{suffix}").write_text(text, encoding="utf-8", errors="surrogatepass")
        assert_clean(validate(f"pipeline.{suffix}"))
        assert_clean(validate(f"pipeline.{suffix}", "--json"), as_json=True)


@given(mutated_pipeline())
def test_mutated_pipelines_through_the_python_api(data: dict[str, Any]) -> None:
    with project() as root:
        try:
            pipeline = Pipeline.from_dict(data, root=root)
        except (PipelineError, ConfigError):
            return
        assert pipeline.validate() == []


@given(
    st.one_of(st.dictionaries(st.sampled_from(["kits", "detach", "workdir", "runtime", "host", "x"]), values), values)
)
def test_any_pipex_yml(settings: Any) -> None:
    with project() as root:
        (root / "pipeline.yml").write_text(VALID, encoding="utf-8")
        (root / ".pipex.yml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        assert_clean(validate())


@given(st.text(max_size=200))
def test_any_pipex_yml_text(text: str) -> None:
    with project() as root:
        (root / "pipeline.yml").write_text(VALID, encoding="utf-8")
        (root / ".pipex.yml").write_text(text, encoding="utf-8")
        assert_clean(validate())


@given(st.integers(0, 0o777), st.sampled_from(["workdir: wd\n", "kits: {k: ./k.py}\n", "runtime: podman\n"]))
def test_pipex_yml_of_any_mode_is_obeyed_or_ignored_with_one_warning(mode: int, text: str) -> None:
    with project() as root:
        (root / "pipeline.yml").write_text(VALID, encoding="utf-8")
        config = root / ".pipex.yml"
        config.write_text(text, encoding="utf-8")
        config.chmod(mode)
        result = validate()
        assert_clean(result)
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
        if mode & 0o022:
            assert warnings == [f"warning: ignored {config}: other users can write to it; fix: chmod go-w {config}"]
        else:
            assert warnings == []
