"""Praat TextGrids from CTMs: one file per utterance with a "words" and a "phones" interval tier.

Input CTMs are Kaldi's (``<utt> <channel> <start> <dur> <label> [<conf>]``: word CTMs from
``steps/get_ctm.sh`` / ``steps/get_train_ctm.sh``, phone CTMs from ``ali-to-phones --ctm-output``).
Each tier covers ``[0, xmax]``: the CTM's segments in time order, with gaps filled by intervals with
empty text (Praat's convention for "nothing here"). ``xmax`` is the utterance's duration from
``utt2dur`` when given (at least the last segment's end), else the last end over both tiers.
Segments that overlap their predecessor (rounding in the CTM) are clipped to start where it ends; one
that is left empty is reported and dropped. Files are ``<out_dir>/<utt>.TextGrid`` in Praat's long
text format (UTF-8), written atomically.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Mapping, Sequence

from hybrid.io import atomic_write
from hybrid.io.ctm import read_ctm

log = logging.getLogger(__name__)

Interval = tuple[float, float, str]  # (start, end, label)
_POS_SUFFIX = re.compile(r"_[BEIS]$")
_EPS = 1e-9


def read_ctm_segments(path: str | os.PathLike, label_map: Mapping[str, str] | None = None) -> dict[str, list[Interval]]:
    """utt -> [(start, end, label)] sorted by start. Raises ValueError naming the file and line."""
    return {utt: sorted(((st, st + dur, label) for label, st, dur in segs), key=lambda s: (s[0], s[1]))
            for utt, segs in read_ctm(path, label_map).items()}


def read_utt2dur(path: str | os.PathLike) -> dict[str, float]:
    """``<utt> <seconds>`` lines. Raises ValueError naming the file and line."""
    out: dict[str, float] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                out[parts[0]] = float(parts[1])
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{lineno}: expected '<utt> <duration>', got {line.rstrip()!r}") from None
    return out


def fill_tier(segs: Sequence[Interval], xmax: float, utt: str = "", tier: str = "") -> list[Interval]:
    """Intervals covering [0, xmax]: ``segs`` in order, gaps as empty-label intervals."""
    out: list[Interval] = []
    t = 0.0
    for s, e, lab in segs:
        if s < t - _EPS:
            log.warning("%s: %s tier: segment %r at %.3f overlaps the previous one (ends %.3f); clipped",
                        utt, tier, lab, s, t)
            s = t
        if e <= s + _EPS:
            if e < s - _EPS or lab:
                log.warning("%s: %s tier: segment %r is empty after clipping; dropped", utt, tier, lab)
            continue
        if s > t + _EPS:
            out.append((t, s, ""))
        elif out:
            s = t  # close tiny rounding gaps exactly
        out.append((s, e, lab))
        t = e
    if xmax > t + _EPS or not out:
        out.append((t, max(xmax, t), ""))
    elif out:  # end exactly at xmax
        s, _, lab = out[-1]
        out[-1] = (s, max(xmax, t), lab)
    return out


def _num(x: float) -> str:
    r = repr(round(x, 6))
    return r[:-2] if r.endswith(".0") else r


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def format_textgrid(tiers: Sequence[tuple[str, Sequence[Interval]]], xmax: float, xmin: float = 0.0) -> str:
    """Praat long text format of interval tiers (each already covering [xmin, xmax])."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             f"xmin = {_num(xmin)} ", f"xmax = {_num(xmax)} ", "tiers? <exists> ", f"size = {len(tiers)} ",
             "item []: "]
    for i, (name, ivs) in enumerate(tiers, 1):
        lines += [f"    item [{i}]:", '        class = "IntervalTier" ', f"        name = {_quote(name)} ",
                  f"        xmin = {_num(xmin)} ", f"        xmax = {_num(xmax)} ",
                  f"        intervals: size = {len(ivs)} "]
        for j, (s, e, lab) in enumerate(ivs, 1):
            lines += [f"        intervals [{j}]:", f"            xmin = {_num(s)} ", f"            xmax = {_num(e)} ",
                      f"            text = {_quote(lab)} "]
    return "\n".join(lines) + "\n"


def strip_position(phone: str) -> str:
    """``AH1_B`` -> ``AH1`` (word-position suffix removed)."""
    return _POS_SUFFIX.sub("", phone)


def ctm_to_textgrids(word_ctm: str | os.PathLike | None, out_dir: str | os.PathLike, *,
                     phone_ctm: str | os.PathLike | None = None, utt2dur: str | os.PathLike | None = None,
                     phone_map: Mapping[str, str] | None = None, strip_positions: bool = False,
                     word_tier: str = "words", phone_tier: str = "phones") -> list[Path]:
    """Write ``<out_dir>/<utt>.TextGrid`` for every utterance of either CTM; returns the paths.

    ``phone_map`` maps phone labels (e.g. integer ids) to names; ``strip_positions`` drops ``_B/_E/_I/_S``.
    Without ``phone_ctm`` only the words tier is written (and vice versa).
    """
    if word_ctm is None and phone_ctm is None:
        raise ValueError("need a word CTM or a phone CTM")
    words = read_ctm_segments(word_ctm) if word_ctm is not None else None
    phones = read_ctm_segments(phone_ctm, phone_map) if phone_ctm is not None else None
    if phones is not None and strip_positions:
        phones = {u: [(s, e, strip_position(p)) for s, e, p in segs] for u, segs in phones.items()}
    durs = read_utt2dur(utt2dur) if utt2dur is not None else {}
    utts = sorted(set(words or {}) | set(phones or {}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for utt in utts:
        tiers_in: list[tuple[str, list[Interval]]] = []
        if words is not None:
            tiers_in.append((word_tier, words.get(utt, [])))
        if phones is not None:
            tiers_in.append((phone_tier, phones.get(utt, [])))
        last = max((s[-1][1] for _, s in tiers_in if s), default=0.0)
        if utt in durs:
            xmax = durs[utt]
            if xmax < last - 0.0105:  # more than rounding + a frame
                log.warning("%s: utt2dur says %.3f s but the CTM goes to %.3f s; using the CTM's end", utt, xmax, last)
            xmax = max(xmax, last)
        else:
            if durs:
                log.warning("%s: not in %s; xmax is the last CTM end", utt, utt2dur)
            xmax = last
        tiers = [(name, fill_tier(segs, xmax, utt, name)) for name, segs in tiers_in]
        path = out / f"{utt}.TextGrid"
        with atomic_write(path) as f:
            f.write(format_textgrid(tiers, xmax))
        written.append(path)
    log.info("wrote %d TextGrids to %s", len(written), out)
    return written
