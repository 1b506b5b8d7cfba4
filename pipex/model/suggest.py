"""Did-you-mean suggestions for unknown names (fields, step ids, kits)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word``, or ``None`` when nothing is close enough.

    A case-insensitive or separator-insensitive match wins outright (``timeout_sec`` → ``timeoutSec``);
    otherwise difflib's ratio decides, with its usual 0.6 cutoff.
    """
    options = list(dict.fromkeys(choices))
    if not options:
        return None
    folded = _fold(word)
    for option in options:
        if _fold(option) == folded:
            return option
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return close[0]
    lowered = {option.lower(): option for option in options}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _fold(word: str) -> str:
    return word.lower().replace("_", "").replace("-", "")
