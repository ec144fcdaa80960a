"""Word CTM from lattices: best path at an LM weight, word times from the alignment.

As ``lattice-1best --lm-scale=LMWT | lattice-align-words phones/word_boundary.int final.mdl |
nbest-to-ctm``: the transition-id alignment is cut into phone instances and grouped into words with
``word_boundary.int`` by :mod:`hybrid.hmm.alignment` (the same code as the training-alignment
CTMs), and the k-th group gets the k-th word of the path.
Lines: ``<utt> 1 <start> <dur> <word>`` in seconds with 2 decimals (3 below 10 ms shift).
"""

from __future__ import annotations

import logging
from typing import Iterable

from hybrid.decode.lattice import Lattice, lattice_best_path
from hybrid.hmm import TransitionModel, phone_segments, read_word_boundary, word_segments

log = logging.getLogger("hybrid.score")


def align_words(words: list[int], alignment: list[int], tm: TransitionModel,
                word_boundary: dict[int, str]) -> list[tuple[int, int, int]] | None:
    """``(word, start_frame, num_frames)`` per word, or None when phones and words disagree."""
    try:
        segs = word_segments(phone_segments(tm, alignment), word_boundary, words)
    except ValueError:
        return None
    return [(s.label, s.start, s.length) for s in segs if s.label != 0]


def lattices_to_ctm(lats: Iterable[tuple[str, Lattice]], lmwt: float, tm: TransitionModel,
                    word_boundary: dict[int, str], word_syms: dict[int, str] | None = None,
                    frame_shift: float = 0.01, wip: float = 0.0,
                    segments: dict[str, tuple[str, float]] | None = None) -> list[str]:
    """CTM lines for the best path of each lattice at LM weight ``lmwt`` (acoustic scale 1/lmwt).

    With ``segments`` (utt -> (recording, start)), times are on the recording (as get_ctm.sh
    with --use-segments true).
    """
    prec = 2 if frame_shift >= 0.01 else 3
    lines = []
    for utt, lat in lats:
        bp = lattice_best_path(lat, 1.0, 1.0 / lmwt, wip)
        if bp is None:
            log.warning("No path in lattice for utterance %s; no CTM lines", utt)
            continue
        wa = align_words(bp.words, bp.alignment, tm, word_boundary)
        if wa is None:
            log.warning("Word alignment failed for utterance %s (phones do not match word boundaries)", utt)
            continue
        rec, off = (utt, 0.0) if segments is None or utt not in segments else segments[utt]
        for w, st, n in wa:
            name = word_syms.get(w, str(w)) if word_syms else str(w)
            lines.append(f"{rec} 1 {off + st * frame_shift:.{prec}f} {n * frame_shift:.{prec}f} {name}")
    return lines
