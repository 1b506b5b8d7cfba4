"""Parameter types and helpers shared by the built-in kits.

Kit parameters are strict (``install: "false"`` is a string, not a boolean) and closed (``extra="forbid"``):
the original pipex accepted anything and failed inside the container, or silently ignored a typo.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from pipex.kits.base import KitContext, KitParamError
from pipex.model.suggest import did_you_mean

CUSTOM_ERROR = "pipex_param"


class Params(BaseModel):
    """Base of the built-in kits' parameter models: strict, closed, frozen, camelCase names only."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


def param_error(message: str) -> PydanticCustomError:
    """An error raised inside a validator whose message reaches the user unchanged."""
    return PydanticCustomError(CUSTOM_ERROR, "{message}", {"message": message})


def _check(pattern: str, what: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise param_error(f"must be {what}, not {json.dumps(value)}")
        return value

    return check


def one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            suggestion = did_you_mean(value, choices)
            extra = f'; did you mean "{suggestion}"?' if suggestion else ""
            raise param_error(f"must be one of {', '.join(choices)}, not {json.dumps(value)}{extra}")
        return value

    return check


def _relative_path(value: str) -> str:
    parts = value.replace("\\", "/").split("/")
    if value.startswith("/") or ".." in parts:
        raise param_error(f'must be a path relative to /app, without "..", not {json.dumps(value)}')
    return value


NonEmpty = Annotated[str, Field(min_length=1)]
# The tag grammar of OCI references: version and variant become `node:<version>-<variant>`.
TagPart = Annotated[
    str,
    AfterValidator(_check(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", 'a valid image tag (letters, digits, "_", ".", "-")')),
]
# Debian package names, optionally with :arch, =version or /release (and nothing a shell would interpret).
AptPackage = Annotated[
    str,
    AfterValidator(
        _check(
            r"[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:_-]+|/[A-Za-z0-9.-]+)?",
            "an apt package name",
        )
    ),
]
ScriptPath = Annotated[str, Field(min_length=1), AfterValidator(_relative_path)]


def script_command(kit: str, program: str, script: str | None, run: str | None) -> tuple[str, ...]:
    """``sh -c "<program> /app/<script>"`` or ``sh -c <run>``: exactly one of the two must be given."""
    if script is not None and run is not None:
        raise KitParamError(f'kit "{kit}" takes "script" or "run", not both')
    if run is not None:
        return ("sh", "-c", run)
    if script is None:
        raise KitParamError(f'kit "{kit}" needs "script" or "run"')
    return ("sh", "-c", f"{program} /app/{shlex.quote(script)}")


def check_src(context: KitContext, src: str | None) -> None:
    """``src`` becomes ``/app``: a directory. (A missing one is reported by the host path check.)"""
    if src is None:
        return
    path = context.root / src
    if path.exists() and not path.is_dir():
        raise KitParamError(f'src "{src}" is a file; give the directory holding it', loc=("src",))


def check_script(context: KitContext, src: str | None, script: str | None) -> None:
    """A script missing from ``src`` would only fail inside the container: say so now."""
    if src is None or script is None:
        return
    folder = context.root / src
    if folder.is_dir() and not (folder / script).is_file():
        raise KitParamError(f'script "{script}" is not a file in src "{src}"', loc=("script",))


def wants_install(context: KitContext, kit: str, src: str | None, manifest: str, explicit: bool) -> bool:
    """Whether to install: only with ``src`` holding ``manifest``; otherwise skip with a warning."""
    if src is None:
        if explicit:
            context.warn(f'install skipped: kit "{kit}" has no src to read {manifest} from')
        return False
    folder = context.root / src
    if folder.is_dir() and not (folder / manifest).is_file():
        context.warn(f'install skipped: no {manifest} in src "{src}" (set install: false to silence this)')
        return False
    return True
