"""The one place that turns exceptions into ``error:``/``hint:`` lines on stderr and an exit code.

Exit codes: 0 success · 1 the pipeline or step failed (and internal errors) · 2 usage or validation error ·
3 engine unavailable · 4 workspace in use · 130 interrupted. The code comes from the exception
(``PipexError.exit_code``, see ``pipex.errors``); commands never pick one themselves.

Format (stable; scripts may grep it)::

    error: <what went wrong>
    hint: <how to fix it>                              (only when there is a hint)

An invalid pipeline prints one ``error:`` line per problem, in file order, then the hint::

    error: pipeline.yml: steps[1].inputs[0].step: unknown step "extrct"; did you mean "extract"?
    error: pipeline.yml: steps[2].timeoutSec: must be greater than 0
    hint: fix the problems above; run `pipex validate`

i.e. ``error: <file>: <location>: <message>[; <problem hint>]`` (the file is relative to the current
directory when inside it; ``<file>: `` is left out when unknown, ``<location>: `` when empty). Only the
first 50 problems are printed, then ``error: … and N more problems``.

Unknown exceptions are bugs: ``error: internal error: <Type>: <text>`` plus a hint, exit 1. ``PIPEX_DEBUG=1``
prints the traceback before the ``error:`` lines, for every error.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

import typer

from pipex.config import debug_enabled
from pipex.errors import PipelineError, PipexWarning, Problem, report

BROKEN_PIPE_EXIT_CODE = 141
USAGE_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130
# A file with 300,000 problems must not print 300,000 lines: the first ones say what is wrong, then a count.
MAX_PRINTED_PROBLEMS = 50

_RED = "\x1b[1;31m"
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"


def _click() -> ModuleType:
    """click's exceptions module: vendored as ``typer._click`` by typer>=0.22, a separate package before."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ModuleNotFoundError:  # typer<0.22 depends on click itself
        return importlib.import_module("click.exceptions")


def is_exit(exc: BaseException) -> bool:
    """``SystemExit`` or ``typer.Exit``: a requested exit, not an error."""
    return isinstance(exc, (SystemExit, typer.Exit))


def is_click_error(exc: BaseException) -> bool:
    """A usage error (or other click error) or an abort: ``handle`` prints these too."""
    click = _click()
    return isinstance(exc, (click.ClickException, typer.Abort))


def handle(
    exc: BaseException,
    *,
    stream: TextIO,
    color: bool = False,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Print ``exc`` for the user on ``stream`` and return the process exit code."""
    if isinstance(exc, BrokenPipeError):
        # `pipex … | head` closed our stdout: not a failure of pipex. Quiet, and no second error when Python
        # flushes stdout at exit; 141 = 128 + SIGPIPE, as a shell reports it.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_EXIT_CODE
    if debug_enabled(environ):
        stream.write("".join(traceback.format_exception(exc)))
    code, lines, hint = describe(exc)
    for line in lines:
        stream.write(_label("error:", _RED, color) + " " + line + "\n")
    if hint:
        stream.write(_label("hint:", _YELLOW, color) + " " + hint + "\n")
    stream.flush()
    return code


@contextlib.contextmanager
def printed_warnings(stream: TextIO, *, color: bool = False) -> Iterator[None]:
    """Print pipex's own warnings (``PipexWarning``, e.g. an ignored ``.pipex.yml``) as ``warning:`` lines on
    ``stream``, each text once per command; other Python warnings keep their usual handling."""
    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if not issubclass(category, PipexWarning):
                original(message, category, *args, **kwargs)
                return
            stream.write(_label("warning:", _YELLOW, color) + " " + _one_line(str(message)) + "\n")
            stream.flush()

        warnings.showwarning = show
        warnings.simplefilter("default", PipexWarning)
        yield


def describe(exc: BaseException) -> tuple[int, list[str], str | None]:
    """The exit code, the ``error:`` line texts and the hint for ``exc``."""
    click = _click()
    if isinstance(exc, click.UsageError):
        ctx = exc.ctx
        command = ctx.command_path if ctx is not None else "pipex"
        return USAGE_EXIT_CODE, [_suggest(_one_line(exc.format_message()), ctx)], f"see `{command} --help`"
    if isinstance(exc, typer.Abort):
        return INTERRUPTED_EXIT_CODE, ["interrupted"], None
    if isinstance(exc, click.ClickException):
        return int(exc.exit_code), [_one_line(exc.format_message())], None
    found = report(exc)
    if isinstance(exc, PipelineError) and found.problems:
        prefix = f"{display_path(exc.source)}: " if exc.source else ""
        shown = found.problems[:MAX_PRINTED_PROBLEMS]
        lines = [prefix + problem_text(p) for p in shown]
        if len(found.problems) > len(shown):
            lines.append(f"… and {len(found.problems) - len(shown)} more problems")
        return found.exit_code, lines, found.hint
    return found.exit_code, [found.message], found.hint


def problem_text(problem: Problem) -> str:
    """``<location>: <message>[; <hint>]`` — one line, as printed after ``error:``."""
    text = f"{problem.location}: {problem.message}" if problem.location else problem.message
    return f"{text}; {problem.hint}" if problem.hint else text


def display_path(path: str | Path) -> str:
    """``path`` relative to the current directory when it lies inside it, else as given."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return str(candidate.relative_to(Path.cwd()))
        except ValueError:
            return str(candidate)
    return str(candidate)


def _one_line(text: str) -> str:
    return " ".join(text.split())


_NO_SUCH_COMMAND = re.compile(r"^No such command '([^']*)'\.$")


def _suggest(message: str, ctx: Any) -> str:
    """click 8.1 (Debian trixie's) names an unknown command without a suggestion; 8.2 adds one. Say the same
    thing with either, using pipex's own did-you-mean."""
    found = _NO_SUCH_COMMAND.match(message)
    commands = getattr(getattr(ctx, "command", None), "commands", None)
    if found is None or not commands:
        return message
    # start-up: only a mistyped command needs the suggestions
    from pipex.model.suggest import did_you_mean

    guess = did_you_mean(found.group(1), sorted(commands))
    return f"{message} Did you mean '{guess}'?" if guess else message


def _label(text: str, ansi: str, color: bool) -> str:
    return f"{ansi}{text}{_RESET}" if color else text
