"""Kaldi's text serialisation: a whitespace token stream with ``[ ... ]`` vectors/matrices.

Used for ``topo``, text-mode ``.mdl`` and ``tree`` files. Kaldi reads a file in text mode when it
does not begin with ``\\0B``, so these files are readable by Kaldi's own tools.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np


class KaldiTextReader:
    """A cursor over the tokens of a Kaldi text object."""

    def __init__(self, text: str, source: str = "<string>") -> None:
        self.tokens: list[str] = []
        self.lines: list[int] = []  # line number of each token (matrix rows are lines)
        for lineno, line in enumerate(text.splitlines()):
            for tok in line.split():
                self.tokens.append(tok)
                self.lines.append(lineno)
        self.pos = 0
        self.source = source

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "KaldiTextReader":
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"\0B"):
            raise ValueError(f"{path}: binary Kaldi files are not supported; convert with --binary=false")
        return cls(data.decode("utf-8"), str(path))

    def error(self, msg: str) -> ValueError:
        return ValueError(f"{self.source}: token {self.pos}: {msg}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> str:
        if self.pos >= len(self.tokens):
            raise self.error("unexpected end of file")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, token: str) -> None:
        tok = self.next()
        if tok != token:
            raise self.error(f"expected {token!r}, got {tok!r}")

    def maybe(self, token: str) -> bool:
        if self.peek() == token:
            self.pos += 1
            return True
        return False

    def int(self) -> int:
        tok = self.next()
        try:
            return int(tok)
        except ValueError:
            raise self.error(f"expected an integer, got {tok!r}") from None

    def float(self) -> float:
        tok = self.next()
        try:
            return float(tok)
        except ValueError:
            raise self.error(f"expected a number, got {tok!r}") from None

    def vector(self) -> np.ndarray:
        """``[ a b c ]`` → 1-d float64 array."""
        self.expect("[")
        vals = []
        while (tok := self.next()) != "]":
            vals.append(float(tok))
        return np.array(vals, dtype=np.float64)

    def matrix(self) -> np.ndarray:
        """Kaldi text matrix (``[`` then one row per line, ``]`` after the last) → 2-d float64."""
        self.expect("[")
        rows: dict[int, list[float]] = {}
        while (tok := self.next()) != "]":
            rows.setdefault(self.lines[self.pos - 1], []).append(float(tok))
        if not rows:
            return np.zeros((0, 0))
        widths = {len(r) for r in rows.values()}
        if len(widths) != 1:
            raise self.error("matrix rows have different lengths")
        return np.array(list(rows.values()), dtype=np.float64)


def format_vector(v: np.ndarray) -> str:
    """Kaldi text vector: ``[ a b c ]`` with enough digits to round-trip float32."""
    return "[ " + " ".join(_fmt(x) for x in np.asarray(v).ravel()) + " ]"


def format_matrix(m: np.ndarray) -> str:
    """Kaldi text matrix: ``[`` newline, one row per line, ``]`` after the last row."""
    m = np.atleast_2d(np.asarray(m))
    if m.size == 0:
        return "[ ]"
    lines = ["  " + " ".join(_fmt(x) for x in row) for row in m]
    return "[\n" + "\n".join(lines) + " ]"


def _fmt(x: float) -> str:
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.9g}"


def iter_tokens(text: str) -> Iterator[str]:
    yield from text.split()
