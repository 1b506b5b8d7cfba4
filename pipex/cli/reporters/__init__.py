"""Reporters: how a run's events reach the user.

``make_reporter`` picks one from the global options and the terminal:

* ``--json`` → ``JsonReporter``: one JSON object per event on stdout, nothing else on stdout;
* ``-q`` → ``QuietReporter``: only the failure summary and the final line, on stderr;
* stderr is a terminal (and ``TERM`` is not ``dumb``) → ``LiveReporter``: the ``rich`` live view on stderr;
* otherwise → ``PlainReporter``: one line per event on stderr, no colour, no cursor movement.

Usage (the caller owns the event loop)::

    reporter = make_reporter(json=opts.json, stream_err=sys.stderr, stream_out=sys.stdout, color=color,
                             verbose=verbose, quiet=opts.quiet, workspace=ws)
    try:
        async for event in engine.run(...):
            reporter.handle(event)
    finally:
        reporter.close()  # restores the terminal even when the run raised
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from pipex.cli.reporters.base import Reporter, human_duration, human_size
from pipex.cli.reporters.jsonl import JsonReporter
from pipex.cli.reporters.plain import PlainReporter
from pipex.cli.reporters.summary import QuietReporter

_DUMB_TERMS = ("dumb", "unknown")


def is_terminal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` is a terminal that can move its cursor (a live view works there)."""
    isatty = getattr(stream, "isatty", None)
    term = (os.environ if environ is None else environ).get("TERM", "")
    return bool(isatty and isatty()) and term.lower() not in _DUMB_TERMS


def make_reporter(
    *,
    json: bool,
    stream_err: TextIO,
    stream_out: TextIO,
    tty: bool | None = None,
    color: bool,
    verbose: bool,
    quiet: bool,
    workspace: str,
    environ: Mapping[str, str] | None = None,
) -> Reporter:
    """The reporter for these options; ``tty=None`` asks ``stream_err`` (and ``TERM``) whether it is a terminal."""
    if json:
        return JsonReporter(stream_out)
    if tty is None:
        tty = is_terminal(stream_err, environ)
    if quiet:
        return QuietReporter(stream_err, workspace=workspace, color=color and tty)
    if not tty:
        return PlainReporter(stream_err, verbose=verbose, workspace=workspace)
    # start-up: rich (~30 ms) only for the live view on a terminal
    from rich.console import Console

    from pipex.cli.reporters.live import LiveReporter

    console = Console(
        file=stream_err,
        force_terminal=True,
        force_interactive=True,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        _environ=_live_environ(environ),
    )
    return LiveReporter(console, verbose=verbose, workspace=workspace)


def _live_environ(environ: Mapping[str, str] | None) -> dict[str, str]:
    # The caller decided this is a terminal: rich must not second-guess it from TERM (it skips drawing on "dumb").
    env = dict(os.environ if environ is None else environ)
    if env.get("TERM", "").lower() in (*_DUMB_TERMS, ""):
        env["TERM"] = "xterm"
    return env


__all__ = [
    "JsonReporter",
    "PlainReporter",
    "QuietReporter",
    "Reporter",
    "human_duration",
    "human_size",
    "is_terminal",
    "make_reporter",
]
