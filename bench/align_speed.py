#!/usr/bin/env python3
"""Alignment speed: seconds of audio aligned per CPU second (Kaldi: ~1370 on AN4 train).

Aligns every utterance of a data dir with a trained model (graphs compiled beforehand, not timed;
features computed beforehand, not timed), in this process, and times log-likelihoods + Viterbi
with process CPU time, as gmm-align-compiled computes them (pdf log-likelihoods on demand,
:func:`hybrid.align.viterbi_align_gmm`). ``--compare`` also times the full-matrix path
(``am.log_likelihoods`` then :func:`hybrid.align.viterbi_align`) and checks that the alignments
and likelihoods are identical. Writes bench/out/align_speed.json.

  .venv/bin/python bench/align_speed.py EXP_DIR [--data D] [--lang L] [--frame-shift 0.01] [--compare]
"""

from __future__ import annotations

import argparse
import json
import os
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one thread: threaded BLAS spins and inflates CPU time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    from hybrid.align import (TrainingGraphCompiler, read_transcripts, transition_costs, viterbi_align,
                              viterbi_align_gmm)
    from hybrid.align.jobs import feature_reader
    from hybrid.gmm import read_model
    from hybrid.tree import read_tree

    s5 = REPO / "egs" / "an4" / "s5"
    ap = argparse.ArgumentParser()
    ap.add_argument("exp")
    ap.add_argument("--data", default=str(s5 / "data" / "train"))
    ap.add_argument("--lang", default=str(s5 / "data" / "lang"))
    ap.add_argument("--beam", type=float, default=10.0)
    ap.add_argument("--retry-beam", type=float, default=40.0)
    ap.add_argument("--frame-shift", type=float, default=0.01)
    ap.add_argument("--compare", action="store_true",
                    help="also align from full log-likelihood matrices (the old path) and check identity")
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "align_speed.json"))
    a = ap.parse_args()
    exp, lang = Path(a.exp), Path(a.lang)
    tm, am = read_model(exp / "final.mdl")
    ctx = read_tree(exp / "tree")
    oov = int((lang / "oov.int").read_text().split()[0])
    comp = TrainingGraphCompiler(tm, ctx, lang / "L.fst")
    t0 = time.process_time()
    graphs = {u: comp.compile(w) for u, w in read_transcripts(Path(a.data) / "text", lang / "words.txt", oov)}
    t_graph = time.process_time() - t0
    feats = list(feature_reader(a.data, delta_order=2))
    tcost = transition_costs(tm, 1.0, 0.1)
    tid2pdf = tm.tid2pdf.astype(np.int32)
    # warm up numba
    u0, x0 = feats[0]
    viterbi_align(graphs[u0], am.log_likelihoods(x0), tid2pdf, tcost, beam=a.beam, retry_beam=a.retry_beam)
    viterbi_align_gmm(graphs[u0], am, x0, tid2pdf, tcost, beam=a.beam, retry_beam=a.retry_beam)

    def run(lazy: bool) -> dict:
        t0 = time.process_time()
        w0 = time.time()
        frames = errors = retried = 0
        t_ll = tot_like = 0.0
        alis = {}
        for utt, x in feats:
            if lazy:  # pdf log-likelihoods computed as the search reaches them (gmm-align-compiled)
                r = viterbi_align_gmm(graphs[utt], am, x, tid2pdf, tcost, beam=a.beam, retry_beam=a.retry_beam)
            else:  # the full (T, num_pdfs) matrix first
                s = time.process_time()
                ll = am.log_likelihoods(x)
                t_ll += time.process_time() - s
                r = viterbi_align(graphs[utt], ll, tid2pdf, tcost, beam=a.beam, retry_beam=a.retry_beam)
            frames += len(x)
            retried += r.retried
            if r.alignment is None:
                errors += 1
            else:
                tot_like += r.log_like
                alis[utt] = r.alignment
        cpu = time.process_time() - t0
        audio = frames * a.frame_shift
        return dict(frames=frames, audio_s=round(audio, 1), cpu_s=round(cpu, 3), wall_s=round(time.time() - w0, 3),
                    audio_s_per_cpu_s=round(audio / cpu, 1), errors=errors, retried=retried,
                    avg_like_per_frame=round(tot_like / max(frames, 1), 4), alis=alis,
                    **({} if lazy else dict(loglik_cpu_s=round(t_ll, 3))))

    fast = run(True)
    res = dict(model=str(exp / "final.mdl"), utterances=len(feats), num_gauss=am.num_gauss, num_pdfs=am.num_pdfs,
               beam=a.beam, retry_beam=a.retry_beam, graph_compile_cpu_s=round(t_graph, 2),
               blas_threads=os.environ.get("OPENBLAS_NUM_THREADS"))
    alis = fast.pop("alis")
    res.update(fast)
    if a.compare:
        full = run(False)
        full_alis = full.pop("alis")
        same = full_alis.keys() == alis.keys() and all(np.array_equal(alis[u], full_alis[u]) for u in alis)
        res["full_loglik_matrix"] = full
        res["identical_to_full_loglik_matrix"] = bool(same and full["avg_like_per_frame"] == fast["avg_like_per_frame"])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
