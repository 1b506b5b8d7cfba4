"""``.pipex.yml``: per-project settings, found in the current directory or one of its parents."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipex.config import CONFIG_FILE_NAME, RuntimeKind
from pipex.errors import ConfigError
from pipex.model.schema import describe, pydantic_problems


class ProjectConfig(BaseModel):
    """The contents of ``.pipex.yml`` (every field optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kits: dict[str, str] = Field(default_factory=dict)
    detach: bool = False
    workdir: str | None = None
    runtime: RuntimeKind = "auto"
    host: str | None = None


def find_project_config(start: Path) -> tuple[ProjectConfig, Path | None]:
    """The first ``.pipex.yml`` in ``start`` or its parents, stopping at a directory holding ``.git``.

    Returns the parsed config and its path, or the defaults and ``None`` when there is none.
    Raises ``ConfigError`` for an unreadable or invalid file.
    """
    directory = start.absolute()
    while True:
        candidate = directory / CONFIG_FILE_NAME
        if candidate.is_file():
            return load_project_config(candidate), candidate
        if (directory / ".git").exists() or directory.parent == directory:
            return ProjectConfig(), None
        directory = directory.parent


def load_project_config(path: Path) -> ProjectConfig:
    # start-up: the YAML loader only when there is a .pipex.yml
    from pipex.model.handwritten.yaml12 import SyntaxProblems, load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except SyntaxProblems as exc:
        raise ConfigError(f"invalid {path}: {exc}", hint="fix the YAML syntax") from exc
    if data is None:
        return ProjectConfig()
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
