"""Words of a data dir's transcripts that the lexicon lacks (``hybrid find-oovs``).

Kaldi maps such words to the lang dir's OOV word (``oov.txt``, e.g. ``<UNK>``) when it turns
``text`` into integers (``utils/sym2int.pl --map-oov``), and says so only as a stream of
``sym2int.pl: replacing X with <UNK>`` lines. :func:`find_oovs` lists them up front: each OOV
word with its count and the utterances that hold it, plus utterances with empty transcripts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from hybrid.data.datadir import iter_entries
from hybrid.io.symbols import FormatError

__all__ = ["OovReport", "read_vocab", "find_oovs", "map_oovs", "format_oov_report"]


@dataclass
class OovReport:
    """What :func:`find_oovs` found; ``counts`` and ``utts`` are keyed by OOV word."""

    text: Path
    vocab: Path
    counts: dict[str, int] = field(default_factory=dict)
    utts: dict[str, list[str]] = field(default_factory=dict)  # utterances in text order, each once
    num_tokens: int = 0
    num_utts: int = 0
    utts_with_oov: int = 0
    empty: list[str] = field(default_factory=list)  # utterances with an empty transcript
    oov_word: str | None = None

    @property
    def num_oov_tokens(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        """OOV tokens per token (0 when there are no tokens)."""
        return self.num_oov_tokens / self.num_tokens if self.num_tokens else 0.0

    def sorted_words(self) -> list[str]:
        """OOV words, most frequent first (ties in C order)."""
        return sorted(self.counts, key=lambda w: (-self.counts[w], w))


def _vocab_file(source: Path) -> tuple[Path, str]:
    """The file holding the vocabulary in ``source`` and its kind (``symbols`` or ``lexicon``)."""
    if source.is_dir():
        for name, kind in (("words.txt", "symbols"), ("lexiconp.txt", "lexicon"), ("lexicon.txt", "lexicon")):
            if (source / name).is_file():
                return source / name, kind
        raise FileNotFoundError(f"{source}: has no words.txt (lang dir) or lexicon.txt/lexiconp.txt (dict dir)")
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file or directory")
    return source, ("symbols" if source.name == "words.txt" else "lexicon")


def read_vocab(source: str | os.PathLike) -> tuple[set[str], Path]:
    """The known words of a lang dir (``words.txt``), a dict dir (``lexicon[p].txt``) or such a file.

    Returns ``(words, file_read)``. Errors (non-UTF-8 bytes, a malformed symbol table line)
    name the file and line.
    """
    path, kind = _vocab_file(Path(source))
    words: set[str] = set()
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            parts = line.split()
            if not parts:
                continue
            if kind == "symbols" and (len(parts) != 2 or not parts[1].isdigit()):
                raise FormatError(f"{path}:{lineno}: expected '<word> <integer>', got {line.rstrip()!r}")
            words.add(parts[0])
    if kind == "symbols":
        words -= {"<eps>", "#0", "<s>", "</s>"}
    return words, path


def _read_oov_word(source: Path) -> str | None:
    f = source / "oov.txt" if source.is_dir() else source.parent / "oov.txt"
    if f.is_file():
        w = f.read_text(encoding="utf-8", errors="replace").split()
        return w[0] if w else None
    return None


def find_oovs(data: str | os.PathLike, vocab: str | os.PathLike) -> OovReport:
    """Count the words of ``data`` (a data dir or a ``text`` file) missing from ``vocab``.

    ``vocab`` is a lang dir, a dict dir, ``words.txt`` or a lexicon file (see :func:`read_vocab`).
    A malformed ``text`` (non-UTF-8, blank line, DOS line ending) raises :class:`FormatError`
    naming ``file:line``.
    """
    data = Path(data)
    text = data / "text" if data.is_dir() else data
    if not text.is_file():
        raise FileNotFoundError(f"{text}: no such file (find-oovs needs transcripts)")
    words, vocab_file = read_vocab(vocab)
    rep = OovReport(text=text, vocab=vocab_file, oov_word=_read_oov_word(Path(vocab)))
    for e in iter_entries(text):
        rep.num_utts += 1
        toks = e.value.split()
        if not toks:
            rep.empty.append(e.key)
            continue
        rep.num_tokens += len(toks)
        hit = False
        for w in toks:
            if w in words:
                continue
            hit = True
            rep.counts[w] = rep.counts.get(w, 0) + 1
            us = rep.utts.setdefault(w, [])
            if not us or us[-1] != e.key:
                us.append(e.key)
        rep.utts_with_oov += hit
    return rep


def map_oovs(words: Iterable[str], vocab: set[str], oov_word: str) -> list[str]:
    """Replace the words not in ``vocab`` by ``oov_word`` (what sym2int.pl --map-oov does)."""
    return [w if w in vocab else oov_word for w in words]


def format_oov_report(rep: OovReport, max_utts: int = 10) -> tuple[str, list[str]]:
    """A summary line and one line per OOV word: ``<word> <count> <utt> <utt> ...``.

    At most ``max_utts`` utterances are listed per word (``... (+N more)`` after them; 0 = all).
    """
    mapped = f"; they map to {rep.oov_word}" if rep.oov_word else ""
    summary = (f"find-oovs: {rep.num_oov_tokens} of {rep.num_tokens} word tokens ({100 * rep.rate:.2f}%) in "
               f"{rep.utts_with_oov} of {rep.num_utts} utterances of {rep.text} are not in {rep.vocab}: "
               f"{len(rep.counts)} OOV word types{mapped}")
    lines = []
    for w in rep.sorted_words():
        us = rep.utts[w]
        shown = us if max_utts <= 0 else us[:max_utts]
        more = f" ... (+{len(us) - len(shown)} more)" if len(shown) < len(us) else ""
        lines.append(f"{w} {rep.counts[w]} {' '.join(shown)}{more}")
    if rep.empty:
        shown = rep.empty if max_utts <= 0 else rep.empty[:max_utts]
        more = f" ... (+{len(rep.empty) - len(shown)} more)" if len(shown) < len(rep.empty) else ""
        lines.append(f"# {len(rep.empty)} utterances with an empty transcript: {' '.join(shown)}{more}")
    return summary, lines
