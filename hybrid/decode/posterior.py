"""Lattice posteriors (Kaldi's lattice-to-post) and Kaldi's posterior archives.

A posterior is, per frame, a list of (transition-id, weight) pairs. :func:`lattice_posteriors`
runs forward-backward over a :class:`~hybrid.decode.lattice.Lattice` (states are topologically
sorted, start state 0) in the log semiring with path cost ``lm_scale * graph + acoustic_scale *
acoustic``; each arc's posterior goes to the transition-ids of its string at their frames.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator

import numpy as np

from hybrid.decode.lattice import Lattice

__all__ = ["Posterior", "lattice_posteriors", "alignment_posterior", "write_posteriors", "read_posteriors"]

# (frames, tids, weights): parallel arrays, one entry per (frame, transition-id), sorted by frame then tid
Posterior = tuple[np.ndarray, np.ndarray, np.ndarray]


def _logaddexp_into(dst: np.ndarray, i: int, v: float) -> None:
    dst[i] = np.logaddexp(dst[i], v)


def lattice_posteriors(lat: Lattice, acoustic_scale: float = 1.0, lm_scale: float = 1.0,
                       ) -> tuple[Posterior, float, int]:
    """Per-frame transition-id posteriors of ``lat`` (Kaldi's lattice-to-post).

    Returns ``((frames, tids, weights), total_log_like, num_frames)`` where ``total_log_like`` is
    the log of the sum over paths of ``exp(-cost)`` (Kaldi logs it per frame). Raises ValueError for
    an empty lattice, one whose paths have different lengths, or one with no successful path.
    """
    n = lat.num_states
    if n == 0:
        raise ValueError("empty lattice")
    cost = lm_scale * lat.graph + acoustic_scale * lat.acoustic
    fcost = lm_scale * lat.final_graph + acoustic_scale * lat.final_acoustic
    flen = np.zeros(n, np.int64)
    if lat.final_ali_start is not None:
        flen = np.diff(lat.final_ali_start)
    alen = np.diff(lat.ali_start)
    src = np.repeat(np.arange(n), np.diff(lat.arc_start))
    if np.any(lat.nextstate <= src):
        raise ValueError("lattice states are not topologically sorted")
    # frame at each state
    t = np.full(n, -1, np.int64)
    t[0] = 0
    for a in range(lat.num_arcs):
        s, d = src[a], lat.nextstate[a]
        if t[s] < 0:
            continue
        if t[d] < 0:
            t[d] = t[s] + alen[a]
        elif t[d] != t[s] + alen[a]:
            raise ValueError("lattice paths have different lengths")
    alpha = np.full(n, -np.inf)
    alpha[0] = 0.0
    for a in range(lat.num_arcs):  # arcs are grouped by source state, states in topological order
        if alpha[src[a]] > -np.inf:
            _logaddexp_into(alpha, int(lat.nextstate[a]), alpha[src[a]] - cost[a])
    final_ok = np.isfinite(lat.final_graph) & (alpha > -np.inf)
    if not final_ok.any():
        raise ValueError("lattice has no successful path")
    lengths = t[final_ok] + flen[final_ok]
    if np.any(lengths != lengths[0]):
        raise ValueError("lattice paths have different lengths")
    num_frames = int(lengths[0])
    beta = np.where(np.isfinite(lat.final_graph), -fcost, -np.inf)
    for a in range(lat.num_arcs - 1, -1, -1):
        d = int(lat.nextstate[a])
        if beta[d] > -np.inf:
            _logaddexp_into(beta, int(src[a]), -cost[a] + beta[d])
    total = float(beta[0])
    fr_l, tid_l, w_l = [], [], []
    for a in range(lat.num_arcs):
        s, d = src[a], lat.nextstate[a]
        lp = alpha[s] - cost[a] + beta[d] - total
        if not np.isfinite(lp) or alen[a] == 0:
            continue
        tids = lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]]
        fr_l.append(t[s] + np.arange(len(tids)))
        tid_l.append(tids)
        w_l.append(np.full(len(tids), np.exp(lp)))
    if lat.final_ali_start is not None:
        for s in np.nonzero(final_ok & (flen > 0))[0]:
            lp = alpha[s] - fcost[s] - total
            tids = lat.final_ali[lat.final_ali_start[s]:lat.final_ali_start[s + 1]]
            fr_l.append(t[s] + np.arange(len(tids)))
            tid_l.append(tids)
            w_l.append(np.full(len(tids), np.exp(lp)))
    if not fr_l:
        z = np.zeros(0, np.int64)
        return (z, z.astype(np.int32), np.zeros(0)), total, num_frames
    fr, tid, w = np.concatenate(fr_l), np.concatenate(tid_l).astype(np.int64), np.concatenate(w_l)
    return _merge(fr, tid, w), total, num_frames


def _merge(frames: np.ndarray, tids: np.ndarray, weights: np.ndarray) -> Posterior:
    """Sum the weights of equal (frame, tid) pairs; sorted by frame, then tid."""
    key = frames.astype(np.int64) * (int(tids.max(initial=0)) + 1) + tids
    uniq, inv = np.unique(key, return_inverse=True)
    w = np.zeros(len(uniq))
    np.add.at(w, inv, weights)
    first = np.zeros(len(uniq), np.int64)
    first[inv[::-1]] = np.arange(len(key))[::-1]
    return frames[first].astype(np.int64), tids[first].astype(np.int32), w


def alignment_posterior(ali: np.ndarray) -> Posterior:
    """ali-to-post: weight 1 on each frame's transition-id."""
    ali = np.asarray(ali)
    return np.arange(len(ali), dtype=np.int64), ali.astype(np.int32), np.ones(len(ali))


def write_posteriors(items: Iterable[tuple[str, Posterior, int]], path: str | os.PathLike) -> None:
    """Kaldi's text Posterior archive (``utt [ tid w tid w ] [ ] ...``, one bracket per frame), atomically."""
    from hybrid.io import atomic_write

    lines = []
    for utt, (fr, tid, w), num_frames in items:
        per = [[] for _ in range(num_frames)]
        for f, k, x in zip(fr.tolist(), tid.tolist(), w.tolist()):
            per[f].append(f"{k} {x:.6g}")
        lines.append(utt + " " + " ".join("[ " + " ".join(p) + " ]" if p else "[ ]" for p in per))
    with atomic_write(path) as f:
        f.write("".join(ln + "\n" for ln in lines))


def read_posteriors(path: str | os.PathLike) -> Iterator[tuple[str, Posterior, int]]:
    """Read a text Posterior archive (as :func:`write_posteriors` or Kaldi's ``ark,t`` writes it)."""
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            utt, toks = parts[0], parts[1:]
            fr, tid, w = [], [], []
            frame, i = 0, 0
            try:
                while i < len(toks):
                    if toks[i] != "[":
                        raise ValueError(f"expected '[' at token {i + 2}")
                    i += 1
                    while toks[i] != "]":
                        fr.append(frame)
                        tid.append(int(toks[i]))
                        w.append(float(toks[i + 1]))
                        i += 2
                    i += 1
                    frame += 1
            except (IndexError, ValueError) as e:
                raise ValueError(f"{path}:{lineno}: bad posterior for utterance {utt}: {e}") from None
            yield utt, (np.asarray(fr, np.int64), np.asarray(tid, np.int32), np.asarray(w)), frame
