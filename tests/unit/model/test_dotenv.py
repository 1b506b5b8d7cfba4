from __future__ import annotations

from pathlib import Path

import pytest

from pipex.model import load_dotenv, parse_dotenv


def test_the_documented_syntax() -> None:
    text = (
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=1\n"
        "  SPACED  =  trimmed value  \n"
        "EMPTY=\n"
        "HASH=before#after\n"
        "SINGLE='keep \\n and ${HOME}'\n"
        'DOUBLE="line1\\nline2\\rend"\n'
        'BACKTICK=`it\'s "both"`\n'
        'MULTI="first\n'
        'second"\n'
        "NOEXPAND=${HOME}/x\n"
        "dotted.name-1=ok\n"
        "PLAIN=last wins\n"
        "COMMENTED='v' # trailing comment\n"
    )
    assert parse_dotenv(text) == {
        "PLAIN": "last wins",
        "EXPORTED": "1",
        "SPACED": "trimmed value",
        "EMPTY": "",
        "HASH": "before",
        "SINGLE": "keep \\n and ${HOME}",
        "DOUBLE": "line1\nline2\rend",
        "BACKTICK": 'it\'s "both"',
        "MULTI": "first\nsecond",
        "NOEXPAND": "${HOME}/x",
        "dotted.name-1": "ok",
        "COMMENTED": "v",
    }


def test_crlf_bom_and_a_key_named_export() -> None:
    assert parse_dotenv("\ufeffA=1\r\nexport = 2\r\n") == {"A": "1", "export": "2"}


def test_escaped_quote_does_not_close_the_value() -> None:
    assert parse_dotenv('A="say \\"hi\\""\n') == {"A": 'say \\"hi\\"'}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nnot a pair\n", 'line 2: expected KEY=VALUE, got "not a pair"'),
        ("A\n", 'line 1: expected KEY=VALUE, got "A"'),
        ("=1\n", 'line 1: expected KEY=VALUE, got "=1"'),
        ('A=1\nB="open\nC=2\n', 'line 2: unterminated " quote: the value never ends'),
        ("A='x' y\n", 'line 1: unexpected text after the closing \': "y"'),
        ('A="a\nb" junk\n', 'line 2: unexpected text after the closing ": "junk"'),
        ('A="a\nb"\nbad\n', 'line 3: expected KEY=VALUE, got "bad"'),
    ],
)
def test_syntax_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_dotenv(text)
    assert str(info.value) == message


def test_load_dotenv_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.env"
    good.write_text("A=1\n", encoding="utf-8")
    assert load_dotenv(good) == {"A": "1"}
    bad = tmp_path / "bad.env"
    bad.write_text("oops\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_dotenv(bad)
    assert str(info.value) == f'env file {bad}, line 1: expected KEY=VALUE, got "oops"'
    with pytest.raises(ValueError) as info:
        load_dotenv(tmp_path / "missing.env")
    assert str(info.value) == f"env file {tmp_path / 'missing.env'} not found"
