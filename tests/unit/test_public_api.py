"""The public surface of ``pipex`` is written once, as the keys of ``pipex._EXPORTS``; everything else derives from
it or is checked against it here: ``__all__``, the imports type checkers read, every event type and every error.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pipex
from pipex import errors
from pipex.engine.events import EVENT_TYPES, Event, Metrics, RunError, RunResult, StepOutcome


def test_all_is_the_exports_and_the_version() -> None:
    assert pipex.__all__ == sorted(["__version__", *pipex._EXPORTS])
    assert len(set(pipex.__all__)) == len(pipex.__all__)


def test_every_public_name_resolves_to_its_home() -> None:
    for name, module in pipex._EXPORTS.items():
        assert getattr(pipex, name) is getattr(importlib.import_module(module), name), name
    assert isinstance(pipex.__version__, str)


def test_the_type_checking_imports_are_the_exports() -> None:
    tree = ast.parse(Path(pipex.__file__).read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    imported: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: import it as itself so it is re-exported"
            imported[alias.name] = node.module
    assert imported == pipex._EXPORTS


def test_every_event_type_and_its_records_are_public() -> None:
    for cls in (Event, *EVENT_TYPES, RunResult, RunError, StepOutcome, Metrics):
        assert getattr(pipex, cls.__name__) is cls


def test_every_error_is_public() -> None:
    public = {getattr(pipex, name) for name, module in pipex._EXPORTS.items() if module == "pipex.errors"}
    tree = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if cls.__module__ == "pipex.errors" and issubclass(cls, errors.PipexError)
    }
    assert tree <= public
