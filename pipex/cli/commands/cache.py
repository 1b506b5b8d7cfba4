"""``pipex cache stats|prune|verify``: look after the shared cache store (``cacheStore`` / ``--cache-store``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import plural, print_json
from pipex.errors import UsageError

if TYPE_CHECKING:
    from pipex.store import Store

EPILOG = options.epilog(
    [
        ("pipex cache stats", "entries and size of the store .pipex.yml names"),
        ("pipex cache prune --older-than 30d --max-size 50g", "drop what was not used for a month, then shrink"),
        ("pipex cache verify --cache-store /shared/pipex-cache", "check every byte; remove corrupt entries"),
    ],
    "The store is the directory of --cache-store, else cacheStore: in .pipex.yml (README: Sharing a cache).",
)

StoreOpt = Annotated[
    Path | None,
    typer.Option("--cache-store", metavar="DIR", help="The store (default: cacheStore in .pipex.yml)."),
]
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def entries(n: int) -> str:
    return f"{n} {'entry' if n == 1 else 'entries'}"


def parse_age(text: str) -> float:
    match = _AGE.fullmatch(text.strip().lower())
    if match is None:
        raise UsageError(f'--older-than: "{text}" is not an age', hint='e.g. "30d", "12h", "90m" or seconds')
    return float(match[1]) * _SECONDS[match[2]]


def parse_size(text: str) -> int:
    # start-up: `pipex cache` loads this only when it runs
    from pipex.errors import UsageError
    from pipex.model.limits import memory_size

    size = memory_size(text)
    if size is None:
        raise UsageError(f'--max-size: "{text}" is not a size', hint='e.g. "50g", "500m" or bytes')
    return size


def open_store(opts: options.GlobalOptions, path: Path | None) -> Store:
    # start-up: `pipex cache` loads this only when it runs
    from pipex.errors import StoreError
    from pipex.model.project import configured_cache_store, find_project_config
    from pipex.store import Store

    if path is None:
        config, config_path = find_project_config(Path.cwd())
        path = configured_cache_store(config, config_path)
    if path is None:
        raise StoreError("no cache store", hint="pass --cache-store DIR or set cacheStore: in .pipex.yml")
    if not path.is_dir():
        raise StoreError(f"no cache store at {path}", hint="check the path; a run with it creates it")
    return Store.open(path, create=False)


def stats(
    ctx: typer.Context, cache_store: StoreOpt = None, json: options.Json = False, workdir: options.Workdir = None
) -> None:
    """Entries, blobs and bytes in the store."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex cache` loads this only when it runs
    from datetime import UTC, datetime

    from pipex.cli.reporters.base import human_size
    from pipex.store import maintain

    store = open_store(opts, cache_store)
    got = maintain.stats(store)

    def iso(ts: float | None) -> str | None:
        return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")

    if opts.json:
        print_json(
            {
                "store": str(store.root),
                "entries": got.entries,
                "blobs": got.blobs,
                "bytes": got.bytes,
                "oldest": iso(got.oldest),
                "newest": iso(got.newest),
            }
        )
        return
    typer.echo(f"{store.root}: {entries(got.entries)}, {plural(got.blobs, 'blob')}, {human_size(got.bytes)}")


def prune(
    ctx: typer.Context,
    cache_store: StoreOpt = None,
    max_size: Annotated[
        str | None, typer.Option("--max-size", metavar="SIZE", help="Shrink to SIZE, least recently used first.")
    ] = None,
    older_than: Annotated[
        str | None, typer.Option("--older-than", metavar="AGE", help="Remove entries unused for AGE (30d, 12h).")
    ] = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Remove entries by age and size, then the contents no entry refers to."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex cache` loads this only when it runs
    from pipex.cli.reporters.base import human_size
    from pipex.errors import UsageError
    from pipex.store import maintain

    if max_size is None and older_than is None:
        raise UsageError("cache prune needs --max-size or --older-than", hint="e.g. pipex cache prune --older-than 30d")
    size = None if max_size is None else parse_size(max_size)
    age = None if older_than is None else parse_age(older_than)
    store = open_store(opts, cache_store)
    done = maintain.prune(store, max_size=size, older_than=age)
    if opts.json:
        print_json({"store": str(store.root), "entries": done.entries, "blobs": done.blobs, "bytes": done.bytes})
    elif not opts.quiet:
        typer.echo(
            f"pruned {entries(done.entries)} and {plural(done.blobs, 'blob')} "
            f"({human_size(done.bytes)}) from {store.root}"
        )


def verify(
    ctx: typer.Context, cache_store: StoreOpt = None, json: options.Json = False, workdir: options.Workdir = None
) -> None:
    """Check every entry and every byte it refers to; remove the corrupt ones (exit 1 when there were any)."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex cache` loads this only when it runs
    from pipex.store import maintain

    store = open_store(opts, cache_store)
    done = maintain.verify(store)
    if opts.json:
        print_json({"store": str(store.root), "entries": done.entries, "blobs": done.blobs, "removed": done.problems})
    else:
        for problem in done.problems:
            typer.echo(f"removed corrupt entry {problem}", err=True)
        if not opts.quiet:
            typer.echo(f"{entries(done.entries)} ok, {len(done.problems)} corrupt removed")
    if done.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Look after the shared cache store.", epilog=EPILOG, no_args_is_help=True)
    group.command(epilog=EPILOG)(stats)
    group.command(epilog=EPILOG)(prune)
    group.command(epilog=EPILOG)(verify)
    app.add_typer(group, name="cache")
