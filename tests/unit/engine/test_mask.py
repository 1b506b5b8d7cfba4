"""The streaming masker: every whole occurrence of a secret value masked, however the bytes arrive."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pipex.engine.mask import Masker


def feed_all(masker: Masker, chunks: list[bytes]) -> bytes:
    stream = masker.stream()
    return b"".join(stream.feed(chunk) for chunk in chunks) + stream.flush()


def splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(c, 0), len(data)) for c in cuts})
    out, last = [], 0
    for point in points:
        out.append(data[last:point])
        last = point
    out.append(data[last:])
    return out


def test_a_value_split_at_every_boundary_is_masked() -> None:
    value = b"s3cr3t-T0KEN"
    data = b"before " + value + b" after\n"
    for cut in range(len(data) + 1):
        assert feed_all(Masker([value]), [data[:cut], data[cut:]]) == b"before *** after\n"


def test_a_value_split_byte_by_byte() -> None:
    data = b"x=hunter22;y=hunter22\n"
    assert feed_all(Masker(["hunter22"]), [bytes([b]) for b in data]) == b"x=***;y=***\n"


def test_repeated_and_adjacent_values() -> None:
    assert feed_all(Masker(["abcd"]), [b"abcdabcdab", b"cd abcd"]) == b"********* ***"


def test_a_complete_value_is_never_split_by_the_hold() -> None:
    # "12ab" is whole in the chunk; "ab" could begin "abzz": the cut must not fall inside "12ab".
    assert feed_all(Masker(["12ab", "abzz"]), [b"x12ab", b"q\n"]) == b"x***q\n"


def test_overlapping_values_reveal_neither() -> None:
    values = [b"abcdef", b"defghi"]
    out = feed_all(Masker(values), [b"xxabcdefghixx"])
    assert b"abcdef" not in out and b"defghi" not in out
    out = feed_all(Masker(values), [b"xxabcd", b"efghixx"])
    assert b"abcdef" not in out and b"defghi" not in out


def test_a_value_that_is_a_prefix_of_another() -> None:
    out = feed_all(Masker(["pass", "password1"]), [b"my passwor", b"d1 and pass\n"])
    assert out == b"my *** and ***\n"


def test_multibyte_utf8_value_split_inside_a_character() -> None:
    value = "mot-de-passe-é☃𝄞".encode()
    data = b"[" + value + b"]"
    for cut in range(len(data) + 1):
        assert feed_all(Masker([value.decode()]), [data[:cut], data[cut:]]) == b"[***]"


def test_binary_output_and_a_binary_value() -> None:
    noise = bytes(range(256)) * 4
    value = b"\x00\xffKEY\x80\x81"
    data = noise + value + noise
    assert feed_all(Masker([value]), splits(data, [1000, 1027, 1029])) == noise + b"***" + noise


def test_short_values_are_not_masked() -> None:
    assert feed_all(Masker(["abc"]), [b"abc abc"]) == b"abc abc"
    assert not Masker(["abc", ""])


def test_a_chunk_ending_in_a_newline_holds_nothing_back() -> None:
    stream = Masker(["secretvalue"]).stream()
    assert stream.feed(b"line one\n") == b"line one\n"
    assert stream.feed(b"ends with sec") == b"ends with "  # the start of the value waits
    assert stream.feed(b"ond\n") == b"second\n"


def test_held_back_bytes_are_at_most_the_longest_value_minus_one() -> None:
    value = b"0123456789"
    stream = Masker([value]).stream()
    out = stream.feed(b"abc" + value[:9])
    assert out == b"abc" and len(stream.held) == 9


def test_text_messages_are_masked() -> None:
    assert Masker(["hunter22"]).text("engine said: bad env X=hunter22") == "engine said: bad env X=***"


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.binary(min_size=4, max_size=12), min_size=1, max_size=3),
    filler=st.lists(st.binary(max_size=8), min_size=1, max_size=6),
    seed=st.integers(0, 2**32),
)
def test_no_value_survives_any_chunking(values: list[bytes], filler: list[bytes], seed: int) -> None:
    rnd = random.Random(seed)
    parts = []
    for piece in filler:
        parts += [piece, rnd.choice(values)]
    data = b"".join(parts)
    cuts = [rnd.randrange(len(data) + 1) for _ in range(rnd.randrange(6))]
    masker = Masker(values)
    out = feed_all(masker, splits(data, cuts))
    for value in values:
        if b"*" not in value:  # a value made of the mask itself can appear from two masks side by side
            assert value not in out


def test_each_line_of_a_multi_line_secret_is_masked_on_its_own() -> None:
    from pipex.engine.secrets import resolve
    from pipex.model.spec import SecretSpec, StepSpec

    spec = StepSpec("a", "a", "img", ("x",), secrets=(SecretSpec("KEY", "env", "KEY", "env:KEY"),))
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END KEY-----\n"
    masker = resolve([spec], {}, {"KEY": key}, engine_store=False).masker
    stream = masker.stream()
    out = stream.feed(b"second line only: kqhkiG9w0BAQEF\n" + key.encode()) + stream.flush()
    assert out == b"second line only: ***\n***\n"
