"""Step outputs: the small ``key=value`` results a container writes to ``$PIPEX_OUTPUT``.

The format is GitHub Actions' (``key=value`` lines; ``key<<DELIM`` … ``DELIM`` for a multi-line value). A value
that parses as a JSON list, object, number or boolean is kept as JSON, anything else as the string itself.

The file is written by the container, so it is read as hostile: opened without following a link (a planted
symlink could point at any host file), refused unless it is a regular file (a FIFO would block the reader),
read to at most ``MAX_BYTES`` + 1 bytes (never all of a huge file), decoded strictly, and every line that is not
one of the two forms is an error naming its line number rather than something silently dropped.

Spec: dynamic.md, "Step outputs".
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

MAX_BYTES: Final = 1024 * 1024  # "at most 1 MiB in all"
KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Where the container sees the directory that holds its output file: outside /output, /input and the artifacts.
CONTAINER_DIR: Final = "/pipex"
FILE_NAME: Final = "output"
CONTAINER_PATH: Final = f"{CONTAINER_DIR}/{FILE_NAME}"
HOST_DIR: Final = "step-output"  # in the run dir, beside artifacts/ (never part of the artifacts digest)
_MAX_KEY = 200  # a key is a name, not a value


class OutputError(ValueError):
    """The output file cannot be accepted; the message says why, in the words the step's failure shows."""


def read_file(directory: Path) -> bytes:
    """The bytes of ``directory/output`` (empty when the step wrote none), read as described above."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise OutputError(f"cannot open the $PIPEX_OUTPUT directory: {exc.strerror}") from exc
    try:
        try:
            fd = os.open(FILE_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        except FileNotFoundError:
            return b""
        except OSError as exc:
            if (directory / FILE_NAME).is_symlink():
                raise OutputError("$PIPEX_OUTPUT is a symbolic link; write the outputs to the file itself") from exc
            raise OutputError(f"cannot read $PIPEX_OUTPUT: {exc.strerror}") from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OutputError("$PIPEX_OUTPUT is not a regular file; write key=value lines to it")
            chunks: list[bytes] = []
            size = 0
            while size <= MAX_BYTES:
                chunk = os.read(fd, MAX_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    if size > MAX_BYTES:
        raise OutputError("the step wrote more than 1 MiB to $PIPEX_OUTPUT; keep large results in /output")
    return b"".join(chunks)


def parse(data: bytes) -> dict[str, Any]:
    """``key=value`` / ``key<<DELIM`` lines → {key: value}; the last value of a repeated key wins (as in Actions)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutputError(f"$PIPEX_OUTPUT is not UTF-8 text (byte {exc.start})") from exc
    if "\x00" in text:
        raise OutputError("$PIPEX_OUTPUT holds a NUL byte; write key=value lines")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    found: dict[str, Any] = {}
    n = 0
    while n < len(lines):
        line = lines[n].removesuffix("\r")
        number = n + 1
        n += 1
        if not line.strip():
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc > 0 and (eq < 0 or heredoc < eq):
            key, delimiter = line[:heredoc], line[heredoc + 2 :]
            _check_key(key, number)
            if not delimiter.strip():
                raise OutputError(f"$PIPEX_OUTPUT line {number}: {key}<< needs a delimiter (key<<EOF … EOF)")
            body: list[str] = []
            while n < len(lines) and lines[n].removesuffix("\r") != delimiter:
                body.append(lines[n].removesuffix("\r"))
                n += 1
            if n >= len(lines):
                raise OutputError(f"$PIPEX_OUTPUT line {number}: the value of {key} is not closed by {delimiter!r}")
            n += 1  # the closing delimiter
            found[key] = "\n".join(body)  # a multi-line value is text, never reinterpreted as JSON
            continue
        if eq <= 0:
            shown = line if len(line) <= 40 else line[:40] + "…"
            raise OutputError(f"$PIPEX_OUTPUT line {number}: expected key=value or key<<DELIMITER, got {shown!r}")
        key = line[:eq]
        _check_key(key, number)
        found[key] = value_of(line[eq + 1 :])
    return found


def _check_key(key: str, number: int) -> None:
    if len(key) > _MAX_KEY or not KEY.match(key):
        shown = key if len(key) <= 40 else key[:40] + "…"
        raise OutputError(
            f"$PIPEX_OUTPUT line {number}: {shown!r} is not a valid output name (letters, digits, _ and -, "
            "not starting with a digit or -)"
        )


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON: such a value stays a string


def value_of(text: str) -> Any:
    """A JSON list, object, number or boolean as that value; anything else (``null`` too) as the string."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{-0123456789tf":
        return text
    try:
        value = json.loads(stripped, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than the parser goes
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    if isinstance(value, bool | int | float | list | dict):
        return value
    return text


def check_declared(found: Mapping[str, Any], declared: Sequence[str] | None) -> tuple[str | None, list[str]]:
    """(the failure message when a declared output is missing, the warnings for undeclared ones)."""
    if declared is None:
        return None, []
    missing = [name for name in declared if name not in found]
    failure = None
    if missing:
        names = ", ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        failure = f'declared output{plural} {names} not written (write "{missing[0]}=…" to $PIPEX_OUTPUT)'
    extra = [f"output {name} is not declared in outputs (kept)" for name in found if name not in declared]
    return failure, extra
