"""Viterbi forced alignment over a :class:`~hybrid.align.graph.TrainingGraph` (numba).

Kaldi's gmm-align-compiled / AlignUtteranceWrapper: FasterDecoder-style beam pruning (cutoff =
best + beam, but never fewer than ``min_active`` = 20 tokens kept), success only when a final node
is active after the last frame; on failure the utterance is retried at ``retry_beam``. Costs:
arcs' lexicon cost + transition cost (from the current model, transition-scale 1.0,
self-loop-scale 0.1) − acoustic_scale · log p(x_t | pdf(tid)). The reported log-likelihood is
−(total cost) / acoustic_scale, as Kaldi's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from hybrid.align.graph import TrainingGraph, careful_graph


@njit(cache=True)
def _viterbi(self_tid, final, arc_start, arc_dst, arc_tid, arc_cost, tcost, tid2pdf, loglik,
             acoustic_scale, beam, min_active):
    n_nodes = self_tid.shape[0]
    t_max = loglik.shape[0]
    cur = np.full(n_nodes, np.inf)
    cur[0] = 0.0
    new = np.empty(n_nodes)
    bp = np.empty((t_max, n_nodes), dtype=np.int32)
    tmp = np.empty(n_nodes)
    for t in range(t_max):
        new[:] = np.inf
        for n in range(n_nodes):
            c0 = cur[n]
            if c0 == np.inf:
                continue
            st = self_tid[n]
            if st > 0:
                c = c0 + tcost[st] - acoustic_scale * loglik[t, tid2pdf[st]]
                if c < new[n]:
                    new[n] = c
                    bp[t, n] = -1
            for a in range(arc_start[n], arc_start[n + 1]):
                tid = arc_tid[a]
                c = c0 + arc_cost[a] + tcost[tid] - acoustic_scale * loglik[t, tid2pdf[tid]]
                d = arc_dst[a]
                if c < new[d]:
                    new[d] = c
                    bp[t, d] = a
        # prune: best + beam, but keep at least min_active tokens
        best = np.inf
        cnt = 0
        for n in range(n_nodes):
            if new[n] < np.inf:
                tmp[cnt] = new[n]
                cnt += 1
                if new[n] < best:
                    best = new[n]
        if cnt == 0:
            return np.zeros(0, dtype=np.int32), np.inf, False
        cutoff = best + beam
        if cnt > min_active:
            kth = np.partition(tmp[:cnt], min_active)[min_active]
            if kth > cutoff:
                cutoff = kth
        else:
            cutoff = np.inf
        for n in range(n_nodes):
            if new[n] > cutoff:
                new[n] = np.inf
        cur, new = new, cur
    best = np.inf
    bn = -1
    for n in range(n_nodes):
        c = cur[n] + final[n]
        if c < best:
            best = c
            bn = n
    if bn < 0:
        return np.zeros(0, dtype=np.int32), np.inf, False
    ali = np.empty(t_max, dtype=np.int32)
    n = bn
    for t in range(t_max - 1, -1, -1):
        a = bp[t, n]
        if a < 0:
            ali[t] = self_tid[n]
        else:
            ali[t] = arc_tid[a]
            # source of arc a: binary search in arc_start
            lo, hi = 0, n_nodes
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if arc_start[mid] <= a:
                    lo = mid
                else:
                    hi = mid
            n = lo
    if n != 0:
        return np.zeros(0, dtype=np.int32), np.inf, False
    return ali, best, True


@dataclass
class AlignResult:
    alignment: np.ndarray | None
    log_like: float  # −cost / acoustic_scale (Kaldi's "like"), nan on failure
    retried: bool


def viterbi_align(g: TrainingGraph, loglik: np.ndarray, tid2pdf: np.ndarray, tcost: np.ndarray, *,
                  acoustic_scale: float = 0.1, beam: float = 10.0, retry_beam: float = 40.0,
                  careful: bool = False, min_active: int = 20) -> AlignResult:
    """Align one utterance (``loglik``: (T, num_pdfs) pdf log-likelihoods)."""
    if retry_beam != 0 and retry_beam <= beam or beam <= 0:
        raise ValueError(f"Beams do not make sense: beam {beam}, retry-beam {retry_beam}")
    if careful:
        g = careful_graph(g)
    args = (g.self_tid, g.final.astype(np.float64), g.arc_start, g.arc_dst, g.arc_tid,
            g.arc_cost.astype(np.float64), tcost, tid2pdf, loglik, float(acoustic_scale))
    ali, cost, ok = _viterbi(*args, float(beam), int(min_active))
    retried = False
    if not ok and retry_beam:
        retried = True
        ali, cost, ok = _viterbi(*args, float(retry_beam), int(min_active))
    if not ok:
        return AlignResult(None, float("nan"), retried)
    return AlignResult(ali, -cost / acoustic_scale, retried)
