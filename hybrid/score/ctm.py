"""Word CTM from lattices: best path at an LM weight, word times from the alignment.

As ``lattice-1best --lm-scale=LMWT | lattice-align-words phones/word_boundary.int final.mdl |
nbest-to-ctm``: the transition-id alignment is cut into phone instances (a phone ends at a
transition into its HMM's final state), phones are grouped into words with
``word_boundary.int`` (begin/end/singleton/internal; ``nonword`` phones such as silence lie
between words), and the k-th group gets the k-th word of the path.
Lines: ``<utt> 1 <start> <dur> <word>`` in seconds with 2 decimals (3 below 10 ms shift).
"""

from __future__ import annotations

import logging
import os
from typing import Iterable

import numpy as np

from hybrid.decode.lattice import Lattice, lattice_best_path

log = logging.getLogger("hybrid.score")


def read_word_boundary(path: str | os.PathLike) -> dict[int, str]:
    """``phones/word_boundary.int``: ``<phone-id> begin|end|singleton|internal|nonword`` per line."""
    wb: dict[int, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("begin", "end", "singleton", "internal", "nonword"):
                raise ValueError(f"{path}:{lineno}: bad word-boundary line {line.rstrip()!r}")
            wb[int(parts[0])] = parts[1]
    return wb


def split_to_phones(alignment: Iterable[int], tid2phone: np.ndarray, tid_is_final: np.ndarray,
                    tid2tstate: np.ndarray | None = None, tid_is_self_loop: np.ndarray | None = None
                    ) -> list[tuple[int, int, int]]:
    """Phone instances ``(phone, start_frame, num_frames)`` of a transition-id alignment.

    A phone ends at the transition into its HMM's final state; in a reordered alignment
    (Kaldi's default graphs: self-loops come after the forward transition) the self-loops of
    that same transition state that follow it still belong to the phone, as SplitToPhones does.
    """
    out = []
    ali = list(alignment)
    start = 0
    i = 0
    while i < len(ali):
        tid = ali[i]
        if tid_is_final[tid] or i == len(ali) - 1:
            if tid2tstate is not None and tid_is_self_loop is not None:
                while (i + 1 < len(ali) and tid_is_self_loop[ali[i + 1]]
                       and tid2tstate[ali[i + 1]] == tid2tstate[tid]):
                    i += 1
            out.append((int(tid2phone[ali[start]]), start, i + 1 - start))
            start = i + 1
        i += 1
    return out


def align_words(words: list[int], alignment: list[int], tid2phone: np.ndarray, tid_is_final: np.ndarray,
                word_boundary: dict[int, str], tid2tstate: np.ndarray | None = None,
                tid_is_self_loop: np.ndarray | None = None) -> list[tuple[int, int, int]] | None:
    """``(word, start_frame, num_frames)`` per word, or None when phones and words disagree."""
    groups: list[tuple[int, int]] = []
    cur = None
    for phone, st, n in split_to_phones(alignment, tid2phone, tid_is_final, tid2tstate, tid_is_self_loop):
        kind = word_boundary.get(phone, "nonword")
        if kind == "nonword":
            if cur is not None:
                return None
            continue
        if kind == "singleton":
            if cur is not None:
                return None
            groups.append((st, n))
        elif kind == "begin":
            if cur is not None:
                return None
            cur = (st, n)
        elif kind == "internal":
            if cur is None:
                return None
            cur = (cur[0], st + n - cur[0])
        elif kind == "end":
            if cur is None:
                return None
            groups.append((cur[0], st + n - cur[0]))
            cur = None
    if cur is not None or len(groups) != len(words):
        return None
    return [(w, s, n) for w, (s, n) in zip(words, groups)]


def lattices_to_ctm(lats: Iterable[tuple[str, Lattice]], lmwt: float, tid2phone: np.ndarray, tid_is_final: np.ndarray,
                    word_boundary: dict[int, str], word_syms: dict[int, str] | None = None,
                    frame_shift: float = 0.01, wip: float = 0.0,
                    segments: dict[str, tuple[str, float]] | None = None, tid2tstate: np.ndarray | None = None,
                    tid_is_self_loop: np.ndarray | None = None) -> list[str]:
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
        wa = align_words(bp.words, bp.alignment, tid2phone, tid_is_final, word_boundary, tid2tstate, tid_is_self_loop)
        if wa is None:
            log.warning("Word alignment failed for utterance %s (phones do not match word boundaries)", utt)
            continue
        rec, off = (utt, 0.0) if segments is None or utt not in segments else segments[utt]
        for w, st, n in wa:
            name = word_syms.get(w, str(w)) if word_syms else str(w)
            lines.append(f"{rec} 1 {off + st * frame_shift:.{prec}f} {n * frame_shift:.{prec}f} {name}")
    return lines
