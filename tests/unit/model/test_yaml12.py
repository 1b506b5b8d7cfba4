from __future__ import annotations

import math

import pytest

from pipex.model.handwritten.yaml12 import SyntaxProblems, load_json, load_yaml
from pipex.model.handwritten.yaml_plain import NotPlain, load_plain


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("~", None),
        ("null", None),
        ("", None),
        ("010", 10),
        ("0o17", 15),
        ("0x1F", 31),
        ("-12", -12),
        ("+3", 3),
        ("1_000", "1_000"),
        ("0b11", "0b11"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.5", -0.5),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("2024-01-01", "2024-01-01"),
        ("12:30", "12:30"),
        ("3.10", 3.1),
        ('"true"', "true"),
        ("'010'", "010"),
        ("!!str 12", "12"),
        ("!!int '12'", 12),
        ("!!float 1", 1.0),
        ("! 12", "12"),
        ("<<", "<<"),
    ],
)
def test_yaml_1_2_core_schema_scalars(text: str, value: object) -> None:
    assert load_yaml(f"k: {text}\n") == {"k": value}


def test_nan() -> None:
    assert math.isnan(load_yaml("k: .nan\n")["k"])


def test_empty_and_comment_only_documents_are_none() -> None:
    assert load_yaml("") is None
    assert load_yaml("# nothing\n") is None


def test_one_explicit_document_is_fine() -> None:
    assert load_yaml("---\na: 1\n...\n") == {"a": 1}


def test_duplicate_keys_are_all_reported_with_lines() -> None:
    with pytest.raises(SyntaxProblems) as info:
        load_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert [str(p) for p in info.value.problems] == [
        'line 4, column 3: duplicate key "c" (first defined at line 3)',
        'line 5, column 1: duplicate key "a" (first defined at line 1)',
    ]


def test_a_second_document_is_an_error() -> None:
    with pytest.raises(SyntaxProblems) as info:
        load_yaml("a: 1\n---\nb: 2\n")
    assert str(info.value) == (
        "line 2, column 1: invalid YAML: a pipeline file holds exactly one YAML document; found a second one (---)"
    )


def test_merge_keys_explicit_keys_win_then_earlier_merges() -> None:
    text = (
        "base: &b {image: alpine, cmd: [a]}\nmore: &m {image: debian, retries: 2}\nstep:\n  <<: [*b, *m]\n  cmd: [b]\n"
    )
    assert load_yaml(text)["step"] == {"image": "alpine", "retries": 2, "cmd": ["b"]}


def test_aliases_share_values() -> None:
    data = load_yaml("a: &x [1, 2]\nb: *x\n")
    assert data == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: *nope\n", "line 1, column 4: invalid YAML: unknown alias *nope (no &nope before it)"),
        ("a: &x [*x]\n", "line 1, column 8: invalid YAML: alias *x refers to a collection that contains it"),
        ("a: !Ref x\n", "line 1, column 4: invalid YAML: unsupported tag !Ref"),
        ("a: !!int x\n", "line 1, column 4: invalid YAML: 'x' is not a valid int"),
        (
            "? [a]\n: 1\n",
            "line 1, column 5: invalid YAML: a mapping key must be a plain value, not a list or a mapping",
        ),
        ("a: <<: 1\n", "line 1, column 6: invalid YAML: mapping values are not allowed in this context"),
        ("a: {<<: 1}\n", "line 1, column 9: invalid YAML: a merge (<<) takes a mapping or a list of mappings"),
    ],
)
def test_yaml_errors(text: str, message: str) -> None:
    with pytest.raises(SyntaxProblems) as info:
        load_yaml(text)
    assert str(info.value) == message


def test_json_duplicate_keys_and_syntax() -> None:
    with pytest.raises(SyntaxProblems) as info:
        load_json('{"a": 1, "b": {"c": 1, "c": 2}, "a": 2}')
    assert [str(p) for p in info.value.problems] == [
        'duplicate key "c" in a JSON object',
        'duplicate key "a" in a JSON object',
    ]
    with pytest.raises(SyntaxProblems, match=r"line 1, column 7: invalid JSON: Expecting value"):
        load_json('{"a": }')
    assert load_json('{"a": [1, true, null]}') == {"a": [1, True, None]}


PLAIN_DOCUMENTS = [
    "",
    "a: 1\n",
    "- 1\n- [a, {b: ~}]\n",
    "plain scalar\n",
    "id: p\nsteps:\n  - {id: a, cmd: [sh, -c, 'echo 1'], env: {N: 010, F: 1.5e3, T: true, S: 'yes'}}\n  - id: b\n"
    '    inputs: [{step: a, optional: false}]\n    if: env.X == "1"\n    timeoutSec: .inf\n',
    "k: -c\nl: '<<'\nm: 0x1F\nn: 0o17\no: -.5\np:\nq: [~, Null, FALSE, +3, 12:30, 2024-01-01]\n",
    "? complex plain key\n: value\n1: one\nnull: two\n",
    "---\na: 1\n...\n",
]


@pytest.mark.parametrize("text", PLAIN_DOCUMENTS)
def test_plain_documents_take_the_fast_path_with_the_same_data(text: str) -> None:
    from pipex.model.handwritten.yaml12 import _load_full

    assert load_plain(text) == _load_full(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: !custom 1\n",
        "a: !!map {b: 1}\n",
        "base: {a: 1}\nc:\n  <<: {a: 2}\n",
        "a: 1\na: 2\n",
        "? [a]\n: 1\n",
        "a: 1\n---\nb: 2\n",
    ],
)
def test_anything_else_goes_to_the_full_builder(text: str) -> None:
    with pytest.raises(NotPlain):
        load_plain(text)


def test_a_duplicate_after_a_large_plain_part_still_says_where_the_first_was() -> None:
    text = "".join(f"k{n}: {n}\n" for n in range(500)) + "k7: again\n"
    with pytest.raises(SyntaxProblems) as info:
        load_yaml(text)
    assert str(info.value) == 'line 501, column 1: duplicate key "k7" (first defined at line 8)'


def test_a_syntax_error_on_the_fast_path_is_reported_as_before() -> None:
    with pytest.raises(SyntaxProblems) as info:
        load_yaml("a: [1, 2\nb: 3\n")
    assert (
        str(info.value)
        == "line 2, column 2: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence)"
    )
