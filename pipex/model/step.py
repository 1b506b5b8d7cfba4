"""Pydantic models of one step and its parts, exactly the field names of the pipeline format.

Python attribute names are snake_case; the file format's camelCase names are the aliases
(``copy_to_output`` ⇄ ``copyToOutput``). ``with`` and ``if`` are Python keywords: ``with_`` / ``if_``.
Models are frozen: a loaded pipeline is a value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipex.model.secrets import SecretDecl
from pipex.model.slug import slugify


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        str_strip_whitespace=False,
        strict=False,
    )


class Input(_Model):
    step: str
    copy_to_output: bool = Field(default=False, alias="copyToOutput")
    optional: bool = False


class ForeachStep(_Model):
    """``foreach: {step: X}``: one instance per instance of X (paired fan-out)."""

    step: str


Scalar = str | int | float | bool


class Mount(_Model):
    """A host path (relative to the pipeline root) and where it appears in the container."""

    host: str
    container: str


class Cache(_Model):
    name: str
    path: str
    exclusive: bool = False


class Setup(_Model):
    cmd: list[str]
    caches: list[Cache] = Field(default_factory=list)
    allow_network: bool = Field(default=False, alias="allowNetwork")


class Resources(_Model):
    cpus: float | None = None
    memory: str | None = None
    pids: int | None = None


class Approval(_Model):
    """An approval gate: the run waits here until a person approves (``pipex approve``) or rejects."""

    message: str | None = None


class StepSlurm(_Model):
    """Where a step's job goes on Slurm (``executor: slurm`` only; ignored locally, never in the fingerprint)."""

    partition: str | None = None
    extra_args: list[str] = Field(default_factory=list, alias="extraArgs")


class Step(_Model):
    id: str
    name: str | None = None
    image: str | None = None
    cmd: list[str] | None = None
    uses: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    inputs: list[Input] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    env_file: str | None = Field(default=None, alias="envFile")
    output_path: str = Field(default="/output", alias="outputPath")
    mounts: list[Mount] = Field(default_factory=list)
    sources: list[Mount] = Field(default_factory=list)
    caches: list[Cache] = Field(default_factory=list)
    setup: Setup | None = None
    if_: str | None = Field(default=None, alias="if")
    timeout_sec: float | None = Field(default=None, alias="timeoutSec")
    retries: int = 0
    retry_delay_ms: int = Field(default=5000, alias="retryDelayMs")
    allow_failure: bool = Field(default=False, alias="allowFailure")
    # None: not set by the user, so a kit's choice stands (merge rule "allowNetwork user's if set").
    allow_network: bool | None = Field(default=None, alias="allowNetwork")
    resources: Resources | None = None
    secrets: list[SecretDecl] = Field(default_factory=list)
    # success: the rules of execution (default); failure: only after an upstream failure; always: whatever happened
    when: Literal["success", "failure", "always"] = "success"
    approval: Approval | None = None  # an approval gate: no container (engine/gates.py)
    pipeline: str | None = None  # a sub-pipeline: its file's steps run here as <id>.<child-id> (model/compose.py)
    slurm: StepSlurm | None = None
    # The names the step writes to $PIPEX_OUTPUT (dynamic.md, "Step outputs"); None: not declared.
    outputs: list[str] | None = None
    # Fan-out (dynamic.md, "Fan-out"): the cross product of a matrix, or one instance per item of a list.
    matrix: dict[str, list[Scalar]] | None = None
    foreach: str | list[Any] | ForeachStep | None = None
    max_parallel: int | None = Field(default=None, alias="maxParallel")
    fail_fast: bool = Field(default=False, alias="failFast")

    @model_validator(mode="before")
    @classmethod
    def _id_from_name(cls, data: Any) -> Any:
        """A missing id is ``slugify(name)``, as in the file format (``Step(name="Build", …)`` works too)."""
        if isinstance(data, dict) and data.get("id") is None and isinstance(data.get("name"), str):
            try:
                return {**data, "id": slugify(data["name"])}
            except ValueError:
                return data  # pydantic then reports the missing id
        return data

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def is_kit(self) -> bool:
        return self.uses is not None
