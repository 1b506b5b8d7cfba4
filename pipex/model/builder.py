"""Code-as-graph: build a pipeline in Python, step by step, and write it as a file ``pipex.load`` reads back.

::

    p = pipex.Pipeline.build("geodata")
    download = p.step("download", uses="shell", with_={"run": "wget …"}, allow_network=True)
    p.step("extract", image="alpine:3.20", cmd=["unzip", "/input/download/x.zip"], inputs=[download])
    p.to_yaml()          # pipex.load reads it back into an equal pipeline
    p.pipeline()         # the validated Pipeline (PipelineError with every problem)

Keyword arguments are the ``Step`` fields in snake_case (``with_``, ``if_`` for the keywords); an input is a
step id, a ``Step`` returned by ``step()``, or an ``Input``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipex.model.pipeline import Pipeline
from pipex.model.step import Input, Step


class PipelineBuilder:
    def __init__(self, id: str, name: str | None = None, *, root: str | Path | None = None) -> None:
        self.id = id
        self.name = name
        self.root = Path(root) if root is not None else Path.cwd()
        self._steps: list[dict[str, Any]] = []

    def step(self, id: str, *, inputs: list[str | Step | Input] | None = None, **fields: Any) -> Step:
        """Add a step; returns it (usable as another step's input)."""
        items: list[dict[str, Any]] = []
        for item in inputs or ():
            if isinstance(item, Input):
                items.append(item.model_dump(by_alias=True, exclude_defaults=True))
            else:
                items.append({"step": item.id if isinstance(item, Step) else item})
        data = {"id": id, **fields}
        if items:
            data["inputs"] = items
        step = Step.model_validate(data)  # field errors here, where the step is written
        self._steps.append(step.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude_none=True))
        return step

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            data["name"] = self.name
        data["steps"] = list(self._steps)
        return data

    def pipeline(self) -> Pipeline:
        """The pipeline, validated like a file (``PipelineError`` with every problem)."""
        return Pipeline.from_dict(self.to_dict(), root=self.root)

    def to_yaml(self) -> str:
        return self.pipeline().to_yaml()
