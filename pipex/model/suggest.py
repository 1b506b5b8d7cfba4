"""Did-you-mean suggestions for unknown names (fields, step ids, kits).

``did_you_mean`` answers one question against a handful of choices. ``Suggester`` answers many questions
against one large set (unknown input steps among 20,000 step ids): difflib compares the word with every
choice, so N misspelled inputs among N steps cost N² comparisons — 22 s for 3,000. The suggester finds the
exact and case/separator-insensitive matches through a dict (always), keeps to the choices whose length can
reach difflib's 0.6 ratio, and stops fuzzy searching once a budget of comparisons is spent: the later unknown
names then get no suggestion, which only happens in files with hundreds of misspellings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's usual cutoff
# Fuzzy comparisons one Suggester makes in all (~1 µs each): bounded work whatever the number of problems.
COMPARISON_BUDGET = 400_000


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
    return _closest(word, options)


class Suggester:
    """``did_you_mean`` for many words against the same choices, in bounded total time."""

    def __init__(self, choices: Iterable[str], *, budget: int = COMPARISON_BUDGET) -> None:
        self._folded: dict[str, str] = {}
        self._by_length: dict[int, list[str]] = {}
        for option in dict.fromkeys(choices):
            self._folded.setdefault(_fold(option), option)
            self._by_length.setdefault(len(option), []).append(option)
        self._budget = budget

    def suggest(self, word: str) -> str | None:
        exact = self._folded.get(_fold(word))
        if exact is not None or self._budget <= 0:
            return exact
        # ratio = 2·matches / (len(a) + len(b)) ≥ 0.6 needs the shorter one at least 3/7 of the longer.
        size = len(word)
        options = [
            option
            for length, group in self._by_length.items()
            if 3 * max(length, size) <= 7 * min(length, size)
            for option in group
        ]
        self._budget -= len(options)
        return _closest(word, options) if options else None


def _closest(word: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(word, options, n=1, cutoff=CUTOFF)
    if close:
        return close[0]
    lowered = {option.lower(): option for option in options}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=CUTOFF)
    return lowered[close[0]] if close else None


def _fold(word: str) -> str:
    return word.lower().replace("_", "").replace("-", "")
