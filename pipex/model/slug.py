"""``slugify``: turn a display name into an id, as the pipeline format specifies.

Latin letters that Unicode does not decompose (ß, æ, ø, ł, þ…) are transliterated by a table first; the rest
lose their accents through NFKD. Everything outside ``[a-z0-9_-]`` becomes ``-``.
"""

from __future__ import annotations

import re
import unicodedata

# Letters NFKD leaves alone (no combining-mark decomposition). Upper-case forms are listed too because the
# table is applied before lower-casing (``"Æ".lower()`` would work, but ``"ẞ"`` must become "ss", not "ß").
_TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "ħ": "h",
        "Ħ": "h",
        "ı": "i",
        "ŧ": "t",
        "Ŧ": "t",
        "ŋ": "ng",
        "Ŋ": "ng",
        "ĸ": "k",
        "ſ": "s",
        "ƒ": "f",
        "ə": "e",
        "Ə": "e",
    }
)
_OUTSIDE = re.compile(r"[^a-z0-9_-]")
_DASHES = re.compile(r"-{2,}")


def slugify(text: str) -> str:
    """``"Étape numéro un"`` → ``"etape-numero-un"``; raises ``ValueError`` when nothing usable is left."""
    ascii_ish = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    stripped = "".join(ch for ch in ascii_ish if not unicodedata.combining(ch))
    slug = _DASHES.sub("-", _OUTSIDE.sub("-", stripped.lower()))
    slug = slug.removeprefix("-").removesuffix("-")
    if not slug:
        raise ValueError(f"cannot make an id from {text!r}: no letters or digits left")
    return slug
