"""Finding and reading a pipeline file: ``load(path)`` → a validated ``Pipeline``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipex.config import PIPELINE_FILE_NAMES
from pipex.errors import PipelineError, Problem
from pipex.model.bounds import MAX_DEPTH, MAX_FILE_BYTES, flow_too_deep, long_number, path_problem
from pipex.model.handwritten.yaml12 import SyntaxProblems, YamlProblem, load_json, load_yaml
from pipex.model.pipeline import Pipeline
from pipex.model.project import find_project_config

if TYPE_CHECKING:
    from pipex.model.validate import PipelineCheck


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    extra: PipelineCheck | None = None,
) -> Pipeline:
    """Load and validate a pipeline: ``path`` is a file (any name), a directory, or ``None`` for ``cwd``.

    In a directory, the first of ``pipeline.yml``, ``pipeline.yaml``, ``pipeline.json`` is used. ``.yml`` and
    ``.yaml`` are YAML 1.2, anything else JSON. Host paths may not leave the project: ``cwd``, or the
    pipeline's directory when the file lies outside ``cwd``. Raises ``PipelineError`` with every problem, or
    ``ConfigError`` for a bad ``.pipex.yml``. ``extra``: more checks from a layer above (the kits' parameters:
    ``pipex.kits.check.load`` is this with them, and what ``pipex.load`` is).
    """
    here = (cwd or Path.cwd()).absolute()
    file = find_pipeline_file(path, here)
    shown = _shown(file, here)
    data = read_pipeline_data(file, shown)
    root = file.parent.resolve()
    project = here.resolve()
    boundary = project if root.is_relative_to(project) else root
    config, config_path = find_project_config(here)
    pipeline, problems = _check(data, root, file, boundary, config, config_path, environ, extra)
    if problems or pipeline is None:
        raise PipelineError.from_problems(problems, source=shown)
    return pipeline


def find_pipeline_file(path: str | os.PathLike[str] | None, cwd: Path) -> Path:
    """The pipeline file ``path`` designates (relative to ``cwd``); ``PipelineError`` when there is none."""
    target = cwd if path is None else cwd / Path(path)
    message = path_problem(str(target))
    if message:
        raise PipelineError(f"the pipeline path {message}", hint="give a shorter path")
    if target.is_dir():
        for name in PIPELINE_FILE_NAMES:
            if (target / name).is_file():
                return target / name
        names = ", ".join(PIPELINE_FILE_NAMES)
        raise PipelineError(
            f"no pipeline file in {target}: looked for {names}",
            hint="pass the pipeline file's path, or run pipex in the directory holding it",
        )
    if not target.exists():
        raise PipelineError(f"no such pipeline file or directory: {target}")
    return target


def read_pipeline_data(file: Path, shown: str | None = None) -> Any:
    """The file's data (YAML 1.2 for ``.yml``/``.yaml``, JSON otherwise); ``PipelineError`` if unreadable."""
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PipelineError(
                f"{file} is too large: {size:,} bytes, at most {MAX_FILE_BYTES:,}",
                hint="split the pipeline, or generate it with Pipeline.from_dict in Python",
            )
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"cannot read {file}: not UTF-8 text") from exc
    except OSError as exc:
        raise PipelineError(f"cannot read {file}: {exc.strerror}") from exc
    try:
        return parse_text(text, yaml=file.suffix.lower() in (".yml", ".yaml"))
    except SyntaxProblems as exc:
        problems = [Problem("", str(problem)) for problem in exc.problems]
        raise PipelineError.from_problems(problems, source=shown or str(file)) from exc


def parse_text(text: str, *, yaml: bool) -> Any:
    """YAML 1.2 or JSON text as data; every way the text can defeat the parser is a ``SyntaxProblems``.

    Python's parsers recurse (JSON nested 1,000 levels deep exhausts the stack) and refuse to turn integers of
    more than 4,300 digits into numbers (``ValueError``, a guard against quadratic conversion).
    """
    deep = flow_too_deep(text)
    if deep is not None:
        raise SyntaxProblems([YamlProblem(f"nested too deeply (at most {MAX_DEPTH} levels)", *deep)])
    try:
        if yaml:
            return load_yaml(text)
        if not text.strip():
            return None
        return load_json(text)
    except RecursionError as exc:
        raise SyntaxProblems([YamlProblem(f"nested too deeply (at most {MAX_DEPTH} levels)")]) from exc
    except SyntaxProblems:
        raise
    except ValueError as exc:  # int('9' * 5000): sys.get_int_max_str_digits()
        line, column = long_number(text) or (0, 0)
        raise SyntaxProblems([YamlProblem("number too long (more than 4,300 digits)", line, column)]) from exc


def _check(
    data: Any,
    root: Path,
    file: Path,
    boundary: Path,
    config: Any,
    config_path: Path | None,
    environ: Mapping[str, str] | None,
    extra: PipelineCheck | None,
) -> tuple[Pipeline | None, list[Problem]]:
    # not at the top: validate builds Pipelines, pipeline.py imports validate (a loop)
    from pipex.model.validate import check

    return check(
        data,
        root=root,
        boundary=boundary,
        source=file,
        config=config,
        config_path=config_path,
        environ=environ,
        extra=extra,
    )


def _shown(file: Path, cwd: Path) -> str:
    """How the file is named in messages: relative to the current directory when inside it."""
    try:
        return str(file.relative_to(cwd))
    except ValueError:
        return str(file)
