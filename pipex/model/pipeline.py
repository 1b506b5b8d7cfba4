"""``Pipeline``: a validated pipeline file as a frozen value, with its DAG and where it came from."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from pipex.errors import PipelineError, Problem
from pipex.model.dag import downstream_map, find_cycles
from pipex.model.dag import topological_order as order_of
from pipex.model.handwritten.yaml12 import CORE_RESOLVERS
from pipex.model.project import ProjectConfig
from pipex.model.resolutions import Resolutions
from pipex.model.slug import slugify
from pipex.model.step import Step
from pipex.model.suggest import did_you_mean

if TYPE_CHECKING:
    from pipex.model.builder import PipelineBuilder
    from pipex.model.compose import Scope
    from pipex.model.validate import PipelineCheck


_KEYS = re.compile(r"\[[^\[\]]*\]")  # an instance key in an inlined id (keys never hold brackets)


class Pipeline(BaseModel):
    """A pipeline: an id, an optional display name and its steps (in file order).

    Build one with ``pipex.load`` or ``Pipeline.from_dict`` (both validate and raise ``PipelineError`` with
    every problem). ``root``, ``source``, ``boundary`` and ``config`` say where it came from; they are not
    fields, so they are neither serialised nor compared by value of the steps.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    name: str | None = None
    steps: list[Step] = Field(default_factory=list)

    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)
    _boundary: Path | None = PrivateAttr(default=None)
    _config: ProjectConfig = PrivateAttr(default_factory=ProjectConfig)
    _config_path: Path | None = PrivateAttr(default=None)
    _environ: Mapping[str, str] | None = PrivateAttr(default=None)
    _index: dict[str, int] = PrivateAttr(default_factory=dict)
    _deps: dict[str, list[str]] = PrivateAttr(default_factory=dict)
    # Sub-pipelines (model/compose.py): the steps as written, each inlined step's root, each sub-pipeline.
    _authored: list[Step] | None = PrivateAttr(default=None)
    _roots: dict[str, Path] = PrivateAttr(default_factory=dict)
    _scopes: dict[str, Scope] = PrivateAttr(default_factory=dict)
    # What the load's kit check resolved for the run that follows it (see resolutions.py); shared by copies.
    _resolutions: Resolutions = PrivateAttr(default_factory=Resolutions)

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        """Drop ``x-*`` extension keys and derive a missing id from the name, as the file format says."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        if data.get("id") is None and isinstance(data.get("name"), str):
            data["id"] = slugify(data["name"])
        return data

    def model_post_init(self, context: Any, /) -> None:
        index: dict[str, int] = {}
        for position, step in enumerate(self.steps):
            index.setdefault(step.id, position)
        deps = {
            step_id: list(dict.fromkeys(i.step for i in self.steps[position].inputs if i.step in index))
            for step_id, position in index.items()
        }
        self._index = index
        self._deps = {step_id: [d for d in ups if d != step_id] for step_id, ups in deps.items()}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Pipeline:
        """A copy (pydantic's), with the step index rebuilt: ``update`` may have replaced the steps."""
        copied = super().model_copy(update=update, deep=deep)
        copied.model_post_init(None)
        return copied

    # -- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        root: Path,
        source: Path | None = None,
        boundary: Path | None = None,
        environ: Mapping[str, str] | None = None,
        config: ProjectConfig | None = None,
        config_path: Path | None = None,
        extra: PipelineCheck | None = None,
    ) -> Pipeline:
        """Validate raw data (as read from a file) into a pipeline; raise ``PipelineError`` with every problem.

        ``root`` is the directory relative host paths resolve against; ``boundary`` (default: ``root``) is
        the directory they must stay inside.
        """
        # not at the top: validate.py builds Pipelines (a loop)
        from pipex.model.validate import check

        root = root.absolute().resolve()
        pipeline, problems = check(
            data,
            root=root,
            boundary=(boundary or root).absolute().resolve(),
            source=source,
            config=config or ProjectConfig(),
            config_path=config_path,
            environ=environ,
            extra=extra,
        )
        if problems or pipeline is None:
            raise PipelineError.from_problems(problems, source=None if source is None else str(source))
        return pipeline

    @classmethod
    def create(
        cls,
        *,
        id: str,
        name: str | None,
        steps: list[Step],
        root: Path,
        source: Path | None = None,
        boundary: Path | None = None,
        config: ProjectConfig | None = None,
        config_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Pipeline:
        """Assemble a pipeline from already validated steps (no validation; for the loader and builders)."""
        pipeline = cls.model_construct(id=id, name=name, steps=steps)
        pipeline._root = root
        pipeline._source = source
        pipeline._boundary = boundary
        pipeline._config = config or ProjectConfig()
        pipeline._config_path = config_path
        pipeline._environ = environ
        return pipeline

    def with_steps(self, steps: list[Step]) -> Pipeline:
        """The same pipeline (id, name, root, source, boundary, config, environ) with other, already validated
        steps: what composing sub-pipelines and fixing run-time lists make of a loaded one. It carries this one's
        ``resolutions`` (each is kept with its step object, so only the steps the two share can use them)."""
        pipeline = Pipeline.create(
            id=self.id,
            name=self.name,
            steps=steps,
            root=self.root,
            source=self.source,
            boundary=self.boundary,
            config=self.config,
            config_path=self.config_path,
            environ=self.environ,
        )
        pipeline._resolutions = self._resolutions
        return pipeline

    @staticmethod
    def build(id: str, name: str | None = None, *, root: str | Path | None = None) -> PipelineBuilder:
        """A builder: ``.step(id, **fields)`` adds steps, ``.to_yaml()``/``.pipeline()`` finish (code-as-graph)."""
        # not at the top: the builder builds Pipelines (a loop)
        from pipex.model.builder import PipelineBuilder

        return PipelineBuilder(id, name, root=root)

    # -- where it came from -------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The pipeline root: the directory of the pipeline file."""
        return self._root

    @property
    def source(self) -> Path | None:
        """The pipeline file, or ``None`` for a pipeline built in Python."""
        return self._source

    @property
    def boundary(self) -> Path:
        """The directory host paths must stay inside (the project)."""
        return self._boundary or self._root

    @property
    def config(self) -> ProjectConfig:
        """The ``.pipex.yml`` in force (defaults when there is none)."""
        return self._config

    @property
    def config_path(self) -> Path | None:
        return self._config_path

    def root_of(self, step_id: str) -> Path:
        """The directory a step's relative host paths resolve against: its own file's (a sub-pipeline's)."""
        return self._roots.get(step_id, self._root)

    @property
    def roots(self) -> Mapping[str, Path]:
        """The roots of the steps inlined from sub-pipelines, by step id."""
        return self._roots

    @property
    def scopes(self) -> Mapping[str, Scope]:
        """The sub-pipelines inlined here, by their ``pipeline:`` step's id (nested ones as ``etl.inner``)."""
        return self._scopes

    @property
    def authored_steps(self) -> list[Step]:
        """The steps as written in the file (``pipeline:`` steps not inlined); ``steps`` for most pipelines."""
        return self.steps if self._authored is None else self._authored

    def set_composition(self, *, authored: list[Step], roots: dict[str, Path], scopes: dict[str, Scope]) -> None:
        """Record what ``compose.inline`` made of the authored steps (for the loader only)."""
        self._authored, self._roots, self._scopes = authored, roots, scopes

    def expand_ids(self, ids: Sequence[str]) -> tuple[str, ...]:
        """Step ids with each sub-pipeline's id replaced by its steps' (``--target etl``: all of etl; ``etl[eu]``:
        that instance's), and a fanned sub-pipeline's step without the key by every instance's (``etl.extract``:
        ``etl[eu].extract``, ``etl[us].extract``)."""
        out: list[str] = []
        for sid in ids:
            scope = self._scopes.get(sid)
            if scope is not None and sid not in self._index:
                out.extend(scope.steps)
            elif sid not in self._index and "." in sid and "[" not in sid:
                same = [s for s in self._index if "[" in s and _KEYS.sub("", s) == sid]
                out.extend(same or (sid,))
            else:
                out.append(sid)
        return tuple(dict.fromkeys(out))

    @property
    def resolutions(self) -> Resolutions:
        """What the load's kit check resolved per instance, for the run that follows (``pipex.kits.resolve``)."""
        return self._resolutions

    @property
    def environ(self) -> Mapping[str, str] | None:
        """The environment given to ``load``/``from_dict`` (``None``: the process environment)."""
        return self._environ

    # -- the DAG ------------------------------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return list(self._index)

    def step(self, id: str) -> Step:
        """The step with this id; ``KeyError`` (with a suggestion) when there is none."""
        position = self._index.get(id)
        if position is None:
            suggestion = did_you_mean(id, self._index)
            extra = f'; did you mean "{suggestion}"?' if suggestion else ""
            raise KeyError(f'no step "{id}" in pipeline "{self.id}"{extra}')
        return self.steps[position]

    def dependencies(self, id: str) -> list[str]:
        """The ids of the steps this step takes as inputs (existing ones only), in input order."""
        self.step(id)
        return list(self._deps[id])

    def dependents(self, id: str) -> list[str]:
        """The ids of the steps that take this step as an input, in file order."""
        self.step(id)
        return [other for other, ups in self._deps.items() if id in ups]

    def downstream(self) -> dict[str, list[str]]:
        """Every step's dependents at once (O(steps + inputs))."""
        return downstream_map(self.ids, self._deps)

    def topological_order(self) -> list[str]:
        """Step ids, upstream before downstream, ties in file order. ``PipelineError`` on a cycle."""
        order = order_of(self.ids, self._deps)
        if len(order) != len(self._index):
            cycle = find_cycles(self.ids, self._deps)[0]
            problem = Problem("steps", "dependency cycle: " + " → ".join(cycle), "remove one of these inputs")
            raise PipelineError.from_problems([problem], source=None if self._source is None else str(self._source))
        return order

    def validate(self, extra: PipelineCheck | None = None) -> list[Problem]:  # type: ignore[override]  # pydantic's deprecated classmethod
        """Every problem of this pipeline now (files may have changed since loading); ``[]`` when valid.
        The model's own checks; ``pipex.kits.check.problems`` adds the kits' (``extra``: checks from above)."""
        # not at the top: validate.py builds Pipelines (a loop)
        from pipex.model.validate import model_problems

        return model_problems(self, extra)

    def graph(self, fmt: str = "mermaid") -> str:
        """The DAG as Mermaid, Graphviz dot or JSON text (deterministic)."""
        # start-up: only graph output needs the renderer
        from pipex.graph import render_graph

        return render_graph(self, fmt)

    # -- serialisation ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The file form: camelCase keys, defaults and nulls left out."""
        data: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            data["name"] = self.name
        data["steps"] = [
            step.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude_none=True)
            for step in self.authored_steps
        ]
        return data

    def to_yaml(self) -> str:
        """YAML that ``pipex.load`` reads back into an equal pipeline."""
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


class _Dumper(yaml.SafeDumper):
    """Quotes every string that YAML 1.1 *or* 1.2 would read as something else (``yes``, ``0o17``, ``1e3``)."""


for _tag, _regex, _first in CORE_RESOLVERS:
    _Dumper.add_implicit_resolver(_tag, _regex, _first)
