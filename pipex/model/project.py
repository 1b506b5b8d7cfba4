"""``.pipex.yml``: per-project settings, found in the current directory or one of its parents."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipex.config import CONFIG_FILE_NAME, RuntimeKind, distrust
from pipex.errors import ConfigError, ConfigIgnored
from pipex.model.schema import describe, pydantic_problems

MAX_CONFIG_BYTES = 1024 * 1024


class SlurmConfig(BaseModel):
    """``.pipex.yml``'s ``slurm:`` (used with ``executor: slurm``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    extra_args: list[str] = Field(default_factory=list, alias="extraArgs")
    poll_interval: float = Field(default=2.0, alias="pollInterval", gt=0, le=600)
    submit_rate: float | None = Field(default=None, alias="submitRate", gt=0)


class ProjectConfig(BaseModel):
    """The contents of ``.pipex.yml`` (every field optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kits: dict[str, str] = Field(default_factory=dict)
    detach: bool = False
    workdir: str | None = None
    runtime: RuntimeKind = "auto"
    host: str | None = None
    # The shared cache (README: Sharing a cache); relative to the file's directory.
    cache_store: str | None = Field(default=None, alias="cacheStore")
    executor: Literal["local", "slurm"] = "local"
    slurm: SlurmConfig = Field(default_factory=SlurmConfig)


def find_project_config(start: Path, *, environ: Mapping[str, str] | None = None) -> tuple[ProjectConfig, Path | None]:
    """The first ``.pipex.yml`` in ``start`` or its parents, stopping at a directory holding ``.git``.

    Returns the parsed config and its path, or the defaults and ``None`` when there is none. A file another
    user owns or can write is ignored (the defaults, and a ``ConfigIgnored`` warning naming it and the fix):
    anyone can leave a ``.pipex.yml`` in ``/tmp`` or a shared folder above the project.
    Raises ``ConfigError`` for an unreadable or invalid file.
    """
    candidate = find_project_file(start)
    if candidate is None:
        return ProjectConfig(), None
    untrusted = distrust(candidate, environ=environ)
    if untrusted is not None:
        message = f"ignored {candidate}: {untrusted.reason}; fix: {untrusted.fix}"
        warnings.warn(ConfigIgnored(message), stacklevel=2)
        return ProjectConfig(), None
    return load_project_config(candidate), candidate


def find_project_file(start: Path) -> Path | None:
    """The ``.pipex.yml`` that applies in ``start``, trusted or not, without reading it."""
    directory = start.absolute()
    while True:
        candidate = directory / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists() or directory.parent == directory:
            return None
        directory = directory.parent


def configured_workdir(config: ProjectConfig, config_path: Path | None) -> Path | None:
    """``.pipex.yml``'s ``workdir:``, relative to the file's directory; ``None`` when not set."""
    if not config.workdir or config_path is None:
        return None
    return (config_path.parent / Path(config.workdir).expanduser()).absolute()


def configured_cache_store(config: ProjectConfig, config_path: Path | None) -> Path | None:
    """``.pipex.yml``'s ``cacheStore:``, relative to the file's directory; ``None`` when not set."""
    if not config.cache_store or config_path is None:
        return None
    return (config_path.parent / Path(config.cache_store).expanduser()).absolute()


def find_configured_workdir(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The ``workdir:`` of the ``.pipex.yml`` that applies in ``start`` (default: the current directory)."""
    config, path = find_project_config(start or Path.cwd(), environ=environ)
    return configured_workdir(config, path)


def load_project_config(path: Path) -> ProjectConfig:
    # start-up: the YAML loader only when there is a .pipex.yml
    from pipex.model.bounds import structure_problems
    from pipex.model.handwritten.yaml12 import SyntaxProblems
    from pipex.model.loader import parse_text

    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"invalid {path}: larger than {MAX_CONFIG_BYTES:,} bytes", hint="it holds settings")
        data = parse_text(path.read_text(encoding="utf-8-sig"), yaml=True)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except SyntaxProblems as exc:
        raise ConfigError(f"invalid {path}: {exc}", hint="fix the YAML syntax") from exc
    if data is None:
        return ProjectConfig()
    for problem in structure_problems(data)[:1]:
        raise ConfigError(f"invalid {path}: {problem}")
    if not isinstance(data, dict):
        raise ConfigError(
            f"invalid {path}: expected a mapping of settings, got {describe(data)}",
            hint="write settings as `key: value` lines, e.g. `runtime: podman`",
        )
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, ProjectConfig, prefix=(), what=f"a {CONFIG_FILE_NAME} setting")
        text = "; ".join(str(problem) for problem in problems)
        raise ConfigError(f"invalid {path}: {text}") from exc
