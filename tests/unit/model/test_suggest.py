from __future__ import annotations

import time

import pytest

from pipex.model.suggest import Suggester, did_you_mean

STEP_FIELDS = ["id", "name", "image", "cmd", "inputs", "timeoutSec", "retryDelayMs", "allowFailure"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("input", "inputs"),
        ("imgae", "image"),
        ("timeout_sec", "timeoutSec"),
        ("TIMEOUTSEC", "timeoutSec"),
        ("retry-delay-ms", "retryDelayMs"),
        ("allowfailure", "allowFailure"),
        ("flavour", None),
        ("", None),
    ],
)
def test_did_you_mean(word: str, expected: str | None) -> None:
    assert did_you_mean(word, STEP_FIELDS) == expected


def test_no_choices_means_no_suggestion() -> None:
    assert did_you_mean("x", []) is None


def test_accepts_any_iterable_and_keeps_the_first_of_equals() -> None:
    assert did_you_mean("biuld", (name for name in ["build", "built"])) == "build"


def test_suggester_answers_like_did_you_mean() -> None:
    suggester = Suggester(STEP_FIELDS)
    for word in ["input", "imgae", "timeout_sec", "TIMEOUTSEC", "retry-delay-ms", "flavour", ""]:
        assert suggester.suggest(word) == did_you_mean(word, STEP_FIELDS)


def test_suggester_stops_fuzzy_search_when_its_budget_is_spent_but_keeps_exact_matches() -> None:
    suggester = Suggester(STEP_FIELDS, budget=1)
    assert suggester.suggest("imgae") == "image"  # spends the whole budget
    assert suggester.suggest("imgae") is None
    assert suggester.suggest("timeout_sec") == "timeoutSec"  # separator-insensitive: a dict lookup


def test_suggester_skips_choices_whose_length_cannot_reach_the_cutoff() -> None:
    # "ab" vs a 10-character id can never reach a 0.6 ratio: not compared, so no budget spent on it.
    suggester = Suggester(["abcdefghij"], budget=1)
    assert suggester.suggest("ab") is None
    assert suggester.suggest("abcdefghix") == "abcdefghij"


def test_many_unknown_names_among_many_choices_stay_fast() -> None:
    ids = [f"step{i}" for i in range(20_000)]
    suggester = Suggester(ids)
    started = time.perf_counter()
    answers = [suggester.suggest(f"step{i}-typo") for i in range(20_000)]
    assert time.perf_counter() - started < 5
    assert answers[0] == "step0"
