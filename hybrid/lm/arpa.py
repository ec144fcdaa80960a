"""ARPA back-off language models: reading, writing and querying.

An :class:`ArpaLM` holds, for each order n (1-based), a dict from the n-gram (a tuple
of words) to ``(log10_prob, log10_backoff)``; the back-off is ``None`` when absent.
"""

from __future__ import annotations

import gzip
import math
import os
import re
from dataclasses import dataclass, field

from hybrid.io.atomic import atomic_write
from hybrid.io.symbols import FormatError

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


@dataclass
class ArpaLM:
    """A back-off n-gram model; ``ngrams[n-1][words] = (log10 p, log10 backoff | None)``."""

    ngrams: list[dict[tuple[str, ...], tuple[float, float | None]]] = field(default_factory=list)

    @property
    def order(self) -> int:
        return len(self.ngrams)

    def vocab(self) -> list[str]:
        return [w[0] for w in self.ngrams[0]] if self.ngrams else []

    def log10_prob(self, word: str, history: tuple[str, ...] | list[str]) -> float:
        """log10 p(word | history) by the standard back-off recursion (history oldest first)."""
        history = tuple(history)[-(self.order - 1):] if self.order > 1 else ()
        backoff = 0.0
        while True:
            ng = history + (word,)
            entry = self.ngrams[len(ng) - 1].get(ng)
            if entry is not None:
                return backoff + entry[0]
            if not history:
                raise KeyError(f"word {word!r} not in the LM vocabulary")
            h = self.ngrams[len(history) - 1].get(history)
            if h is not None and h[1] is not None:
                backoff += h[1]
            history = history[1:]


def _open_text(path: str | os.PathLike):
    """Open plain or gzipped ``path`` in binary mode (lines are decoded one by one, so that a
    non-UTF-8 line can be named)."""
    path = str(path)
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


_NGRAM_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")


def read_arpa(path: str | os.PathLike) -> ArpaLM:
    """Read an ARPA file (plain or gzipped). Raises :class:`FormatError` naming the line.

    Text before ``\\data\\`` is ignored (as Kaldi does); the n-gram counts declared in
    ``\\data\\`` are checked against the sections.
    """
    counts: dict[int, int] = {}
    lm = ArpaLM()
    state = "preamble"
    cur = 0
    with _open_text(path) as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                if state == "preamble":  # ignored text
                    continue
                raise FormatError(f"{where}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            if state == "preamble":
                if line == "\\data\\":
                    state = "data"
                continue
            if not line:
                continue
            if state == "data":
                m = _NGRAM_COUNT.match(line)
                if m:
                    n, c = int(m.group(1)), int(m.group(2))
                    if n in counts or n != len(counts) + 1:
                        raise FormatError(f"{where}: unexpected n-gram order {n} in \\data\\ section")
                    counts[n] = c
                    continue
                state = "sections"
                if not counts:
                    raise FormatError(f"{where}: \\data\\ section declares no n-gram counts")
                lm.ngrams = [dict() for _ in counts]
            if line == "\\end\\":
                state = "end"
                break
            m = _SECTION.match(line)
            if m:
                n = int(m.group(1))
                if n != cur + 1 or n not in counts:
                    raise FormatError(f"{where}: unexpected section {line!r}")
                if cur and len(lm.ngrams[cur - 1]) != counts[cur]:
                    raise FormatError(f"{where}: {cur}-grams: \\data\\ says {counts[cur]}, "
                                      f"found {len(lm.ngrams[cur - 1])}")
                cur = n
                continue
            if cur == 0:
                raise FormatError(f"{where}: expected a \\1-grams: section, got {line!r}")
            parts = line.split()
            if len(parts) not in (cur + 1, cur + 2):
                raise FormatError(f"{where}: expected {cur + 1} or {cur + 2} fields for a {cur}-gram, "
                                  f"got {len(parts)}: {line!r}")
            try:
                logp = float(parts[0])
                bo = float(parts[cur + 1]) if len(parts) == cur + 2 else None
            except ValueError:
                raise FormatError(f"{where}: bad number in {line!r}") from None
            if not math.isfinite(logp) or (bo is not None and not math.isfinite(bo)):
                raise FormatError(f"{where}: non-finite number in {line!r}")
            words = tuple(parts[1:cur + 1])
            if words in lm.ngrams[cur - 1]:
                raise FormatError(f"{where}: duplicate {cur}-gram {' '.join(words)!r}")
            lm.ngrams[cur - 1][words] = (logp, bo)
    if state != "end":
        marker = "\\data\\" if state == "preamble" else "\\end\\"
        raise FormatError(f"{path}: missing {marker} marker")
    if cur != len(counts):
        raise FormatError(f"{path}: \\data\\ declares {len(counts)} orders, found sections up to {cur}")
    if len(lm.ngrams[cur - 1]) != counts[cur]:
        raise FormatError(f"{path}: {cur}-grams: \\data\\ says {counts[cur]}, found {len(lm.ngrams[cur - 1])}")
    return lm


def _fmt(x: float) -> str:
    return f"{x:.7g}"


def write_arpa(lm: ArpaLM, path: str | os.PathLike) -> None:
    """Write ``lm`` in ARPA format (gzipped when ``path`` ends in .gz), atomically.

    N-grams are written sorted; back-offs are written for every n-gram that has one.
    """
    lines = ["", "\\data\\"]
    for n, grams in enumerate(lm.ngrams, 1):
        lines.append(f"ngram {n}={len(grams)}")
    for n, grams in enumerate(lm.ngrams, 1):
        lines.append("")
        lines.append(f"\\{n}-grams:")
        for words in sorted(grams):
            logp, bo = grams[words]
            s = f"{_fmt(logp)}\t{' '.join(words)}"
            if bo is not None:
                s += f"\t{_fmt(bo)}"
            lines.append(s)
    lines += ["", "\\end\\", ""]
    text = "\n".join(lines)
    if str(path).endswith(".gz"):
        with atomic_write(path, "wb") as f:
            f.write(gzip.compress(text.encode("utf-8")))
    else:
        with atomic_write(path) as f:
            f.write(text)
