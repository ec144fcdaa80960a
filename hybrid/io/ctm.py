"""CTM files (``<utt> <channel> <start> <dur> <label> [<conf>]``): word and phone timings."""

from __future__ import annotations

import os
from typing import Mapping

Ctm = dict[str, list[tuple[str, float, float]]]  # utt -> [(label, start, dur)]


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
