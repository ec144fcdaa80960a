"""CTM files (``<utt> <channel> <start> <dur> <label> [<conf>]``): word and phone timings."""

from __future__ import annotations

import os
from typing import Mapping

Ctm = dict[str, list[tuple[str, float, float]]]  # utt -> [(label, start, dur)]


def frame_centre_offset(frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0) -> float:
    """Seconds from the start of frame ``k``'s window (Kaldi's CTM time, snip-edges) to the point halfway
    between the centres of frames ``k-1`` and ``k``: ``(frame_length - frame_shift) / 2``.

    Frames ``k-1`` and ``k`` span ``[10k-10, 10k+15]`` and ``[10k, 10k+25]`` ms; their centres are
    ``10k+2.5`` and ``10k+12.5``, so a boundary between them lies at ``10k+7.5`` ms, not ``10k``."""
    return (frame_length_ms - frame_shift_ms) / 2000.0


def parse_frame_offset(value: str | float) -> float:
    """``--frame-offset`` values: seconds, or ``frame-centre`` (:func:`frame_centre_offset` for 25/10 ms)."""
    if isinstance(value, str) and value.strip().lower() in ("frame-centre", "frame-center", "centre", "center"):
        return frame_centre_offset()
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"frame offset {value!r}: expected seconds or 'frame-centre'") from None


def time_precision(frame_shift: float, frame_offset: float = 0.0) -> int:
    """Decimals that represent ``k * frame_shift + frame_offset`` exactly (Kaldi writes 2 for 10 ms)."""
    for prec in (2, 3, 4, 5):
        q = 10.0 ** prec
        if abs(frame_shift * q - round(frame_shift * q)) < 1e-6 and abs(frame_offset * q - round(frame_offset * q)) < 1e-6:
            return prec
    return 6


def read_ctm(path: str | os.PathLike, phone_map: Mapping[str, str] | None = None) -> Ctm:
    """Read a CTM (``<utt> <channel> <start> <dur> <label> [<conf>]``) into utt -> [(label, start, dur)].

    Segments are sorted by start time. ``phone_map`` maps labels (e.g. integer phone ids written by
    ``ali-to-phones --ctm-output``) to names; labels not in it are kept, except integers (an error). Raises ValueError naming the file and line on bad input.
    """
    out: Ctm = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith(";;"):
                continue
            if len(parts) not in (5, 6):
                raise ValueError(f"{path}:{lineno}: expected '<utt> <chan> <start> <dur> <label> [conf]', "
                                 f"got {line.rstrip()!r}")
            try:
                start, dur = float(parts[2]), float(parts[3])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: bad start/duration in {line.rstrip()!r}") from None
            if dur < 0 or start < 0:
                raise ValueError(f"{path}:{lineno}: negative time in {line.rstrip()!r}")
            label = parts[4]
            if phone_map is not None:
                if label in phone_map:
                    label = phone_map[label]
                elif label.isdigit():
                    raise ValueError(f"{path}:{lineno}: phone id {label} not in the phone map")
            out.setdefault(parts[0], []).append((label, start, dur))
    for segs in out.values():
        segs.sort(key=lambda s: s[1])
    return out
