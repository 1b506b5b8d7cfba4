"""Imports inside functions are the exception: each says why (start-up time, or a loop inside a package).

The layers themselves are import-linter's contracts in pyproject.toml (``make lint``); this checks what they
cannot: that a function-level import was left there on purpose. The commands in ``pipex/cli/commands/`` import
what they need in their own bodies, so that ``pipex X`` pays only for X: each such group says so too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pipex

PACKAGE = Path(pipex.__file__).parent
EXEMPT = PACKAGE / "__no_exemption__"  # every package, commands included
IMPORT = ("from ", "import ")


def unexplained(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            first = node.lineno - 1
            while first > 0 and (not lines[first - 1].strip() or lines[first - 1].lstrip().startswith(IMPORT)):
                first -= 1  # the group of imports this one belongs to (blank lines included)
            if not any("#" in line for line in lines[first - 1 : node.end_lineno or node.lineno]):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_every_import_inside_a_function_says_why() -> None:
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if EXEMPT not in p.parents]
    assert [where for path in files for where in unexplained(path)] == []
