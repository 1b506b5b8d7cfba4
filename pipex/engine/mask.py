"""Masking secret values in a byte stream: every occurrence becomes ``***`` before the bytes go anywhere.

A value may arrive split across two reads, so each stream holds back the end of a chunk while it could still be the
start of a value: at most ``len(longest value) - 1`` bytes (more only when values overlap each other), and only when
those bytes are such a start (a chunk that ends in a newline, the common case, holds nothing back, so lines are not
delayed). One value is replaced with
``bytes.replace``; several with one compiled alternation of the escaped values, longest first (measured in
``bench/bench_secrets.py``: both run at C speed; the per-chunk Python work is a handful of ``find`` calls).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipex.model.secret import MASK, MIN_MASKED

MASK_BYTES = MASK.encode()


class Masker:
    """The secret values of one run; ``stream()`` gives a masker for one output stream."""

    def __init__(self, values: Iterable[str | bytes]) -> None:
        raw = {v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for v in values}
        self.values: tuple[bytes, ...] = tuple(sorted((v for v in raw if len(v) >= MIN_MASKED), key=len, reverse=True))
        self.keep = max((len(v) for v in self.values), default=1) - 1
        self.firsts = tuple({v[:1] for v in self.values})
        self._single = self.values[0] if len(self.values) == 1 else None
        self._pattern = re.compile(b"|".join(re.escape(v) for v in self.values)) if len(self.values) > 1 else None
        self._texts = tuple(sorted({v.decode("utf-8", "replace") for v in self.values}, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self.values)

    def replace(self, data: bytes) -> bytes:
        """``data`` with every whole occurrence of a value masked."""
        if self._single is not None:
            return data.replace(self._single, MASK_BYTES)
        if self._pattern is not None:
            return self._pattern.sub(MASK_BYTES, data)
        return data

    def text(self, text: str) -> str:
        """A message (an engine's answer, an error) with every value masked."""
        for value in self._texts:
            text = text.replace(value, MASK)
        return text

    def stream(self) -> StreamMasker:
        return StreamMasker(self)

    def held_from(self, data: bytes) -> int:
        """Where the part of ``data`` that must wait for more bytes starts (``len(data)``: none): the earliest end
        of ``data`` that could begin a longer value, moved back over any whole value that covers the cut (so a
        value is never split between what goes out now and what waits)."""
        size = len(data)
        start = max(0, size - self.keep)
        best = size
        for first in self.firsts:
            at = data.find(first, start)
            while 0 <= at < best:
                tail = data[at:]
                if any(len(v) > len(tail) and v.startswith(tail) for v in self.values):
                    best = at
                    break
                at = data.find(first, at + 1)
        moved = best < size
        while moved:
            moved = False
            for value in self.values:
                at = data.find(value, max(0, best - len(value) + 1), best + len(value) - 1)
                if 0 <= at < best:
                    best, moved = at, True
        return best


class StreamMasker:
    """One stream's masker: ``feed`` returns what may go out now; ``flush`` the rest at the end of the stream."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.held = b""

    def feed(self, data: bytes) -> bytes:
        if self.held:
            data = self.held + data
        cut = self.masker.held_from(data)
        if cut == len(data):
            self.held = b""
            return self.masker.replace(data)
        self.held = data[cut:]  # raw: masked with what follows it
        return self.masker.replace(data[:cut])

    def flush(self) -> bytes:
        """The held-back end, masked: no longer value began there, but a shorter one may lie inside it."""
        out, self.held = self.held, b""
        return self.masker.replace(out)
