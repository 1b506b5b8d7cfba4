"""From a validated ``Step`` to a ``StepSpec``: apply its kit, merge the user's fields over the kit's, merge
the environment, and resolve host paths.

Merge rules (user over kit): ``env`` by key; ``caches`` by name (user wins); ``mounts``/``sources`` kit first
then user, a user entry at the same container path replacing the kit's (two mounts on one path would fail in
the engine); ``setup.cmd`` user wins; ``setup.caches`` by name; ``setup.allowNetwork`` and ``allowNetwork``
the user's when set. Environment, lowest to highest: kit < ``--env-file`` < step ``envFile`` < step ``env``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from pipex.errors import KitError, PipelineError, Problem
from pipex.kits.base import KitContext, KitParamError, PathPair, StepTemplate
from pipex.kits.custom import FoundKit, KitFinder
from pipex.kits.problems import loc_text, param_problems
from pipex.model.fanout import (
    canonical,
    has_placeholder,
    item_key,
    matrix_instances,
    matrix_key,
    placeholder_problems,
    source_of,
    substitute,
    substitute_value,
)
from pipex.model.handwritten.dotenv import load_dotenv
from pipex.model.paths import check_container_path, normal_container_path, resolve_host_path
from pipex.model.resolutions import Resolutions
from pipex.model.spec import (
    CacheSpec,
    FanOutSpec,
    InputSpec,
    InstanceResolver,
    KitRef,
    MountSpec,
    ResourcesSpec,
    SecretSpec,
    SetupSpec,
    SlurmSpec,
    StepSpec,
    frozen_map,
)
from pipex.model.step import Cache, ForeachStep, Mount, Setup, Step

_CACHE_NAME = re.compile(r"[A-Za-z0-9_-]+")


class _Config(Protocol):
    @property
    def kits(self) -> Mapping[str, str]: ...


class PipelineLike(Protocol):
    """What resolution needs of ``pipex.model.pipeline.Pipeline``."""

    @property
    def steps(self) -> Sequence[Step]: ...
    @property
    def root(self) -> Path: ...
    @property
    def boundary(self) -> Path: ...
    @property
    def config(self) -> _Config: ...
    @property
    def config_path(self) -> Path | None: ...
    @property
    def resolutions(self) -> Resolutions: ...
    def root_of(self, step_id: str) -> Path: ...


class _Rooted:
    """A pipeline as one step of a sub-pipeline sees it: relative host paths start at that sub-pipeline's file."""

    def __init__(self, pipeline: PipelineLike, root: Path) -> None:
        self._pipeline = pipeline
        self.root = root

    @property
    def steps(self) -> Sequence[Step]:
        return self._pipeline.steps

    @property
    def boundary(self) -> Path:
        return self._pipeline.boundary

    @property
    def config(self) -> _Config:
        return self._pipeline.config

    @property
    def config_path(self) -> Path | None:
        return self._pipeline.config_path

    @property
    def resolutions(self) -> Resolutions:
        return self._pipeline.resolutions

    def root_of(self, step_id: str) -> Path:
        return self.root


def _seen_from(pipeline: PipelineLike, step: Step) -> PipelineLike:
    root = pipeline.root_of(step.id)
    return pipeline if root == pipeline.root else _Rooted(pipeline, root)


class _Failed(Exception):
    """Problems of one step; ``kit`` says whether its kit (rather than the user's fields) caused them."""

    def __init__(self, problems: list[Problem], *, kit: bool = False) -> None:
        super().__init__(problems)
        self.problems = problems
        self.kit = kit


@dataclass(frozen=True, slots=True)
class _Applied:
    ref: KitRef
    template: StepTemplate
    mounts: tuple[MountSpec, ...]
    sources: tuple[MountSpec, ...]
    warnings: tuple[str, ...]


def finder_for(pipeline: PipelineLike, *, cwd: Path | None = None) -> KitFinder:
    """The kit finder of ``pipeline``'s project: aliases and ``kits/`` next to its ``.pipex.yml``."""
    config_path = pipeline.config_path
    base = config_path.parent if config_path is not None else (cwd or Path.cwd())
    return KitFinder(aliases=pipeline.config.kits, base=base.absolute(), config_path=config_path)


def kit_problems(pipeline: PipelineLike, *, finder: KitFinder | None = None) -> list[Problem]:
    """Every kit problem of ``pipeline``, in step order: unknown kits, kits that fail to load, parameter
    errors (``steps[N].with.<param>``), bad template output and host paths that leave the project."""
    finder = finder or finder_for(pipeline)
    problems: list[Problem] = []
    for index, step in enumerate(pipeline.steps):
        if step.uses is None:
            continue
        seen = _seen_from(pipeline, step)
        try:
            if _templated(step):
                checked = _InstanceKit(step, index, seen, finder, None)
                problems += _instance_problems(step, index, finder, checked)
                pipeline.resolutions.keep(step, checked)  # for the run that follows the load
            else:
                _apply_kit(step, index, seen, finder)
        except _Failed as failed:
            problems.extend(failed.problems)
    return problems


def resolve_steps(pipeline: PipelineLike, *, cli_env: Mapping[str, str] | None = None) -> list[StepSpec]:
    """Every step resolved; raises ``KitError``/``PipelineError`` with every problem found."""
    finder = finder_for(pipeline)
    specs: list[StepSpec] = []
    problems: list[Problem] = []
    kit_failed = False
    for index, step in enumerate(pipeline.steps):
        try:
            specs.append(_resolve(step, _seen_from(pipeline, step), finder, cli_env, index))
        except _Failed as failed:
            problems.extend(failed.problems)
            kit_failed = kit_failed or failed.kit
    if problems:
        raise (KitError if kit_failed else PipelineError).from_problems(problems)
    return specs


def resolve_step(
    step: Step,
    pipeline: PipelineLike,
    *,
    cli_env: Mapping[str, str] | None = None,
    index: int = 0,
    finder: KitFinder | None = None,
) -> StepSpec:
    """``step`` (the ``index``-th of ``pipeline``, for error locations) resolved into a ``StepSpec``."""
    try:
        return _resolve(step, _seen_from(pipeline, step), finder or finder_for(pipeline), cli_env, index)
    except _Failed as failed:
        raise (KitError if failed.kit else PipelineError).from_problems(failed.problems) from None


def _resolve(
    step: Step,
    pipeline: PipelineLike,
    finder: KitFinder,
    cli_env: Mapping[str, str] | None,
    index: int,
    found: FoundKit | None = None,
) -> StepSpec:
    if step.approval is not None:  # a gate: nothing to run, only its inputs and condition matter
        return StepSpec(
            id=step.id,
            name=step.label,
            image="",
            cmd=(),
            inputs=tuple([InputSpec(i.step, i.copy_to_output, i.optional) for i in step.inputs]),
            condition=step.if_,
            gate=step.approval.message or "",
        )
    if step.pipeline is not None:  # a sub-pipeline known at run time: nothing to run until its list is known
        return StepSpec(
            id=step.id,
            name=step.label,
            image="",
            cmd=(),
            env=frozen_map(step.env),
            inputs=tuple([InputSpec(i.step, i.copy_to_output, i.optional) for i in step.inputs]),
            condition=step.if_,
            fan_out=fan_out_spec(step),
            pipeline=step.pipeline,
        )
    base = f"steps[{index}]"
    resolver: InstanceResolver | None = None
    if _templated(step):  # the kit answers each instance's own values: nothing to apply it to yet
        resolver = _kept(step, pipeline, cli_env) or _InstanceKit(step, index, pipeline, finder, cli_env)
        problems = _instance_problems(step, index, finder, resolver)
        if problems:
            raise _Failed(problems, kit=True)
        applied = None
    else:
        applied = _apply_kit(step, index, pipeline, finder, found) if step.uses is not None else None
    problems = []
    # Most steps have no mounts, sources or envFile: skip the calls (this runs for every step of every run).
    user_mounts = _host_paths(step.mounts, f"{base}.mounts", pipeline, problems) if step.mounts else ()
    user_sources = _host_paths(step.sources, f"{base}.sources", pipeline, problems) if step.sources else ()
    if applied is None and step.env_file is None:
        env = {**cli_env, **step.env} if cli_env else step.env
    else:
        env = _environment(step, base, pipeline, applied, cli_env, problems)
    secrets = _secrets(step, base, pipeline, problems) if step.secrets else ()
    if problems:
        raise _Failed(problems)
    cmd: tuple[str, ...]
    if applied is None:
        if resolver is not None:  # each instance's come from its own resolution
            image, cmd = "", ()
        else:
            assert step.image is not None and step.cmd is not None  # the model checks raw steps
            image, cmd = step.image, tuple(step.cmd)
        mounts, sources = user_mounts, user_sources
        caches = tuple([_cache(c) for c in step.caches]) if step.caches else ()
        setup = _user_setup(step.setup) if step.setup is not None else None
        allow_network = bool(step.allow_network)
    else:
        template = applied.template
        image, cmd = template.image, template.cmd
        mounts, sources = _merge_paths(applied.mounts, applied.sources, user_mounts, user_sources)
        caches = _merge_caches(template.caches, step.caches)
        setup = _merge_setup(template.setup, step.setup)
        kit_network = bool(template.allow_network)
        allow_network = step.allow_network if step.allow_network is not None else kit_network
    resources = step.resources
    return StepSpec(
        id=step.id,
        name=step.label,
        image=image,
        cmd=cmd,
        env=frozen_map(env),
        inputs=tuple([InputSpec(i.step, i.copy_to_output, i.optional) for i in step.inputs]),
        output_path=step.output_path,
        mounts=mounts,
        sources=sources,
        caches=caches,
        setup=setup,
        condition=step.if_,
        timeout_sec=step.timeout_sec,
        retries=step.retries,
        retry_delay_ms=step.retry_delay_ms,
        allow_failure=step.allow_failure,
        allow_network=allow_network,
        resources=ResourcesSpec(resources.cpus, resources.memory, resources.pids) if resources else None,
        kit=applied.ref if applied else (KitRef(step.uses, frozen_map(step.with_)) if step.uses else None),
        secrets=secrets,
        when=step.when,
        slurm=SlurmSpec(step.slurm.partition, tuple(step.slurm.extra_args)) if step.slurm else None,
        outputs=tuple(step.outputs) if step.outputs is not None else None,
        fan_out=fan_out_spec(step, resolver),
        warnings=applied.warnings if applied else (),
    )


def fan_out_spec(step: Step, resolver: InstanceResolver | None = None) -> FanOutSpec | None:
    """The step's matrix/foreach as the engine reads it (validated already)."""
    if step.matrix is None and step.foreach is None:
        return None
    common: dict[str, Any] = {"max_parallel": step.max_parallel, "fail_fast": step.fail_fast, "resolve": resolver}
    if step.matrix is not None:
        return FanOutSpec(matrix=tuple((k, tuple(v)) for k, v in step.matrix.items()), **common)
    if isinstance(step.foreach, list):
        return FanOutSpec(items=tuple(step.foreach), **common)
    if isinstance(step.foreach, ForeachStep):
        return FanOutSpec(paired=step.foreach.step, **common)
    assert isinstance(step.foreach, str)
    source = source_of(step.foreach)
    assert source is not None
    return FanOutSpec(source=(source.step, source.key), **common)


# ---- a kit step whose `with` holds ${{ … }}: one resolution per instance ----------------------------------

MAX_INSTANCE_PROBLEMS = 3  # instances whose problems are listed; the rest are counted


def _templated(step: Step) -> bool:
    return (
        step.uses is not None and (step.matrix is not None or step.foreach is not None) and has_placeholder(step.with_)
    )


class _InstanceKit:
    """``InstanceResolver`` of one step: its ``with`` and ``env`` substituted, then resolved like any step.
    Instances with the same substituted values share one resolution (a matrix name the kit does not read)."""

    def __init__(
        self, step: Step, index: int, pipeline: PipelineLike, finder: KitFinder, cli_env: Mapping[str, str] | None
    ) -> None:
        self.step, self.index, self.pipeline, self.finder, self.cli_env = step, index, pipeline, finder, cli_env
        self._done: dict[str, StepSpec | _Failed] = {}  # by the substituted with and env
        self._by_values: dict[Any, StepSpec | _Failed] = {}  # by the instance's values
        self._kit: FoundKit | None = None

    def __call__(self, matrix: Mapping[str, Any] | None, item: Any, has_item: bool) -> StepSpec:
        found = self.attempt(matrix, item, has_item)
        if isinstance(found, _Failed):
            raise (KitError if found.kit else PipelineError).from_problems(found.problems)
        return found

    def attempt(self, matrix: Mapping[str, Any] | None, item: Any, has_item: bool) -> StepSpec | _Failed:
        values = _values_key(matrix, item)
        found = self._by_values.get(values)
        if found is None:  # (the run asks again for each instance the load already resolved: answered here)
            found = self._by_values[values] = self._substituted(matrix, item, has_item)
        return found

    def _substituted(self, matrix: Mapping[str, Any] | None, item: Any, has_item: bool) -> StepSpec | _Failed:
        step = self.step
        with_ = substitute_value(step.with_, matrix, item, has_item)
        env = {name: substitute(value, matrix, item, has_item) for name, value in step.env.items()}
        key = canonical([with_, env])
        found = self._done.get(key)
        if found is None:
            one = step.model_copy(update={"with_": with_, "env": env, "matrix": None, "foreach": None})
            try:
                if self._kit is None:
                    self._kit = self.finder.find(step.uses or "")
                found = _resolve(one, self.pipeline, self.finder, self.cli_env, self.index, self._kit)
            except KitError as exc:  # (the step's own check says this once; an instance says it too)
                found = _Failed([Problem(f"steps[{self.index}].uses", exc.message, exc.hint)], kit=True)
            except _Failed as failed:
                found = failed
            self._done[key] = found
        return found


def _kept(step: Step, pipeline: PipelineLike, cli_env: Mapping[str, str] | None) -> _InstanceKit | None:
    """What the load's check resolved for ``step``, if it still holds for this resolution (taken either way)."""
    found = pipeline.resolutions.take(step)
    if not isinstance(found, _InstanceKit) or found.pipeline.root != pipeline.root:
        return None
    if found.pipeline.boundary != pipeline.boundary or dict(cli_env or {}):  # (the check resolved without one)
        return None
    return found


def _values_key(matrix: Mapping[str, Any] | None, item: Any) -> Any:
    """A cheap dictionary key of an instance's values (scalars by type and value: ``1``, ``1.0`` and ``true``
    substitute differently)."""
    if matrix is not None:
        return tuple((type(v).__name__, v) for v in matrix.values())
    if isinstance(item, dict | list):
        return canonical(item)
    return (type(item).__name__, item)


def _static_values(step: Step) -> list[tuple[str, dict[str, Any] | None, Any, bool]] | None:
    """(key, matrix values, item, has item) of each instance known when the pipeline loads; ``None`` for a
    ``foreach`` over an upstream output (its items exist only at run time)."""
    if step.matrix is not None:
        return [(matrix_key(values), values, None, False) for values in matrix_instances(step.matrix)]
    if isinstance(step.foreach, list):
        return [(item_key(item), None, item, True) for item in step.foreach]
    return None


def _instance_problems(step: Step, index: int, finder: KitFinder, resolver: _InstanceKit) -> list[Problem]:
    """The kit's problems with every instance known now (each message names the instance); for instances known
    only at run time, those of the parameters that hold no ``${{ … }}`` (the kit sees the rest per instance)."""
    values = _static_values(step)
    if values is None or placeholder_problems(step, f"steps[{index}]"):  # (the model reports those)
        return _untemplated_problems(step, index, finder)
    problems = _untemplated_problems(step, index, finder)
    if problems:  # an unknown kit or a wrong parameter: said once, not once per instance
        return problems
    failing = 0
    for key, matrix, item, has_item in values:
        found = resolver.attempt(matrix, item, has_item)
        if not isinstance(found, _Failed) or not found.kit:  # the user's own fields: reported for the step
            continue
        failing += 1
        if failing <= MAX_INSTANCE_PROBLEMS:
            named = f"instance {step.id}[{key}]"
            problems += [Problem(p.location, f"{named}: {p.message}", p.hint) for p in found.problems]
    if failing > MAX_INSTANCE_PROBLEMS:
        more = failing - MAX_INSTANCE_PROBLEMS
        problems.append(Problem(f"steps[{index}].with", f"and {more} more instance{'s' * (more > 1)} with problems"))
    return problems


def _untemplated_problems(step: Step, index: int, finder: KitFinder) -> list[Problem]:
    """The kit is found, and its parameters are right except those holding ``${{ … }}`` (checked per instance)."""
    name = step.uses or ""
    try:
        kit = finder.find(name).kit
    except KitError as exc:
        return [Problem(f"steps[{index}].uses", exc.message, exc.hint)]
    try:
        kit.params.model_validate(step.with_)
    except ValidationError as exc:
        fields = [info.alias or field for field, info in kit.params.model_fields.items()]
        problems = param_problems(exc, kit=name, prefix=f"steps[{index}].with", fields=fields)
        given = [f"steps[{index}].with.{k}" for k, v in step.with_.items() if has_placeholder(v)]
        return [p for p in problems if not any(_within(p.location, g) for g in given)]
    return []


def _within(location: str, where: str) -> bool:
    """Whether a problem's location is ``where`` or inside it (``with.args`` holds ``with.args[1]``)."""
    return location == where or location.startswith((where + ".", where + "["))


# ---- applying a kit ---------------------------------------------------------------------------------------


def _apply_kit(
    step: Step, index: int, pipeline: PipelineLike, finder: KitFinder, found: FoundKit | None = None
) -> _Applied:
    """``found``: the step's kit when the caller has it (found once for all the instances of a step)."""
    name = step.uses or ""
    uses = f"steps[{index}].uses"
    prefix = f"steps[{index}].with"
    if found is None:
        try:
            found = finder.find(name)
        except KitError as exc:
            raise _Failed([Problem(uses, exc.message, exc.hint)], kit=True) from exc
    kit = found.kit
    try:
        params = kit.params.model_validate(step.with_)
    except ValidationError as exc:
        fields = [info.alias or field for field, info in kit.params.model_fields.items()]
        raise _Failed(param_problems(exc, kit=name, prefix=prefix, fields=fields), kit=True) from exc
    warnings: list[str] = []
    context = KitContext(
        root=pipeline.root,
        kit_dir=found.kit_dir,
        step_id=step.id,
        resolve_kit=finder.kit,
        warn=warnings.append,
    )
    template = _run_kit(found, params, context, uses, prefix)
    problems = _template_problems(template, found, step.with_, uses, prefix)
    mounts = _kit_paths(template.mounts, pipeline, step.with_, uses, prefix, problems)
    sources = _kit_paths(template.sources, pipeline, step.with_, uses, prefix, problems)
    if problems:
        raise _Failed(problems, kit=True)
    normal = params.model_dump(mode="json", by_alias=True)
    return _Applied(KitRef(name, frozen_map(normal)), template, mounts, sources, tuple(warnings))


def _run_kit(found: FoundKit, params: Any, context: KitContext, uses: str, prefix: str) -> StepTemplate:
    try:
        template = found.kit.resolve(params, context)
    except KitParamError as exc:
        where = loc_text(exc.loc)
        raise _Failed([Problem(f"{prefix}.{where}" if where else prefix, exc.message, exc.hint)], kit=True) from exc
    except KitError as exc:  # a chained kit that cannot be found or loaded
        raise _Failed([Problem(uses, exc.message, exc.hint)], kit=True) from exc
    except Exception as exc:
        message = f'kit "{found.name}" ({found.origin}) failed: {type(exc).__name__}: {exc}'
        raise _Failed([Problem(uses, message, "this is a bug in the kit")], kit=True) from exc
    if not isinstance(template, StepTemplate):
        message = f'kit "{found.name}" ({found.origin}) returned {type(template).__name__}, not a StepTemplate'
        raise _Failed([Problem(uses, message, "this is a bug in the kit")], kit=True)
    return template


def _template_problems(
    template: StepTemplate, found: FoundKit, with_: Mapping[str, Any], uses: str, prefix: str
) -> list[Problem]:
    """Custom kits are code we do not control: check their output as strictly as a user's step."""
    bad: list[str] = []
    if not isinstance(template.image, str) or not template.image:
        bad.append("an empty image")
    if not template.cmd or not all(isinstance(arg, str) for arg in template.cmd):
        bad.append("a cmd that is not a non-empty list of strings")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in template.env.items()):
        bad.append("env values that are not strings")
    caches = list(template.caches) + list(template.setup.caches if template.setup else ())
    for cache in caches:
        if not _CACHE_NAME.fullmatch(cache.name):
            bad.append(f"cache name {cache.name!r} (letters, digits, _ and - only)")
    containers = [pair.container for pair in (*template.mounts, *template.sources)]
    containers += [cache.path for cache in caches]
    problems = [Problem(uses, f'kit "{found.name}" produced {what}') for what in bad]
    for container in containers:
        why = check_container_path(container)
        if why:
            problems.append(Problem(_param_location(container, with_, uses, prefix), why))
    return problems


def _kit_paths(
    pairs: Iterable[PathPair],
    pipeline: PipelineLike,
    with_: Mapping[str, Any],
    uses: str,
    prefix: str,
    problems: list[Problem],
) -> tuple[MountSpec, ...]:
    out: list[MountSpec] = []
    for pair in pairs:
        try:
            host = resolve_host_path(pair.host, root=pipeline.root, boundary=pipeline.boundary)
        except ValueError as exc:
            problems.append(Problem(_param_location(pair.host, with_, uses, prefix), str(exc)))
            continue
        out.append(MountSpec(host, pair.container))
    return tuple(out)


def _param_location(value: str, with_: Mapping[str, Any], uses: str, prefix: str) -> str:
    """Blame the parameter the value came from (``src``) when there is one, else the ``uses`` line."""
    for key, given in with_.items():
        if given == value:
            return f"{prefix}.{key}"
    return uses


# ---- user fields and merging ------------------------------------------------------------------------------


def _host_paths(
    mounts: Sequence[Mount], where: str, pipeline: PipelineLike, problems: list[Problem]
) -> tuple[MountSpec, ...]:
    out: list[MountSpec] = []
    for position, mount in enumerate(mounts):
        try:
            host = resolve_host_path(mount.host, root=pipeline.root, boundary=pipeline.boundary)
        except ValueError as exc:
            problems.append(Problem(f"{where}[{position}].host", str(exc)))
            continue
        out.append(MountSpec(host, mount.container))
    return tuple(out)


def _environment(
    step: Step,
    base: str,
    pipeline: PipelineLike,
    applied: _Applied | None,
    cli_env: Mapping[str, str] | None,
    problems: list[Problem],
) -> dict[str, str]:
    env: dict[str, str] = dict(applied.template.env) if applied else {}
    env.update(cli_env or {})
    if step.env_file is not None:
        try:
            # envFile must stay inside the pipeline root itself (spec), a tighter fence than mounts.
            path = resolve_host_path(step.env_file, root=pipeline.root, boundary=pipeline.root)
            env.update(load_dotenv(path))
        except ValueError as exc:
            problems.append(Problem(f"{base}.envFile", str(exc)))
    env.update(step.env)
    return env


def _secrets(step: Step, base: str, pipeline: PipelineLike, problems: list[Problem]) -> tuple[SecretSpec, ...]:
    """Names and sources only: values are looked up by the engine when a run starts."""
    out: list[SecretSpec] = []
    for position, secret in enumerate(step.secrets):
        source, ref = secret.source
        origin = f"{source}:{ref}"
        if source == "file":
            try:
                # Like envFile: a secret file stays inside the pipeline root itself.
                ref = str(resolve_host_path(ref, root=pipeline.root, boundary=pipeline.root))
            except ValueError as exc:
                problems.append(Problem(f"{base}.secrets[{position}].file", str(exc)))
                continue
        out.append(SecretSpec(secret.name, source, ref, origin, secret.mount, secret.affects_output))
    return tuple(out)


def _cache(cache: Cache) -> CacheSpec:
    return CacheSpec(cache.name, cache.path, cache.exclusive)


def _merge_caches(kit: Iterable[CacheSpec], user: Iterable[Cache]) -> tuple[CacheSpec, ...]:
    merged = {cache.name: cache for cache in kit}
    merged.update({cache.name: _cache(cache) for cache in user})  # same name: replaced in place
    return tuple(merged.values())


def _user_setup(setup: Setup) -> SetupSpec:
    return SetupSpec(tuple(setup.cmd), tuple(_cache(c) for c in setup.caches), setup.allow_network)


def _merge_setup(kit: SetupSpec | None, user: Setup | None) -> SetupSpec | None:
    if user is None:
        return kit
    if kit is None:
        return _user_setup(user)
    network = user.allow_network if "allow_network" in user.model_fields_set else kit.allow_network
    return SetupSpec(tuple(user.cmd), _merge_caches(kit.caches, user.caches), network)


def _merge_paths(
    kit_mounts: tuple[MountSpec, ...],
    kit_sources: tuple[MountSpec, ...],
    user_mounts: tuple[MountSpec, ...],
    user_sources: tuple[MountSpec, ...],
) -> tuple[tuple[MountSpec, ...], tuple[MountSpec, ...]]:
    taken = {normal_container_path(m.container) for m in (*user_mounts, *user_sources)}
    keep: Callable[[MountSpec], bool] = lambda m: normal_container_path(m.container) not in taken  # noqa: E731
    mounts = tuple(m for m in kit_mounts if keep(m)) + user_mounts
    sources = tuple(m for m in kit_sources if keep(m)) + user_sources
    return mounts, sources
