"""Declarative kits: ``kits/NAME.yml`` files with ``{{ params.x }}`` substitution (no code runs).

Format::

    description: Run a GDAL command            # optional
    params:                                    # the kit's `with:` parameters
      run:      {type: string, required: true} # type: string (default) | number | boolean | list
      tag:      {type: string, default: "3.9.0"}
      packages: {type: list, default: []}      # a list of strings
      src:      {type: string}                 # optional, no default: unset unless given
    step:                                      # the fields of a step, as in a pipeline file
      image: "ghcr.io/osgeo/gdal:ubuntu-small-{{ params.tag }}"
      cmd: [sh, -c, "{{ params.run }}"]
      env: {GDAL_CACHEMAX: "512"}
      mounts: [{host: "{{ params.src }}", container: /app}]   # also sources, caches
      setup: {cmd: [apt-get, install, -y, "{{ params.packages }}"], allowNetwork: true}
      allowNetwork: "{{ params.online }}"      # booleans: true/false or one boolean placeholder

Rules: a placeholder is replaced by the parameter's value as text (booleans ``true``/``false``); a list
parameter may only be a whole ``cmd`` item, whose place it takes item by item. An optional parameter that was
not given drops the ``cmd`` item, ``env`` key or mount/source/cache entry that uses it; anywhere else it is an
error. Unknown placeholders, and anything else than ``{{ params.NAME }}``, are errors when the kit is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    create_model,
)

from pipex.errors import KitError
from pipex.kits.base import KitContext, KitParamError, PathPair, StepTemplate
from pipex.kits.params import param_error
from pipex.kits.problems import describe, loc_text
from pipex.model.spec import CacheSpec, SetupSpec
from pipex.model.suggest import did_you_mean

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_PARAM_REF = re.compile(r"\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _text(value: Any) -> Any:
    # `cmd: [sleep, 5]` means "5", as in a pipeline file; booleans stay errors.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_text)]
Flag = StrictBool | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Mount(_Model):
    host: Text
    container: Text


class _Cache(_Model):
    name: Text
    path: Text
    exclusive: Flag = False


class _Setup(_Model):
    cmd: list[Text] = Field(min_length=1)
    caches: list[_Cache] = Field(default_factory=list)
    allow_network: Flag = Field(False, alias="allowNetwork")


class _Step(_Model):
    image: Text
    cmd: list[Text] = Field(min_length=1)
    env: dict[str, Text] = Field(default_factory=dict)
    mounts: list[_Mount] = Field(default_factory=list)
    sources: list[_Mount] = Field(default_factory=list)
    caches: list[_Cache] = Field(default_factory=list)
    setup: _Setup | None = None
    allow_network: Flag | None = Field(None, alias="allowNetwork")


class _Param(_Model):
    type: Literal["string", "number", "boolean", "list"] = "string"
    default: Any = None
    required: bool = False
    description: str | None = None


class _File(_Model):
    description: str | None = None
    params: dict[str, _Param] = Field(default_factory=dict)
    step: _Step


def _number(value: Any) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise param_error(f"must be a number, not {describe(value)}")


_TYPES: dict[str, Any] = {
    "string": str,
    "number": Annotated[Any, PlainValidator(_number)],
    "boolean": bool,
    "list": list[str],
}


def _default_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class TemplateKit:
    """A kit read from a YAML template; ``params`` is a pydantic model built from its ``params:``."""

    def __init__(self, name: str, params: type[BaseModel], step: _Step, kinds: dict[str, str]) -> None:
        self.name = name
        self.params = params
        self.step = step
        self.kinds = kinds

    def resolve(self, params: BaseModel, context: KitContext) -> StepTemplate:
        values = params.model_dump(by_alias=True)
        render = _Renderer(values)
        step = self.step
        setup = None
        if step.setup is not None:
            setup = SetupSpec(
                tuple(render.items(step.setup.cmd, "step.setup.cmd")),
                tuple(render.caches(step.setup.caches, "step.setup.caches")),
                bool(render.flag(step.setup.allow_network)),
            )
        env = {}
        for key, value in step.env.items():
            text = render.text(value, f"step.env.{key}", optional=True)
            if text is not None:
                env[key] = text
        return StepTemplate(
            image=render.required(step.image, "step.image"),
            cmd=tuple(render.items(step.cmd, "step.cmd")),
            env=env,
            mounts=tuple(render.pairs(step.mounts, "step.mounts")),
            sources=tuple(render.pairs(step.sources, "step.sources")),
            caches=tuple(render.caches(step.caches, "step.caches")),
            setup=setup,
            allow_network=render.flag(step.allow_network),
        )


class _Renderer:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def text(self, text: str, where: str, *, optional: bool = False) -> str | None:
        """``text`` with its placeholders replaced; ``None`` when an unset parameter is used and allowed."""
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = _ref(match)
            value = self.values.get(name)
            if value is None:
                missing.append(name)
                return ""
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)

        result = _PLACEHOLDER.sub(replace, text)
        if not missing:
            return result
        if optional:
            return None
        raise KitParamError(f'"{missing[0]}" is needed: {where} uses it', loc=(missing[0],))

    def required(self, text: str, where: str) -> str:
        result = self.text(text, where)
        assert result is not None  # text() raises instead when optional is False
        return result

    def items(self, items: list[str], where: str) -> Iterator[str]:
        for index, item in enumerate(items):
            match = _PLACEHOLDER.fullmatch(item)
            if match is not None and isinstance(self.values.get(_ref(match)), list):
                yield from self.values[_ref(match)]
                continue
            text = self.text(item, f"{where}[{index}]", optional=True)
            if text is not None:
                yield text

    def pairs(self, mounts: list[_Mount], where: str) -> Iterator[PathPair]:
        for index, mount in enumerate(mounts):
            host = self.text(mount.host, f"{where}[{index}].host", optional=True)
            container = self.text(mount.container, f"{where}[{index}].container", optional=True)
            if host is not None and container is not None:
                yield PathPair(host, container)

    def caches(self, caches: list[_Cache], where: str) -> Iterator[CacheSpec]:
        for index, cache in enumerate(caches):
            name = self.text(cache.name, f"{where}[{index}].name", optional=True)
            path = self.text(cache.path, f"{where}[{index}].path", optional=True)
            if name is not None and path is not None:
                yield CacheSpec(name, path, bool(self.flag(cache.exclusive)))

    def flag(self, value: bool | str | None) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        match = _PLACEHOLDER.fullmatch(value)
        assert match is not None  # checked when the template was loaded
        result = self.values.get(_ref(match))
        return None if result is None else bool(result)


def _ref(match: re.Match[str]) -> str:
    ref = _PARAM_REF.fullmatch(match.group(1))
    assert ref is not None  # checked when the template was loaded
    return ref.group(1)


def load_template(name: str, path: Path, *, shown: str | None = None) -> TemplateKit:
    """Read and check a template kit; every problem is a ``KitError`` naming the file."""
    # start-up: the full YAML 1.2 loader only for a template kit
    from pipex.model.handwritten.yaml12 import SyntaxProblems, load_yaml

    where = f'kit "{name}" in {shown or path}'
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxProblems) as exc:
        raise KitError(f'cannot load kit "{name}" from {shown or path}: {exc}') from exc
    try:
        spec = _File.model_validate(data)
    except ValidationError as exc:
        raise KitError(f"invalid {where}: {_format_errors(exc)}") from exc
    kinds: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for param, info in spec.params.items():
        problem = _param_problem(param, info)
        if problem:
            raise KitError(f"invalid {where}: params.{param}: {problem}")
        kinds[param] = info.type
        kind = _TYPES[info.type]
        if info.required:
            fields[f"p_{param}"] = (kind, Field(alias=param))
        else:
            fields[f"p_{param}"] = (kind | None, Field(info.default, alias=param))
    for text, place, context in _strings(spec.step):
        problem = _placeholder_problem(text, place, context, kinds)
        if problem:
            raise KitError(f"invalid {where}: {place}: {problem}")
    config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)
    model = create_model(f"{name.title().replace('-', '')}Params", __config__=config, **fields)
    return TemplateKit(name, model, spec.step, kinds)


_FIELDS = (
    *("description", "params", "step", "type", "default", "required", "image", "cmd", "env", "mounts"),
    *("sources", "caches", "setup", "allowNetwork", "host", "container", "name", "path", "exclusive"),
)


def _format_errors(exc: ValidationError) -> str:
    """The template's structural errors, unknown keys first (a typo also makes a field "missing")."""
    texts: list[tuple[int, str]] = []
    for error in exc.errors():
        loc = loc_text(error["loc"])
        if error["type"] == "extra_forbidden":
            key = str(error["loc"][-1])
            suggestion = did_you_mean(key, _FIELDS)
            extra = f'; did you mean "{suggestion}"?' if suggestion else ""
            texts.append((0, f'{loc}: unknown key "{key}"{extra}'))
        elif error["type"] == "missing":
            texts.append((1, f"{loc}: missing"))
        else:
            message = error["msg"]
            texts.append((1, f"{loc}: {message[:1].lower()}{message[1:]}"))
    return "; ".join(text for _, text in sorted(texts, key=lambda item: item[0]))


def _param_problem(param: str, info: _Param) -> str | None:
    if not _PARAM_NAME.fullmatch(param):
        return "a parameter name is letters, digits and _ (it is used as {{ params.NAME }})"
    if info.required and info.default is not None:
        return "a required parameter has no default"
    if info.default is not None and not _default_ok(info.type, info.default):
        return f"default {describe(info.default)} is not of type {info.type}"
    return None


def _strings(step: _Step) -> Iterator[tuple[str | bool | None, str, str]]:
    """Every templated value of ``step``: (value, where, context) with context cmd | text | flag."""
    yield step.image, "step.image", "text"
    for index, item in enumerate(step.cmd):
        yield item, f"step.cmd[{index}]", "cmd"
    for key, value in step.env.items():
        yield value, f"step.env.{key}", "text"
    for field in ("mounts", "sources"):
        for index, mount in enumerate(getattr(step, field)):
            yield mount.host, f"step.{field}[{index}].host", "text"
            yield mount.container, f"step.{field}[{index}].container", "text"
    caches = [("step.caches", step.caches)]
    if step.setup is not None:
        for index, item in enumerate(step.setup.cmd):
            yield item, f"step.setup.cmd[{index}]", "cmd"
        yield step.setup.allow_network, "step.setup.allowNetwork", "flag"
        caches.append(("step.setup.caches", step.setup.caches))
    for prefix, entries in caches:
        for index, cache in enumerate(entries):
            yield cache.name, f"{prefix}[{index}].name", "text"
            yield cache.path, f"{prefix}[{index}].path", "text"
            yield cache.exclusive, f"{prefix}[{index}].exclusive", "flag"
    yield step.allow_network, "step.allowNetwork", "flag"


def _placeholder_problem(value: str | bool | None, place: str, context: str, kinds: dict[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    matches = list(_PLACEHOLDER.finditer(value))
    for match in matches:
        ref = _PARAM_REF.fullmatch(match.group(1))
        if ref is None:
            return f'unknown placeholder "{match.group(0)}": only {{{{ params.NAME }}}} is supported'
        param = ref.group(1)
        if param not in kinds:
            suggestion = did_you_mean(param, kinds)
            extra = f'; did you mean "{{{{ params.{suggestion} }}}}"?' if suggestion else ""
            return f'unknown placeholder "{match.group(0)}": no parameter "{param}"{extra}'
        whole = match.group(0) == value
        if kinds[param] == "list" and not (context == "cmd" and whole):
            return f'list parameter "{param}" can only be a whole cmd item ("{{{{ params.{param} }}}}")'
        if context == "flag" and not (whole and kinds[param] == "boolean"):
            return "must be true, false or one boolean parameter"
    if context == "flag" and not matches:
        return f"must be true, false or one boolean parameter, not {describe(value)}"
    if "{{" in _PLACEHOLDER.sub("", value):
        return 'unclosed "{{": a placeholder is {{ params.NAME }}'
    return None
