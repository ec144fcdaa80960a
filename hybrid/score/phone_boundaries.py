"""Phone-boundary accuracy of an alignment against reference phone timings (CTM).

Phones are normalised before comparison: position-dependent suffixes are dropped (``AH_B`` -> ``AH``),
stress digits are dropped (``AH0`` -> ``AH``), and every silence phone (``SIL``, ``sil``, ``SPN``,
``pau``, ``<eps>``, ... see :data:`SILENCE_PHONES`) becomes ``SIL``; adjacent silences merge.

Two ways to treat silence (``silence=``):

- ``"drop"`` (default): only non-silence phones must match in sequence; optional silence may differ
  between reference and hypothesis. The boundaries scored are the start and the end of every
  non-silence phone; where a phone ends exactly where the next one starts in *both* CTMs that shared
  point counts once. The start of the first phone is not scored when the reference has it at the
  start of the utterance, nor the end of the last phone when the reference has it at the end.
- ``"match"``: the full sequences including SIL must be equal; the scored boundaries are the
  reference's internal segment boundaries (every segment boundary except utterance start and end).

An utterance is skipped (and counted by reason) when it is missing from either side or its phone
sequences differ.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Mapping, Sequence

import numpy as np

from hybrid.io.ctm import Ctm, frame_centre_offset, read_ctm  # noqa: F401  (part of this module's API)

SILENCE_PHONES = frozenset({"SIL", "sil", "SPN", "spn", "NSN", "nsn", "pau", "PAU", "<eps>", "sp", "SP",
                            "<sil>", "h#", "sil_B", "sil_E", "sil_I", "sil_S"})
_POS_SUFFIX = re.compile(r"_[BEIS]$")


def normalize_phone(p: str) -> str:
    """``AH_B`` -> ``AH``, ``AH0`` -> ``AH``, any silence phone -> ``SIL``."""
    if p in SILENCE_PHONES:
        return "SIL"
    p = _POS_SUFFIX.sub("", p)
    if p in SILENCE_PHONES or p.lower() in {"sil", "spn", "nsn", "pau"}:
        return "SIL"
    if len(p) > 1 and p[-1].isdigit() and p[:-1].isalpha():
        p = p[:-1]
    return p


def _normalize(segs: Sequence[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Normalised (phone, start, end) with adjacent silences merged."""
    out: list[tuple[str, float, float]] = []
    for p, s, d in segs:
        q = normalize_phone(p)
        if out and q == "SIL" and out[-1][0] == "SIL":
            out[-1] = ("SIL", out[-1][1], max(out[-1][2], s + d))
        else:
            out.append((q, s, s + d))
    return out


def _boundaries_drop(ref: list[tuple[str, float, float]], hyp: list[tuple[str, float, float]]
                     ) -> list[tuple[float, float]] | None:
    rn = [x for x in ref if x[0] != "SIL"]
    hn = [x for x in hyp if x[0] != "SIL"]
    if [x[0] for x in rn] != [x[0] for x in hn]:
        return None
    if not rn:
        return []
    eps = 1e-6
    ref_start, ref_end = ref[0][1], ref[-1][2]
    pairs: list[tuple[float, float]] = []
    if rn[0][1] > ref_start + eps:
        pairs.append((rn[0][1], hn[0][1]))
    for i in range(len(rn) - 1):
        r_shared = abs(rn[i][2] - rn[i + 1][1]) <= eps
        h_shared = abs(hn[i][2] - hn[i + 1][1]) <= eps
        if r_shared and h_shared:
            pairs.append((rn[i][2], hn[i][2]))
        else:
            pairs.append((rn[i][2], hn[i][2]))
            pairs.append((rn[i + 1][1], hn[i + 1][1]))
    if rn[-1][2] < ref_end - eps:
        pairs.append((rn[-1][2], hn[-1][2]))
    return pairs


def _boundaries_match(ref: list[tuple[str, float, float]], hyp: list[tuple[str, float, float]]
                      ) -> list[tuple[float, float]] | None:
    if [x[0] for x in ref] != [x[0] for x in hyp]:
        return None
    return [(ref[i][2], hyp[i][2]) for i in range(len(ref) - 1)]


def boundary_accuracy(ref_ctm: Mapping[str, Sequence[tuple[str, float, float]]],
                      hyp_ctm: Mapping[str, Sequence[tuple[str, float, float]]],
                      tolerances_ms: Iterable[float] = (10, 20, 25, 50), silence: str = "drop",
                      hyp_offset: float = 0.0) -> dict:
    """Fraction of phone boundaries within each tolerance, and the mean absolute boundary error.

    ``hyp_offset`` (seconds) is added to every hypothesis time before comparing: 0 compares Kaldi's
    CTM times (a boundary at frame ``k`` is at ``k * frame_shift``, the *start* of frame ``k``'s
    window); ``(frame_length - frame_shift) / 2`` (7.5 ms for 25/10 ms frames) puts it halfway between
    the centres of the last frame of one phone and the first frame of the next (see
    :func:`frame_centre_offset`). ``mean_signed_error_ms`` (hyp - ref) shows such a constant bias.

    ``ref_ctm``/``hyp_ctm``: utt -> [(phone, start, dur)] in seconds (as :func:`read_ctm` returns).
    Returns a dict with ``num_boundaries``, ``within`` ({tolerance_ms: fraction}, a boundary counts as
    within when its absolute error is <= tolerance + 1e-6 ms), ``mean_abs_error_ms``,
    ``median_abs_error_ms``, ``num_utts_compared``, ``num_utts_skipped``, ``skipped`` (counts by reason:
    ``not_in_hyp``, ``not_in_ref``, ``phone_mismatch``) and ``skipped_utts`` (reason -> up to 20 ids).
    """
    if silence not in ("drop", "match"):
        raise ValueError(f"silence must be 'drop' or 'match', not {silence!r}")
    tols = [float(t) for t in tolerances_ms]
    pick = _boundaries_drop if silence == "drop" else _boundaries_match
    errors: list[float] = []
    skipped: dict[str, list[str]] = {"not_in_hyp": [], "not_in_ref": [], "phone_mismatch": []}
    compared = 0
    for utt in sorted(ref_ctm):
        if utt not in hyp_ctm:
            skipped["not_in_hyp"].append(utt)
            continue
        pairs = pick(_normalize(ref_ctm[utt]), _normalize(hyp_ctm[utt]))
        if pairs is None:
            skipped["phone_mismatch"].append(utt)
            continue
        compared += 1
        errors.extend((h + hyp_offset - r) * 1000.0 for r, h in pairs)
    skipped["not_in_ref"] = sorted(u for u in hyp_ctm if u not in ref_ctm)
    signed = np.asarray(errors, dtype=np.float64)
    err = np.abs(signed)
    n = int(err.size)
    return {
        "num_boundaries": n,
        "within": {_tol_key(t): (float(np.mean(err <= t + 1e-6)) if n else float("nan")) for t in tols},
        "mean_abs_error_ms": float(err.mean()) if n else float("nan"),
        "median_abs_error_ms": float(np.median(err)) if n else float("nan"),
        "mean_signed_error_ms": float(signed.mean()) if n else float("nan"),
        "hyp_offset_ms": 1000.0 * hyp_offset,
        "num_utts_compared": compared,
        "num_utts_skipped": sum(len(v) for v in skipped.values()),
        "skipped": {k: len(v) for k, v in skipped.items()},
        "skipped_utts": {k: v[:20] for k, v in skipped.items() if v},
        "silence": silence,
    }


def _tol_key(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else str(t)


def format_report(res: dict) -> str:
    """Human-readable lines, e.g. ``%within 20ms 85.31 [ 1234 boundaries, 56 utterances ]``."""
    lines = []
    for t, frac in res["within"].items():
        lines.append(f"%within {t}ms {100 * frac:.2f} [ {res['num_boundaries']} boundaries, "
                     f"{res['num_utts_compared']} utterances ]")
    lines.append(f"mean abs boundary error {res['mean_abs_error_ms']:.2f} ms, median {res['median_abs_error_ms']:.2f} ms")
    lines.append(f"mean signed error (hyp - ref) {res['mean_signed_error_ms']:+.2f} ms, "
                 f"hypothesis times shifted by {res['hyp_offset_ms']:+.2f} ms")
    sk = res["skipped"]
    lines.append(f"Compared {res['num_utts_compared']} utterances, skipped {res['num_utts_skipped']} "
                 f"({sk['not_in_hyp']} not in hyp, {sk['not_in_ref']} not in ref, "
                 f"{sk['phone_mismatch']} phone sequence mismatch).")
    return "\n".join(lines)
