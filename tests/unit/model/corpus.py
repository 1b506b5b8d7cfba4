"""The project a corpus pipeline is validated in: data files, env files and a symlink pointing outside."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipex.errors import PipelineError
from pipex.kits.check import load

CORPUS = Path(__file__).parent / "invalid"


def make_project(tmp: Path) -> Path:
    """``tmp/project`` (the current directory of the load) with the files the corpus refers to."""
    project = tmp / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "input.csv").write_text("a,b\n", encoding="utf-8")
    (project / "vars.env").write_text("A=1\n", encoding="utf-8")
    (project / "broken.env").write_text("A=1\nthis is not a variable\n", encoding="utf-8")
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "x.env").write_text("A=1\n", encoding="utf-8")
    (project / "link-out").symlink_to(outside)
    return project


def corpus_messages(case: Path, tmp: Path) -> list[str]:
    """Every problem ``load`` reports for a corpus file, as the CLI prints them (``str(problem)``)."""
    project = make_project(tmp)
    target = project / ("pipeline" + case.suffix)
    shutil.copyfile(case, target)
    try:
        load(target, cwd=project)
    except PipelineError as exc:
        return [str(problem) for problem in exc.problems]
    return []


def expected_messages(case: Path, tmp: Path) -> list[str]:
    text = case.with_suffix(".expected").read_text(encoding="utf-8")
    root = str((tmp / "project").resolve())
    outside = str((tmp / "outside").resolve())
    return [line.replace("{root}", root).replace("{outside}", outside) for line in text.splitlines() if line]
