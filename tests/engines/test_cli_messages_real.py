"""Messages on real engines: a command missing from the image exits 127 naming it (the engines' own words are
classified at the runtime seam), on every engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines.test_engine_harness import engine_params, json_lines, make_driver

MISSING = """
id: missing
steps:
  - id: tool
    image: alpine:3.20
    cmd: [no-such-tool, --version]
"""


@pytest.mark.parametrize("name", engine_params())
def test_a_missing_command_exits_127_naming_it(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(MISSING)
        done = driver.cli(["run", str(project), "--json"], cwd=project)
        assert done.returncode == 1, done.stderr
        (end,) = [e for e in json_lines(done.stdout) if e["event"] == "step_end"]
        assert (end["status"], end["exitCode"], end["reason"]) == ("failure", 127, "command")
        # Podman's catatonit and Docker's tini report it from inside the container; a runtime may refuse earlier.
        assert end["message"].startswith('command "no-such-tool" not found in the image ')
        done = driver.cli(["run", str(project), "--no-color"], cwd=project)
        assert "✗ tool  exit 127 (command)" in done.stderr
        assert done.stderr.count('command "no-such-tool" not found') == 1
