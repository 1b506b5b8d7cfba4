"""pipex's version, found without importing anything heavy (``pipex --version`` answers before typer loads)."""

from __future__ import annotations

import pipex


def version() -> str:
    """The package's ``__version__``, else the installed distribution's, else ``unknown``."""
    found = getattr(pipex, "__version__", None)
    if isinstance(found, str):
        return found
    # start-up: importlib.metadata costs ~60 ms, and only a package without __version__ needs it
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pipex")
    except PackageNotFoundError:
        return "unknown"
