"""The ``pipex`` console entry point.

``pipex --version`` is answered before typer (≈0.1 s to import) is loaded, so it stays fast; every other
invocation goes through the typer app of ``pipex.cli.app``, which is also importable from here as ``app``.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipex.cli.version import version

if TYPE_CHECKING:
    from pipex.runtime.base import Runtime

# Start-up creates some 300,000 objects (typer and its pydantic adapters, the pipeline model, asyncio) that live
# until exit; with the default threshold of 700 the collector walks them over a hundred times for nothing (~40 ms
# of a fully cached run, measured with gc.callbacks). A high first threshold keeps cycles collected in long runs.
GC_THRESHOLDS = (100_000, 20, 20)


def main(argv: Sequence[str] | None = None, *, runtime: Runtime | None = None) -> None:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and exit with its exit code. ``runtime``: the runtime
    every command uses instead of a real engine (a program running pipex in-process; tests: the FakeRuntime)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        # Same output as the typer path (the --version callback); checked by a test.
        sys.stdout.write(f"pipex {version()}\n")
        sys.exit(0)
    gc.set_threshold(*GC_THRESHOLDS)
    # pydantic scans every installed distribution's entry points for plugins when the first model is built
    # (~15 ms); the CLI's own models need none. A user who sets the variable keeps their value.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    # start-up: typer (~0.1 s) is not imported for `pipex --version`
    from pipex.cli.app import app_for
    from pipex.cli.options import GlobalOptions

    try:
        injected = {} if runtime is None else {"obj": GlobalOptions(runtime_object=runtime)}
        app_for(args)(args=args, prog_name="pipex", **injected)
    finally:
        # The interpreter's exit runs a full collection over every object left (~60 ms after a cached run of
        # 100 steps, a sixth of it). The process is ending: the OS frees the memory. Every file pipex writes
        # is closed explicitly, and atexit handlers still run.
        gc.freeze()


def __getattr__(name: str) -> Any:
    # `from pipex.cli.main import app` works without making `pipex --version` import typer.
    if name == "app":
        from pipex.cli.app import app  # start-up: see above

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
