"""Secrets as the pipeline file declares them.

A step's ``secrets:`` entry is a name (short form: the host variable of that name, or ``--secret-file``) or an
object naming where the value comes from (``env``, ``file`` under the pipeline root, ``podman``'s store) and how it
is delivered (a variable, or a read-only file at ``mount``). The model only knows names and sources; values are
looked up by the engine when a run starts and never enter a ``Pipeline`` or a ``StepSpec``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipex.model.secret import VARIABLE, SecretSource, looks_secret


class SecretDecl(BaseModel):
    """One entry of a step's ``secrets:`` (the long form; the short form is ``SecretDecl(name=NAME)``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    env: str | None = None
    file: str | None = None
    podman: str | None = None
    mount: str | None = None
    affects_output: bool = Field(default=False, alias="affectsOutput")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @property
    def source(self) -> tuple[SecretSource, str]:
        """Where the value comes from: ``("env", VAR)``, ``("file", path)`` or ``("podman", name)``."""
        if self.file is not None:
            return "file", self.file
        if self.podman is not None:
            return "podman", self.podman
        return "env", self.env or self.name

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for what is wrong with this entry on its own."""
        out: list[tuple[str, str]] = []
        if not VARIABLE.match(self.name):
            out.append(("name", f"{self.name[:40]!r} is not a valid variable name (letters, digits and _)"))
        given = [key for key in ("env", "file", "podman") if getattr(self, key) is not None]
        if len(given) > 1:
            out.append((given[1], f"a secret comes from one place: {' and '.join(given)} are both set"))
        if self.env is not None and not VARIABLE.match(self.env):
            out.append(("env", f"{self.env[:40]!r} is not a valid variable name"))
        if self.podman is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.podman):
            out.append(("podman", f"{self.podman[:40]!r} is not a Podman secret name"))
        if self.mount is not None and not self.mount.startswith("/"):
            out.append(("mount", f"{self.mount!r} must be an absolute container path"))
        return out


def env_warnings(steps: Iterable[Any]) -> list[str]:
    """``validate``'s warnings: plain ``env`` entries (of ``Step``s) whose names look secret."""
    out = []
    for index, step in enumerate(steps):
        for name in step.env:
            if looks_secret(name):
                out.append(
                    f"steps[{index}].env.{name}: looks like a secret; pipex stores and shows it as ***, but its value "
                    f'is in the pipeline file and reaches the engine as a plain variable: declare it under "secrets:"'
                )
    return out
