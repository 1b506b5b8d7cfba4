"""Every file in invalid/ fails to load with exactly the problems its ``.expected`` sibling lists, in order.

``{root}`` in an expected line is the project directory the pipeline is loaded from; ``{outside}`` a directory
next to it (see ``corpus.make_project``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.model.corpus import CORPUS, corpus_messages, expected_messages

CASES = sorted(path for path in CORPUS.iterdir() if path.suffix in (".yaml", ".json"))


def test_the_corpus_is_large_and_complete() -> None:
    assert len(CASES) >= 60
    missing = [case.name for case in CASES if not case.with_suffix(".expected").is_file()]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_invalid_pipeline_reports_exact_problems(case: Path, tmp_path: Path) -> None:
    assert corpus_messages(case, tmp_path) == expected_messages(case, tmp_path)


def test_several_problems_are_all_reported_in_file_order(tmp_path: Path) -> None:
    messages = corpus_messages(CORPUS / "many-problems.yaml", tmp_path)
    assert len(messages) == 9
    assert messages[0] == '"nmae" is not a pipeline field; did you mean "name"?'
    assert [m.split(":", 1)[0] for m in messages[1:]] == [
        "steps[0].retries",
        "steps[1]",
        "steps[1].id",
        "steps[2].uses",
        "steps[2].inputs[0].step",
        "steps[2].mounts[0].host",
        "steps[2].mounts[0].container",
        "steps[2].allowFailure",
    ]
