"""Finding the kit named by ``uses: NAME``, and loading custom kits.

Resolution order, first match wins:

1. an alias in ``.pipex.yml``: ``kits: {NAME: ./kits/geo.py}`` (a ``.py`` file, a package directory or a
   ``.yml`` template, relative to the ``.pipex.yml`` directory) or ``kits: {NAME: package.module:attr}``;
2. ``kits/NAME/__init__.py``, ``kits/NAME.py``, ``kits/NAME.yml`` next to ``.pipex.yml`` (or in the current
   directory when there is no ``.pipex.yml``);
3. an entry point ``NAME`` in the group ``pipex.kits`` of an installed package;
4. the built-in kits ``node``, ``python``, ``shell``.

Kit files are obeyed only when they are the user's own: a ``.py`` or ``.yml`` kit (and the folder holding it)
that another user owns or can write is refused (``KitError`` naming the file and the fix, exit 2), as is a
``module:attr`` kit whose module files are not the user's or root's (``pipex.config.distrust``).

The rule for Python kits: the kit is the module attribute ``kit`` (or the attribute named after ``:``), an
object implementing ``pipex.kits.Kit``. A kit that fails to load is an error naming the file and the
exception: pipex never falls through to the next candidate. Loaded modules are cached for the life of the
process (keyed by file, size and modification time, so a long-lived daemon sees an edited kit).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from pipex.config import distrust
from pipex.errors import KitError
from pipex.kits.base import Kit
from pipex.model.suggest import did_you_mean

ENTRY_POINT_GROUP = "pipex.kits"
BUILTIN_KITS = ("node", "python", "shell")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_TEMPLATE_SUFFIXES = (".yml", ".yaml")

_loaded: dict[tuple[Any, ...], tuple[Kit, Path | None]] = {}
_entry_points: dict[tuple[str, ...], dict[str, EntryPoint]] = {}


@dataclass(frozen=True, slots=True)
class FoundKit:
    """A kit and where it came from (``origin`` is for messages; ``kit_dir`` goes into the KitContext)."""

    name: str
    kit: Kit
    origin: str
    kit_dir: Path | None = None


class KitFinder:
    """Finds kits for one project: its ``.pipex.yml`` aliases and its ``kits/`` directory."""

    def __init__(self, *, aliases: Mapping[str, str], base: Path, config_path: Path | None = None) -> None:
        self.aliases = dict(aliases)
        self.base = base
        self.config_path = config_path

    def find(self, name: str) -> FoundKit:
        """The kit ``name`` by the resolution order above; raises ``KitError``."""
        if name in self.aliases:
            return self._from_alias(name, self.aliases[name])
        local = self._local_file(name)
        if local is not None:
            return _load_file(name, local, attr="kit", origin=_show(local, self.base))
        point = _entry_point_map().get(name)
        if point is not None:
            return _load_entry_point(name, point)
        if name in BUILTIN_KITS:
            module = importlib.import_module(f"pipex.kits.{name}")
            return FoundKit(name, module.kit, "built-in")
        raise self._unknown(name)

    def kit(self, name: str) -> Kit:
        return self.find(name).kit

    def _local_file(self, name: str) -> Path | None:
        if not _NAME.fullmatch(name):
            return None  # never turn a name like ../x into a path
        folder = self.base / "kits"
        for candidate in (folder / name / "__init__.py", folder / f"{name}.py", folder / f"{name}.yml"):
            if candidate.is_file():
                return candidate
        return None

    def _from_alias(self, name: str, target: str) -> FoundKit:
        if not target.strip():
            where = f'kit alias "{name}" in {self.config_path or ".pipex.yml"}'
            raise KitError(f"{where} is empty", hint="give a .py file, a .yml template or package.module:attr")
        if not _looks_like_path(target):
            module_name, _, attr = target.partition(":")
            return _load_module(name, module_name, attr or "kit", origin=f"module {module_name}")
        text, attr = _split_path(target)
        path = self.base / text
        if path.is_dir():
            path = path / "__init__.py"
        if not path.is_file():
            where = f'kit alias "{name}" in {self.config_path or ".pipex.yml"}'
            raise KitError(
                f"{where} points to {target}, which does not exist",
                hint=f"paths in kits: are relative to {self.base}",
            )
        return _load_file(name, path, attr=attr or "kit", origin=text)

    def _unknown(self, name: str) -> KitError:
        choices = [*self.aliases, *self._local_names(), *_entry_point_map(), *BUILTIN_KITS]
        suggestion = did_you_mean(name, choices)
        message = f'unknown kit "{name}"' + (f'; did you mean "{suggestion}"?' if suggestion else "")
        files = f"kits/{name}/__init__.py, kits/{name}.py, kits/{name}.yml in {self.base}"
        if self.config_path is not None:
            files = f"an alias in {self.config_path}; {files}"
        else:
            files += " (no .pipex.yml, so no aliases)"
        builtins = ", ".join(BUILTIN_KITS)
        hint = f'looked for: {files}; installed entry points "{ENTRY_POINT_GROUP}"; the built-in kits {builtins}'
        return KitError(message, hint=hint)

    def _local_names(self) -> list[str]:
        folder = self.base / "kits"
        if not folder.is_dir():
            return []
        names = []
        for entry in folder.iterdir():
            if entry.suffix in (".py", ".yml") or (entry / "__init__.py").is_file():
                names.append(entry.stem)
        return sorted(names)


def _looks_like_path(target: str) -> bool:
    return "/" in target or target.startswith(".") or target.endswith((".py", *_TEMPLATE_SUFFIXES))


def _split_path(target: str) -> tuple[str, str]:
    """``./kits/geo.py:make`` → (``./kits/geo.py``, ``make``); a bare path has no attribute."""
    head, sep, tail = target.rpartition(":")
    if sep and head.endswith(".py") and all(part.isidentifier() for part in tail.split(".")):
        return head, tail
    return target, ""


def _show(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _refuse_untrusted(name: str, path: Path, *, allow_root: bool = False) -> None:
    """A kit another user could have written is never run: its file and folder must be the user's own."""
    untrusted = distrust(path, directory_too=True, allow_root=allow_root)
    if untrusted is not None:
        raise KitError(f'refused to load kit "{name}" from {untrusted.path}: {untrusted.reason}', hint=untrusted.fix)


def _load_file(name: str, path: Path, *, attr: str, origin: str) -> FoundKit:
    _refuse_untrusted(name, path)
    if path.suffix in _TEMPLATE_SUFFIXES:
        # start-up: only template kits need the YAML loader
        from pipex.kits.template import load_template

        stat = path.stat()
        key: tuple[Any, ...] = ("template", str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in _loaded:
            _loaded[key] = (load_template(name, path, shown=origin), path.parent)
        kit, kit_dir = _loaded[key]
        return FoundKit(name, kit, origin, kit_dir)
    real = path.resolve()
    stat = real.stat()
    key = ("file", str(real), attr, stat.st_mtime_ns, stat.st_size)
    if key not in _loaded:
        module = _exec_file(name, real, origin)
        _loaded[key] = (_kit_attr(module, attr, name, origin), real.parent)
    kit, kit_dir = _loaded[key]
    return FoundKit(name, kit, origin, kit_dir)


def _exec_file(name: str, path: Path, origin: str) -> ModuleType:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module_name = f"_pipex_kit_{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{digest}"
    package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=[str(path.parent)] if package else None
    )
    if spec is None or spec.loader is None:
        raise KitError(f'cannot load kit "{name}" from {origin}: not a Python file')
    module = importlib.util.module_from_spec(spec)
    # Registered before running it, as import does: dataclasses and relative imports look it up there.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise KitError(f'cannot load kit "{name}" from {origin}: {_describe(exc)}') from exc
    return module


def _load_module(name: str, module_name: str, attr: str, *, origin: str) -> FoundKit:
    key = ("module", module_name, attr)
    if key not in _loaded:
        try:
            _check_module_files(name, module_name)
            module = importlib.import_module(module_name)
        except KitError:
            raise
        except Exception as exc:
            raise KitError(f'cannot load kit "{name}" from {origin}: {_describe(exc)}') from exc
        kit = _kit_attr(module, attr, name, origin)
        _loaded[key] = (kit, _module_dir(module))
    kit, kit_dir = _loaded[key]
    return FoundKit(name, kit, origin, kit_dir)


def _check_module_files(name: str, module_name: str) -> None:
    """Refuse ``module_name`` before anything runs when one of its files (each package on the way included)
    is not the user's or root's, or others can write it. Finding ``a.b`` imports ``a``: checked first."""
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        found = importlib.util.find_spec(".".join(parts[:depth]))
        if found is None:
            return  # import_module reports the missing module
        if found.origin and found.has_location and Path(found.origin).is_file():
            _refuse_untrusted(name, Path(found.origin), allow_root=True)


def _load_entry_point(name: str, point: EntryPoint) -> FoundKit:
    dist = f" of {point.dist.name} {point.dist.version}" if point.dist is not None else ""
    origin = f'entry point "{point.name} = {point.value}"{dist}'
    key = ("entry-point", point.value, dist)
    if key not in _loaded:
        try:
            loaded = point.load()
        except Exception as exc:
            raise KitError(f'cannot load kit "{name}" from {origin}: {_describe(exc)}') from exc
        if isinstance(loaded, ModuleType):
            _loaded[key] = (_kit_attr(loaded, "kit", name, origin), _module_dir(loaded))
        else:
            _check_kit(loaded, name, origin)
            module = sys.modules.get(point.module)
            _loaded[key] = (loaded, _module_dir(module) if module else None)
    kit, kit_dir = _loaded[key]
    return FoundKit(name, kit, origin, kit_dir)


def _entry_point_map() -> dict[str, EntryPoint]:
    # Scanning the installed distributions costs milliseconds; sys.path is the key so tests that add a
    # distribution to the path see it.
    key = tuple(sys.path)
    if key not in _entry_points:
        found: dict[str, EntryPoint] = {}
        for point in entry_points(group=ENTRY_POINT_GROUP):
            found.setdefault(point.name, point)
        _entry_points[key] = found
    return _entry_points[key]


def _kit_attr(module: ModuleType, attr: str, name: str, origin: str) -> Kit:
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise KitError(
                f'cannot load kit "{name}" from {origin}: it has no attribute "{attr}"',
                hint=f"define {attr} = an object with name, params and resolve (see pipex.kits.Kit)",
            )
        value = getattr(value, part)
    _check_kit(value, name, origin)
    kit: Kit = value
    return kit


def _check_kit(value: Any, name: str, origin: str) -> None:
    where = f'cannot load kit "{name}" from {origin}'
    if isinstance(value, type):
        raise KitError(f"{where}: {value.__name__} is a class", hint=f"expose an instance: kit = {value.__name__}()")
    problem = None
    if not isinstance(getattr(value, "name", None), str):
        problem = "its name is not a string"
    elif not (isinstance(getattr(value, "params", None), type) and issubclass(value.params, BaseModel)):
        problem = "its params is not a pydantic model class"
    elif not callable(getattr(value, "resolve", None)):
        problem = "it has no resolve(params, context) method"
    if problem:
        raise KitError(f"{where}: {problem}", hint="a kit has name, params and resolve (see pipex.kits.Kit)")


def _module_dir(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).parent if file else None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
