"""The ``pipex`` console entry point.

``pipex --version`` is answered before typer (≈0.1 s to import) is loaded, so it stays fast; every other
invocation goes through the typer app of ``pipex.cli.app``, which is also importable from here as ``app``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def version() -> str:
    """pipex's version, without importing anything heavy."""
    import pipex

    found = getattr(pipex, "__version__", None)
    if isinstance(found, str):
        return found
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pipex")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and exit with its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        # Same output as the typer path (the --version callback); checked by a test.
        sys.stdout.write(f"pipex {version()}\n")
        sys.exit(0)
    from pipex.cli.app import app

    app(args=args, prog_name="pipex")


def __getattr__(name: str) -> Any:
    # `from pipex.cli.main import app` works without making `pipex --version` import typer.
    if name == "app":
        from pipex.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
