"""The command line before click parses it: global options moved before the command, ``--force``'s list.

click only knows an option where it is declared; podman (and the original pipex, for ``--workdir``/``--json``)
accepts the global options anywhere, so scripts write ``pipex run --runtime docker`` and ``pipex show WS
--workdir D``. Moving them in front of the command keeps one declaration of each (the root callback's) and
gives the same meaning whatever the position: a value given twice keeps the last one, as click does.
"""

from __future__ import annotations

from collections.abc import Sequence

# Global options taking a value, and those that are flags. Commands declare no option of these names but
# --json/--workdir (the same meaning; see options.resolve), so moving them changes nothing but their position.
VALUED_GLOBALS = frozenset({"--workdir", "--runtime", "--host"})
FLAG_GLOBALS = frozenset({"--json", "--quiet", "-q", "--no-color"})

FORCE_ALL = "*"


def hoist_globals(args: Sequence[str]) -> list[str]:
    """``args`` with every global option that follows the command moved before it (order kept).

    Nothing after ``--`` moves. The command is the first word that is neither an option nor a global option's
    value; without one ``args`` is returned unchanged.
    """
    words = list(args)
    start = _command_index(words)
    if start is None:
        return words
    moved: list[str] = []
    rest: list[str] = []
    i = start + 1
    while i < len(words):
        word = words[i]
        if word == "--":
            rest.extend(words[i:])
            break
        name = word.split("=", 1)[0]
        if name in VALUED_GLOBALS and "=" in word:
            moved.append(word)
        elif word in VALUED_GLOBALS and i + 1 < len(words):
            moved += [word, words[i + 1]]
            i += 1
        elif word in FLAG_GLOBALS:
            moved.append(word)
        else:
            rest.append(word)
        i += 1
    return [*words[:start], *moved, words[start], *rest]


def _command_index(words: Sequence[str]) -> int | None:
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return None
        if word in VALUED_GLOBALS:
            i += 2
            continue
        if not word.startswith("-"):
            return i
        i += 1
    return None


def normalize_force(args: Sequence[str]) -> list[str]:
    """``-f/--force`` of ``pipex run`` with its optional list, as the original reads it.

    ``--force=a,b`` stays; ``-f a,b`` / ``--force a,b``: the word after it is the list (the original's form,
    ``pipex run --force step1,step2``); a bare ``-f`` (last, or followed by an option) forces every step. A word
    that is a path rather than a step is caught once the pipeline is known (``commands/run.py``), with a hint
    to write ``pipex run PATH --force``. Only the words after ``run`` change.
    """
    words = list(args)
    start = _command_index(words)
    if start is None or words[start] != "run":
        return words
    out = words[: start + 1]
    i = start + 1
    while i < len(words):
        word = words[i]
        if word == "--":
            out.extend(words[i:])
            break
        if word in ("-f", "--force"):
            value = words[i + 1] if i + 1 < len(words) else None
            if value is not None and value and not value.startswith("-"):
                out.append(f"--force={value}")
                i += 2
                continue
            out.append(f"--force={FORCE_ALL}")
        else:
            out.append(word)
        i += 1
    return out


# exec's options that take a value (the word after them is theirs, never an --input).
_EXEC_VALUED = frozenset({"-f", "--file", "--step", "--input", "--env-file", "--workdir", "--runtime", "--host"})


def spread_inputs(args: Sequence[str]) -> list[str]:
    """``pipex exec WS -f s.yml --input a data=b``: the original's ``--input`` takes several words; each
    becomes its own ``--input``. Only words after the WS argument are taken (before it, a word is WS)."""
    words = list(args)
    start = _command_index(words)
    if start is None or words[start] != "exec":
        return words
    out = words[: start + 1]
    seen_ws = False
    i = start + 1
    while i < len(words):
        word = words[i]
        if word == "--":
            out.extend(words[i:])
            break
        if word == "--input" and i + 1 < len(words):
            out += [word, words[i + 1]]
            i += 2
            while seen_ws and i < len(words) and not words[i].startswith("-"):
                out += ["--input", words[i]]
                i += 1
            continue
        if word in _EXEC_VALUED and i + 1 < len(words):
            out += [word, words[i + 1]]
            i += 2
            continue
        seen_ws = seen_ws or not word.startswith("-")
        out.append(word)
        i += 1
    return out


def prepare(args: Sequence[str]) -> list[str]:
    """What click parses: globals before the command, ``run``'s ``--force`` list made explicit, and ``exec``'s
    ``--input`` words spread."""
    return spread_inputs(normalize_force(hoist_globals(args)))
