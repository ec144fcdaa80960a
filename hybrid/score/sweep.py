"""Lattice scoring sweep over LM weight and word insertion penalty (Kaldi's score_kaldi.sh).

For each LMWT and WIP, the best path of each lattice under ``graph + wip*#words + acoustic/LMWT``
(``lattice-scale --inv-acoustic-scale=LMWT | lattice-add-penalty | lattice-best-path``) is
scored against the reference with ``compute-wer --mode=present``. Outputs in the decode dir:
``scoring/<LMWT>.<WIP>.tra`` (word ids), ``scoring/log/best_path.<LMWT>.<WIP>.log`` (words),
``wer_<LMWT>_<WIP>`` (compute-wer output) and ``scoring_kaldi/best_wer`` (the minimum, as
``utils/best_wer.sh`` prints it; the first minimum in WIP-major, LMWT-minor order).
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from hybrid.decode.lattice import Lattice, iter_lattices, lattice_best_path
from hybrid.io import atomic_write
from hybrid.score.wer import WerStats, compute_wer, read_text

log = logging.getLogger("hybrid.score")


@dataclass
class SweepResult:
    best_lmwt: int
    best_wip: str
    best: WerStats
    table: dict[tuple[int, str], WerStats]
    best_wer_line: str


def read_lattices(paths: Iterable[str | os.PathLike]) -> dict[str, Lattice]:
    lats: dict[str, Lattice] = {}
    for p in paths:
        for utt, lat in iter_lattices(p):
            lats[utt] = lat
    return lats


def lattice_paths(decode_dir: str | os.PathLike) -> list[str]:
    """``lat.*.gz`` of a decode dir, in job order."""
    paths = glob.glob(os.path.join(str(decode_dir), "lat.*.gz"))

    def job(p: str) -> int:
        try:
            return int(Path(p).name.split(".")[1])
        except ValueError:
            return 10 ** 9
    return sorted(paths, key=job)


def best_paths(lats: dict[str, Lattice], lmwt: float, wip: float) -> dict[str, list[int]]:
    """Word ids of each lattice's best path with acoustic scale 1/LMWT and insertion penalty WIP."""
    out: dict[str, list[int]] = {}
    for utt, lat in lats.items():
        bp = lattice_best_path(lat, 1.0, 1.0 / lmwt, wip)
        if bp is None:
            log.warning("Lattice for utterance %s has no path; not scoring it", utt)
            continue
        out[utt] = bp.words
    return out


def score_lattices(decode_dir: str | os.PathLike, ref_text: str | os.PathLike, word_syms: dict[int, str],
                   min_lmwt: int = 7, max_lmwt: int = 17, wips: Sequence[str] = ("0.0", "0.5", "1.0"),
                   lats: dict[str, Lattice] | None = None) -> SweepResult:
    """Run the sweep over ``decode_dir/lat.*.gz`` and write Kaldi's scoring files."""
    d = Path(decode_dir)
    if lats is None:
        paths = lattice_paths(d)
        if not paths:
            raise FileNotFoundError(f"no lattices {d}/lat.*.gz")
        lats = read_lattices(paths)
    ref = read_text(ref_text)
    table: dict[tuple[int, str], WerStats] = {}
    best_key = None
    for wip in wips:
        for lmwt in range(min_lmwt, max_lmwt + 1):
            hyp_ids = best_paths(lats, float(lmwt), float(wip))
            with atomic_write(d / "scoring" / f"{lmwt}.{wip}.tra") as f:
                for utt, ws in hyp_ids.items():
                    f.write(" ".join([utt] + [str(w) for w in ws]) + "\n")
            hyp = {u: [word_syms.get(w, str(w)) for w in ws] for u, ws in hyp_ids.items()}
            with atomic_write(d / "scoring" / "log" / f"best_path.{lmwt}.{wip}.log") as f:
                f.write(f"# lattice-scale --inv-acoustic-scale={lmwt} | lattice-add-penalty "
                        f"--word-ins-penalty={wip} | lattice-best-path (hybrid score-lattices)\n")
                for utt, ws in hyp.items():
                    f.write(" ".join([utt] + ws) + "\n")
            st = compute_wer(ref, hyp, mode="present")
            table[(lmwt, wip)] = st
            wer_file = d / f"wer_{lmwt}_{wip}"
            with atomic_write(wer_file) as f:
                f.write(f"compute-wer --text --mode=present ark:{ref_text} ark,p:-\n")
                f.write(st.format())
            if best_key is None or st.wer < table[best_key].wer:
                best_key = (lmwt, wip)
    best = table[best_key]
    best_line = f"{best.wer_line()} {d / f'wer_{best_key[0]}_{best_key[1]}'}"
    for p in (d / "scoring_kaldi" / "best_wer", d / "scoring" / "best_wer"):
        with atomic_write(p) as f:
            f.write(best_line + "\n")
    return SweepResult(best_key[0], best_key[1], best, table, best_line)
