"""Alignments (sequences of transition-ids) split into phones and words.

- :func:`split_to_phones` is Kaldi's SplitToPhones: it detects by itself whether the
  alignment was made with reordered self-loops (Kaldi's default) and cuts after each
  transition into a phone's final state (plus, when reordered, the self-loops that follow).
- :func:`phone_segments` gives (phone, start_frame, num_frames) per phone.
- :func:`word_segments` groups phones into words with ``phones/word_boundary.int``
  (Kaldi's lattice-align-words semantics) and pairs them with the transcript's words.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hybrid.hmm.transition_model import TransitionModel


def is_reordered(tm: TransitionModel, ali: Sequence[int]) -> bool:
    """Kaldi's IsReordered: self-loops after the forward transition (True) or before it."""
    ts = tm.tid2tstate
    loop = tm.tid_is_self_loop
    for i in range(len(ali) - 1):
        a, b = ali[i], ali[i + 1]
        if ts[a] != ts[b]:
            if loop[a]:
                return True
            if loop[b]:
                return False
    if len(ali) == 0:
        return False
    if loop[ali[0]]:
        return False
    return bool(loop[ali[-1]])


def split_to_phones(tm: TransitionModel, ali: Sequence[int]) -> tuple[list[list[int]], bool]:
    """Split an alignment into one list of transition-ids per phone instance.

    Returns (pieces, ok); ok is False when the alignment looks incomplete (not ending in a
    phone's final state, or a phone change without a final transition), as Kaldi's.
    """
    ali = [int(x) for x in ali]
    if not ali:
        return [], True
    reordered = is_reordered(tm, ali)
    ends: list[int] = []
    ok = True
    n = len(ali)
    i = 0
    while i < n:
        tid = ali[i]
        if tm.tid_is_final[tid]:
            if reordered:
                while i + 1 < n and tm.tid_is_self_loop[ali[i + 1]]:
                    if tm.tid2tstate[ali[i + 1]] != tm.tid2tstate[tid]:
                        ok = False
                        break
                    i += 1
            ends.append(i + 1)
        elif i + 1 == n:
            ok = False
            ends.append(i + 1)
        elif tm.tid2tstate[tid] != tm.tid2tstate[ali[i + 1]] and tm.tid2phone[tid] != tm.tid2phone[ali[i + 1]]:
            ok = False
            ends.append(i + 1)
        i += 1
    pieces, start = [], 0
    for e in ends:
        pieces.append(ali[start:e])
        start = e
    return pieces, ok


@dataclass(frozen=True)
class Segment:
    label: int  # phone id, or word id for word segments (0 = silence / no word)
    start: int  # first frame
    length: int  # number of frames

    @property
    def end(self) -> int:
        return self.start + self.length


def phone_segments(tm: TransitionModel, ali: Sequence[int]) -> list[Segment]:
    """(phone, start frame, frames) for each phone instance of an alignment."""
    pieces, _ = split_to_phones(tm, ali)
    out, t = [], 0
    for p in pieces:
        out.append(Segment(int(tm.tid2phone[p[0]]), t, len(p)))
        t += len(p)
    return out


WORD_BOUNDARY_KINDS = ("nonword", "begin", "end", "internal", "singleton")


def read_word_boundary(path: str | os.PathLike) -> dict[int, str]:
    """``phones/word_boundary.int``: ``<phone-id> <nonword|begin|end|internal|singleton>``."""
    out: dict[int, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in WORD_BOUNDARY_KINDS or not parts[0].isdigit():
                raise ValueError(f"{path}:{lineno}: expected '<phone-id> <{'|'.join(WORD_BOUNDARY_KINDS)}>'")
            out[int(parts[0])] = parts[1]
    return out


def word_segments(phones: Sequence[Segment], word_boundary: dict[int, str],
                  words: Sequence[int]) -> list[Segment]:
    """Group phone segments into words (label = word id; silence → label 0).

    ``words`` is the transcript's word-id sequence; the number of word spans found must
    equal its length, otherwise ValueError (the alignment does not match the transcript).
    """
    spans: list[tuple[int, int]] = []  # (start, end) frames of each word
    open_start: int | None = None
    silences: list[Segment] = []
    for seg in phones:
        kind = word_boundary.get(seg.label)
        if kind is None:
            raise ValueError(f"phone {seg.label} is not in word_boundary.int")
        if kind == "nonword":
            if open_start is not None:
                raise ValueError(f"silence phone inside a word at frame {seg.start}")
            silences.append(Segment(0, seg.start, seg.length))
        elif kind == "singleton":
            if open_start is not None:
                raise ValueError(f"word starting at frame {open_start} has no end phone")
            spans.append((seg.start, seg.end))
        elif kind == "begin":
            if open_start is not None:
                raise ValueError(f"word starting at frame {open_start} has no end phone")
            open_start = seg.start
        elif kind == "internal":
            if open_start is None:
                raise ValueError(f"word-internal phone outside a word at frame {seg.start}")
        elif kind == "end":
            if open_start is None:
                raise ValueError(f"word-end phone without a word start at frame {seg.start}")
            spans.append((open_start, seg.end))
            open_start = None
    if open_start is not None:
        raise ValueError("alignment ends inside a word")
    if len(spans) != len(words):
        raise ValueError(f"alignment has {len(spans)} words, transcript has {len(words)}")
    out = [Segment(int(w), s, e - s) for w, (s, e) in zip(words, spans)] + silences
    return sorted(out, key=lambda s: s.start)


def frames_to_pdfs(tm: TransitionModel, ali: Sequence[int]) -> np.ndarray:
    """ali-to-pdf: the pdf-id of every frame."""
    return tm.tid2pdf[np.asarray(ali, dtype=np.int64)]
