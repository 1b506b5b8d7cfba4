"""Every third-party module ``pipex/`` imports (at the top or inside a function) is declared in ``pyproject.toml``."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pipex

PACKAGE = Path(pipex.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"pipex", "__future__"}


def test_every_imported_distribution_is_declared() -> None:
    declared = {
        _normal(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0])
        for spec in tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    }
    owners = packages_distributions()
    needed = {module: {_normal(d) for d in owners.get(module, [module])} for module in imported_modules()}
    assert {"rich", "requests", "yaml", "pydantic_core"} <= set(needed)  # the walk sees function-level imports
    missing = {module: dists for module, dists in needed.items() if not dists & declared}
    assert missing == {}
