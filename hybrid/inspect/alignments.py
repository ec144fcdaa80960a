"""Alignment inspection: per-utterance word/phone tables and corpus-wide statistics.

``analyze_alignments`` is in the spirit of Kaldi's steps/diagnostic/analyze_alignments.sh:
per-phone duration percentiles, how often utterances begin and end in silence and for how
long, and which utterances failed to align (from the ``No alignment for utterance`` log lines).
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hybrid.hmm import TransitionModel, phone_segments, word_segments
from hybrid.io import SymbolTable, iter_table

FAILED_RE = re.compile(r"No alignment for utterance (\S+)")


def ali_files(ali_dir: str | os.PathLike) -> list[Path]:
    """``ali.N.gz`` files of an alignment (or training) dir, in job order."""
    files = [Path(p) for p in glob.glob(os.path.join(ali_dir, "ali.*.gz"))]

    def job(p: Path) -> int:
        m = re.match(r"ali\.(\d+)\.gz$", p.name)
        return int(m.group(1)) if m else 10**9

    return sorted((p for p in files if job(p) < 10**9), key=job)


def iter_alignments(ali_dir: str | os.PathLike):
    files = ali_files(ali_dir)
    if not files:
        raise FileNotFoundError(f"no ali.*.gz files in {ali_dir}")
    for f in files:
        for utt, ali in iter_table(f):
            yield utt, np.asarray(ali, dtype=np.int32)


def failed_utterances(ali_dir: str | os.PathLike) -> dict[str, str]:
    """Utterances that logs report as failed: utt → log file."""
    out: dict[str, str] = {}
    for log in sorted(glob.glob(os.path.join(ali_dir, "log", "*.log"))):
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = FAILED_RE.search(line)
                if m:
                    out[m.group(1)] = log
    return out


def base_phone(name: str) -> str:
    """Strip Kaldi's word-position suffix (``AH_B`` → ``AH``)."""
    return re.sub(r"_[BEIS]$", "", name)


@dataclass
class UtteranceRow:
    kind: str  # "word" or "phone"
    label: str
    start_frame: int
    frames: int


def utterance_table(tm: TransitionModel, ali, phones: SymbolTable, frame_shift: float = 0.01,
                    words: SymbolTable | None = None, word_boundary: dict[int, str] | None = None,
                    transcript: list[int] | None = None) -> list[UtteranceRow]:
    """Rows for one utterance: words (when word info is given) and phones, in time order."""
    segs = phone_segments(tm, ali)
    rows = [UtteranceRow("phone", phones[s.label], s.start, s.length) for s in segs]
    if words is not None and word_boundary is not None and transcript is not None:
        try:
            wsegs = word_segments(segs, word_boundary, transcript)
            rows += [UtteranceRow("word", words[s.label] if s.label else "<sil>", s.start, s.length) for s in wsegs]
        except ValueError as e:
            rows.append(UtteranceRow("word", f"(words unavailable: {e})", 0, 0))
    rows.sort(key=lambda r: (r.start_frame, r.kind != "word"))
    return rows


def format_utterance_table(utt: str, rows: list[UtteranceRow], frame_shift: float = 0.01) -> str:
    out = [f"Utterance {utt}", f"{'word':<16} {'phone':<10} {'start(s)':>9} {'dur(s)':>7} {'frames':>6}"]
    for r in rows:
        start = r.start_frame * frame_shift
        dur = r.frames * frame_shift
        if r.kind == "word":
            out.append(f"{r.label:<16} {'':<10} {start:>9.2f} {dur:>7.2f} {r.frames:>6d}")
        else:
            out.append(f"{'':<16} {r.label:<10} {start:>9.2f} {dur:>7.2f} {r.frames:>6d}")
    return "\n".join(out)


@dataclass
class AlignmentStats:
    num_utts: int = 0
    num_frames: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    phone_durations: dict[str, list[int]] = field(default_factory=dict)  # base phone → frames
    begin_sil: list[int] = field(default_factory=list)  # frames of silence at start (0 = none)
    end_sil: list[int] = field(default_factory=list)

    def to_dict(self, frame_shift: float = 0.01) -> dict:
        def pct(v: list[int]) -> dict:
            a = np.asarray(v, dtype=np.float64) * frame_shift * 1000.0
            if a.size == 0:
                return {"count": 0}
            return {"count": int(a.size), "mean_ms": float(a.mean()), "p5_ms": float(np.percentile(a, 5)),
                    "median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95))}

        begin = [x for x in self.begin_sil if x > 0]
        end = [x for x in self.end_sil if x > 0]
        return {
            "num_utterances": self.num_utts,
            "num_frames": self.num_frames,
            "failed": dict(sorted(self.failed.items())),
            "phones": {p: pct(v) for p, v in sorted(self.phone_durations.items())},
            "begin_silence": {"fraction": len(begin) / max(1, len(self.begin_sil)), **pct(begin)},
            "end_silence": {"fraction": len(end) / max(1, len(self.end_sil)), **pct(end)},
        }


def analyze_alignments(tm: TransitionModel, alignments, phones: SymbolTable, silence_phones: set[int],
                       failed: dict[str, str] | None = None) -> AlignmentStats:
    """Corpus statistics over ``(utt, alignment)`` pairs."""
    st = AlignmentStats(failed=dict(failed or {}))
    for _utt, ali in alignments:
        segs = phone_segments(tm, ali)
        st.num_utts += 1
        st.num_frames += len(ali)
        for s in segs:
            st.phone_durations.setdefault(base_phone(phones[s.label]), []).append(s.length)
        st.begin_sil.append(segs[0].length if segs and segs[0].label in silence_phones else 0)
        st.end_sil.append(segs[-1].length if segs and segs[-1].label in silence_phones else 0)
    return st


def format_stats(d: dict) -> str:
    lines = [f"Analyzed {d['num_utterances']} utterances, {d['num_frames']} frames; "
             f"{len(d['failed'])} utterances failed to align."]
    for which in ("begin", "end"):
        s = d[f"{which}_silence"]
        if s.get("count"):
            lines.append(f"At utterance {which}, silence is seen {100 * s['fraction']:.1f}% of the time, with duration "
                         f"(median, mean, 95-percentile) = ({s['median_ms']:.0f}, {s['mean_ms']:.0f}, {s['p95_ms']:.0f}) ms")
        else:
            lines.append(f"At utterance {which}, silence is never seen.")
    lines.append(f"{'phone':<10} {'count':>7} {'p5(ms)':>7} {'median':>7} {'mean':>7} {'p95':>7}")
    for p, s in d["phones"].items():
        lines.append(f"{p:<10} {s['count']:>7d} {s['p5_ms']:>7.0f} {s['median_ms']:>7.0f} {s['mean_ms']:>7.0f} {s['p95_ms']:>7.0f}")
    for utt, log in d["failed"].items():
        lines.append(f"failed: {utt} (see {log})")
    return "\n".join(lines)
