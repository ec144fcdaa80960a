"""numba kernels of forced alignment (imported on first use: compile-train-graphs and
align-equal-compiled never load numba).

:func:`viterbi` is the token-pruned Viterbi search of :mod:`hybrid.align.viterbi`. Its acoustic
scores come from a per-utterance cache ``(T, num_pdfs)`` float64 of pdf log-likelihoods: with
``lazy`` set, an entry still NaN is computed when the search first needs it, as the float64
log-sum-exp of ``ll[t, g] + gconsts[g]`` over the pdf's Gaussians rounded to float32 — exactly
the value :meth:`hybrid.gmm.AmDiagGmm.log_likelihoods` gives, but only for the (frame, pdf) pairs
that the beam keeps alive (Kaldi's DecodableAmDiagGmm computes on demand likewise).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def pdf_loglik(ll, gconsts, offsets, cache, t, p):
    """Compute cache[t, p] (see the module docstring) and return it."""
    a, b = offsets[p], offsets[p + 1]
    m = -np.inf
    for g in range(a, b):
        x = ll[t, g] + gconsts[g]
        if x > m:
            m = x
    if m == -np.inf:
        v = -np.inf
    else:
        s = 0.0
        for g in range(a, b):
            s += np.exp((ll[t, g] + gconsts[g]) - m)
        v = np.float64(np.float32(m + np.log(s)))
    cache[t, p] = v
    return v


@njit(cache=True)
def viterbi(self_tid, final, arc_start, arc_dst, arc_tid, arc_cost, tcost, tid2pdf, ll, gconsts, offsets, cache,
            lazy, acoustic_scale, beam, min_active):
    """Token-pruned Viterbi over a training graph; returns (alignment, cost, ok).

    Only the active tokens are visited, in increasing node order (so ties resolve as in a scan of
    all nodes): the nodes reached in a frame are collected, pruned, sorted, and become the next
    frame's active list.
    """
    n_nodes = self_tid.shape[0]
    t_max = cache.shape[0]
    cur = np.full(n_nodes, np.inf)
    cur[0] = 0.0
    new = np.full(n_nodes, np.inf)
    bp = np.empty((t_max, n_nodes), dtype=np.int32)
    tmp = np.empty(n_nodes)
    active = np.zeros(n_nodes, dtype=np.int64)  # active[:n_active]: nodes with a token, increasing
    n_active = 1
    reached = np.empty(n_nodes, dtype=np.int64)
    for t in range(t_max):
        n_reached = 0
        for i in range(n_active):
            n = active[i]
            c0 = cur[n]
            st = self_tid[n]
            if st > 0:
                lk = cache[t, tid2pdf[st]]
                if lazy and lk != lk:
                    lk = pdf_loglik(ll, gconsts, offsets, cache, t, tid2pdf[st])
                c = c0 + tcost[st] - acoustic_scale * lk
                if c < new[n]:
                    if new[n] == np.inf:
                        reached[n_reached] = n
                        n_reached += 1
                    new[n] = c
                    bp[t, n] = -1
            for a in range(arc_start[n], arc_start[n + 1]):
                tid = arc_tid[a]
                lk = cache[t, tid2pdf[tid]]
                if lazy and lk != lk:
                    lk = pdf_loglik(ll, gconsts, offsets, cache, t, tid2pdf[tid])
                c = c0 + arc_cost[a] + tcost[tid] - acoustic_scale * lk
                d = arc_dst[a]
                if c < new[d]:
                    if new[d] == np.inf:
                        reached[n_reached] = d
                        n_reached += 1
                    new[d] = c
                    bp[t, d] = a
        # prune: best + beam, but keep at least min_active tokens
        best = np.inf
        for i in range(n_reached):
            v = new[reached[i]]
            tmp[i] = v
            if v < best:
                best = v
        if n_reached == 0:
            return np.zeros(0, dtype=np.int32), np.inf, False
        cutoff = best + beam
        if n_reached > min_active:
            kth = np.partition(tmp[:n_reached], min_active)[min_active]
            if kth > cutoff:
                cutoff = kth
        else:
            cutoff = np.inf
        for i in range(n_active):  # the old tokens are gone
            cur[active[i]] = np.inf
        n_active = 0
        for i in range(n_reached):
            d = reached[i]
            if new[d] > cutoff:
                new[d] = np.inf
            else:
                active[n_active] = d
                n_active += 1
        active[:n_active].sort()
        cur, new = new, cur
    best = np.inf
    bn = -1
    for i in range(n_active):
        n = active[i]
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


@njit(cache=True)
def min_length(final, arc_start, arc_dst):
    """Fewest arcs (frames) on any path from node 0 to a final node; -1 when none (BFS)."""
    n_nodes = final.shape[0]
    dist = np.full(n_nodes, -1, dtype=np.int64)
    queue = np.empty(n_nodes, dtype=np.int64)
    dist[0] = 0
    queue[0] = 0
    head, tail = 0, 1
    while head < tail:
        n = queue[head]
        head += 1
        if np.isfinite(final[n]):
            return dist[n]
        for a in range(arc_start[n], arc_start[n + 1]):
            d = arc_dst[a]
            if dist[d] < 0:
                dist[d] = dist[n] + 1
                queue[tail] = d
                tail += 1
    return -1
