from __future__ import annotations

import pytest

from pipex.model import slugify


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        # the spec's examples, verbatim
        ("Étape numéro un", "etape-numero-un"),
        ("build@v2!final", "build-v2-final"),
        ("-hello-", "hello"),
        ("Mon Pipeline", "mon-pipeline"),
        # transliteration of letters NFKD does not decompose
        ("Straße", "strasse"),
        ("Ærø Œuvre", "aero-oeuvre"),
        ("Łódź", "lodz"),
        ("Þór Điện Ðoàn", "thor-dien-doan"),
        ("Øresund", "oresund"),
        ("ĳssel ﬁle", "ijssel-file"),
        # everything else
        ("a__b", "a__b"),
        ("a   b", "a-b"),
        ("--x--", "x"),
        ("---", None),
        ("UPPER_lower-09", "upper_lower-09"),
        ("data (v2).csv", "data-v2-csv"),
        ("日本 step", "step"),
    ],
)
def test_slugify(text: str, slug: str | None) -> None:
    if slug is None:
        with pytest.raises(ValueError, match="cannot make an id from '---'"):
            slugify(text)
    else:
        assert slugify(text) == slug


@pytest.mark.parametrize("text", ["", "!!!", "日本語", "   "])
def test_slugify_empty_result_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="no letters or digits left"):
        slugify(text)


def test_only_one_dash_is_stripped_at_each_end_after_collapsing() -> None:
    assert slugify("--a") == "a"
    assert slugify("_a_") == "_a_"
