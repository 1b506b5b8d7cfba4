from __future__ import annotations

import pytest

from pipex.model.suggest import did_you_mean

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
