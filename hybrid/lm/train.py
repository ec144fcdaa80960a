"""Text file → ARPA: reading training text, estimation, pruning, writing."""

from __future__ import annotations

import logging
import os
from typing import Sequence

from hybrid.lm.arpa import ArpaLM, write_arpa
from hybrid.lm.kneser_ney import train_kneser_ney
from hybrid.lm.prune import all_ngram_counts, prune_count_cutoffs, prune_relative_entropy

log = logging.getLogger(__name__)


def read_text(path: str | os.PathLike, utt_ids: bool = True) -> list[list[str]]:
    """Sentences of a text file; with ``utt_ids`` the first field of each line is dropped
    (Kaldi's data/*/text). Empty lines are skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if utt_ids:
                parts = parts[1:]
            if parts:
                out.append(parts)
    return out


def read_vocab(path: str | os.PathLike) -> list[str]:
    """A vocabulary from words.txt (``word id``) or a word list (first field of each line);
    ``<eps>``, ``#N``, ``<s>``, ``</s>`` are left out."""
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            w = parts[0]
            if w in ("<eps>", "<s>", "</s>") or (w.startswith("#") and w[1:].isdigit()):
                continue
            words.append(w)
    return words


def train_lm_from_text(text: str | os.PathLike, lm_out: str | os.PathLike, order: int = 3,
                       prune_thresh: float = 0.0, min_counts: Sequence[int] | None = None,
                       vocab_file: str | os.PathLike | None = None, unk: str | None = "<unk>",
                       utt_ids: bool = True) -> ArpaLM:
    """Train a KN LM on ``text`` and write it to ``lm_out`` (ARPA, gzipped if .gz)."""
    sents = read_text(text, utt_ids)
    vocab = read_vocab(vocab_file) if vocab_file else None
    lm = train_kneser_ney(sents, order=order, vocab=vocab, unk=unk)
    if min_counts:
        vs = set(vocab) if vocab is not None else None
        if vs is not None and unk is None:
            mapped = [s for s in sents if all(w in vs for w in s)]
        else:
            mapped = [[w if vs is None or w in vs else unk for w in s] for s in sents]
        n = prune_count_cutoffs(lm, all_ngram_counts(mapped, order), min_counts)
        log.info("count cutoffs %s removed %d n-grams", list(min_counts), n)
    if prune_thresh > 0:
        n = prune_relative_entropy(lm, prune_thresh)
        log.info("relative-entropy pruning (threshold %g) removed %d n-grams", prune_thresh, n)
    write_arpa(lm, lm_out)
    log.info("wrote %s: %s", lm_out, ", ".join(f"{n + 1}-grams {len(g)}" for n, g in enumerate(lm.ngrams)))
    return lm
