"""Numerator FSAs from alignments (Kaldi's chain supervision, chain-supervision.cc).

From the phone segments of an alignment (phone, start, length at the original frame rate):

1. Tolerance (Kaldi's ``--left-tolerance 5 --right-tolerance 5``, ToleranceEnforcer): phone
   instance k may occupy original frames ``[start_k - left, end_k + right)``; at the subsampled
   rate (``--frame-subsampling-factor 3``) output frame t covers original frames
   ``[t·f, t·f + f)`` and allows phone k if any of them does. The utterance has
   ``ceil(T / f)`` output frames.
2. The phone sequence, in order, through the reordered pdf-level phone HMMs
   (:mod:`hybrid.chain.hmm`, left-biphone tree), one pdf per output frame, each frame's pdf
   belonging to a phone allowed at that frame: a time-indexed FSA (state = (frame, node)).
3. Chunks (e.g. 50 output frames = 150 input frames): the states at the chunk's first frame
   become initial and those at its last boundary final (Kaldi's SupervisionSplitter).
4. Composition with the normalization FSA (the den graph with its initial probabilities,
   Kaldi's AddWeightToSupervisionFst), so every numerator path is a denominator path with the
   same weight and ``log p_num ≤ log p_den``.

Results are :class:`NumeratorFsa` (an :class:`~hybrid.chain.graph.Fsa` plus each state's
frame), ready for :func:`hybrid.chain.loss.batch_numerators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from hybrid.chain.graph import NEG_INF, Fsa, fsa_from_arcs
from hybrid.chain.hmm import PhoneHmms, phone_window


@dataclass
class NumeratorFsa:
    fsa: Fsa
    state_frames: torch.Tensor  # (S,) frame index 0..num_frames of every state
    num_frames: int

    def pdf_sequences(self) -> set[tuple[int, ...]]:
        """Every pdf sequence the FSA accepts (enumeration: tiny cases and tests only)."""
        f = self.fsa
        out_arcs: dict[int, list] = {}
        for s, d, p, _w in f.arcs():
            out_arcs.setdefault(s, []).append((d, p))
        fin = torch.isfinite(f.final).tolist()
        res: set = set()
        stack = [(s, ()) for s in torch.nonzero(torch.isfinite(f.initial)).flatten().tolist()]
        while stack:
            s, seq = stack.pop()
            if len(seq) == self.num_frames:
                if fin[s]:
                    res.add(seq)
                continue
            for d, p in out_arcs.get(s, []):
                stack.append((d, seq + (p,)))
        return res


def allowed_frames(segments: Sequence[tuple[int, int, int]], num_frames: int, subsampling: int = 3,
                   left_tolerance: int = 5, right_tolerance: int = 5) -> tuple[int, list[tuple[int, int]]]:
    """Output frame count and, per phone instance, the inclusive range of output frames it may
    occupy. ``segments``: (phone, start, length) at the original rate, contiguous."""
    f = int(subsampling)
    T = (num_frames + f - 1) // f
    rng = []
    for _phone, start, length in segments:
        lo = max(0, start - left_tolerance)
        hi = min(num_frames, start + length + right_tolerance)  # exclusive
        rng.append((lo // f, (hi - 1) // f))
    return T, rng


def utterance_numerator(segments: Sequence[tuple[int, int, int]], num_frames: int, hmms: PhoneHmms,
                        subsampling: int = 3, left_tolerance: int = 5, right_tolerance: int = 5) -> NumeratorFsa:
    """Time-indexed numerator FSA of a whole utterance (no LM weights: all arcs weight one).

    Raises ValueError naming the problem when no path fits (e.g. more phones than frames).
    """
    phones = [int(p) for p, _s, _l in segments]
    if not phones:
        raise ValueError("empty alignment")
    T, rng = allowed_frames(segments, num_frames, subsampling, left_tolerance, right_tolerance)
    K = len(phones)
    # graph over nodes (k, node): k = phone index, node = (j, i) of phone k; start node (-1, None)
    start = (-1, None)
    out: dict = {}  # node -> list of (dst node, pdf, phone index emitting)
    exits: dict[int, list] = {}
    for k in range(K):
        internal, entry_arcs, F = hmms.arcs(phone_window(phones, k, hmms.N))
        for a, b, pdf in internal:
            out.setdefault((k, a), []).append(((k, b), pdf, k))
        ex = sorted({a for a, _b, _p in internal if a[0] == F} | {b for _a, b, _p in internal if b[0] == F}
                    | {b for b, _p in entry_arcs if b[0] == F}, key=repr)
        exits[k] = ex
        prev = [start] if k == 0 else [(k - 1, n) for n in exits[k - 1]]
        for p in prev:
            for b, pdf in entry_arcs:
                out.setdefault(p, []).append(((k, b), pdf, k))
    finals = {(K - 1, n) for n in exits[K - 1]}
    # forward expansion over frames, keeping only arcs whose emitting phone is allowed
    frontier = {start}
    layers = [frontier]
    arcs_t = []
    for t in range(T):
        nxt, arcs = set(), []
        for s in frontier:
            for d, pdf, k in out.get(s, ()):
                if rng[k][0] <= t <= rng[k][1]:
                    arcs.append((s, d, pdf))
                    nxt.add(d)
        arcs_t.append(arcs)
        layers.append(nxt)
        frontier = nxt
    # backward pruning
    alive = [set() for _ in range(T + 1)]
    alive[T] = layers[T] & finals
    for t in range(T - 1, -1, -1):
        alive[t] = {s for s, d, _p in arcs_t[t] if d in alive[t + 1]}
    if not alive[0]:
        raise ValueError(f"no numerator path: {K} phones in {T} output frames (tolerance "
                         f"{left_tolerance}/{right_tolerance}, subsampling {subsampling})")
    ids: dict = {}
    frames = []
    for t in range(T + 1):
        for s in sorted(alive[t], key=repr):
            ids[(t, s)] = len(ids)
            frames.append(t)
    arcs = [(ids[(t, s)], ids[(t + 1, d)], pdf, 0.0)
            for t in range(T) for s, d, pdf in arcs_t[t] if s in alive[t] and d in alive[t + 1]]
    n = len(ids)
    fin = {ids[(T, s)]: 0.0 for s in alive[T]}
    return NumeratorFsa(fsa_from_arcs(n, arcs, ids[(0, start)], fin), torch.tensor(frames), T)


def chunk_starts(num_frames: int, chunk: int) -> list[int]:
    """Starts of chunks of ``chunk`` output frames covering [0, num_frames), evenly spread
    (overlapping when needed); [] when the utterance is shorter than one chunk."""
    if num_frames < chunk:
        return []
    n = (num_frames + chunk - 1) // chunk
    if n == 1:
        return [0]
    span = num_frames - chunk
    return [round(i * span / (n - 1)) for i in range(n)]


def split_numerator(num: NumeratorFsa, start: int, length: int) -> NumeratorFsa:
    """The chunk [start, start+length) of a time-indexed numerator: states at ``start`` become
    initial (weight one), states at ``start+length`` final (their final weight if the chunk
    ends the utterance, else one)."""
    f, sf = num.fsa, num.state_frames
    end = start + length
    if start < 0 or end > num.num_frames:
        raise ValueError(f"chunk [{start}, {end}) outside [0, {num.num_frames})")
    keep = ((sf >= start) & (sf <= end)).numpy()
    new_id = np.cumsum(keep) - 1
    src, dst = f.src.numpy(), f.dst.numpy()
    m = keep[src] & keep[dst]
    S = int(keep.sum())
    init = np.full(S, NEG_INF)
    init[new_id[(sf.numpy() == start) & keep]] = 0.0
    fin = np.full(S, NEG_INF)
    at_end = (sf.numpy() == end) & keep
    fin[new_id[at_end]] = f.final.numpy()[at_end] if end == num.num_frames else 0.0
    arcs = np.stack([new_id[src[m]], new_id[dst[m]], f.pdf.numpy()[m], f.log_prob.numpy()[m]], 1)
    return NumeratorFsa(fsa_from_arcs(S, arcs, init, fin), sf[torch.from_numpy(keep)] - start, length)


def compose_with_den(num: NumeratorFsa, den: Fsa) -> NumeratorFsa:
    """Intersect a time-indexed numerator with the normalization FSA (den graph with initial
    probabilities, all states final with weight one): Kaldi's AddWeightToSupervisionFst.

    States are (numerator state, den state) pairs reachable frame by frame on matching pdfs,
    pruned to those on a complete path. Raises ValueError when the intersection is empty.
    """
    f = num.fsa
    S_den = den.num_states
    order = np.argsort(den.pdf.numpy(), kind="stable")
    d_src, d_dst = den.src.numpy()[order], den.dst.numpy()[order]
    d_pdf, d_lp = den.pdf.numpy()[order], den.log_prob.numpy()[order]
    P = max(int(d_pdf.max()) + 1 if d_pdf.size else 0, f.num_pdfs)
    bounds = np.searchsorted(d_pdf, np.arange(P + 1))
    d_init, d_fin = den.initial.numpy(), den.final.numpy()
    n_src, n_dst, n_pdf, n_lp = f.src.numpy(), f.dst.numpy(), f.pdf.numpy(), f.log_prob.numpy()
    n_init, n_fin = f.initial.numpy(), f.final.numpy()
    sf = num.state_frames.numpy()
    af = sf[n_src]
    T = num.num_frames
    # per frame: pair keys (n * S_den + d) of the frontier with their initial weights at t=0
    layer_arcs = []
    frontier: np.ndarray | None = None  # sorted keys; None at t=0 = every den state with init > 0
    for t in range(T):
        ai = np.nonzero(af == t)[0]
        cnt = bounds[n_pdf[ai] + 1] - bounds[n_pdf[ai]]
        na = np.repeat(ai, cnt)
        da = (np.concatenate([np.arange(bounds[p], bounds[p + 1]) for p in n_pdf[ai]])
              if ai.size else np.zeros(0, dtype=np.int64)).astype(np.int64)
        ks = n_src[na].astype(np.int64) * S_den + d_src[da]
        if frontier is None:
            ok = np.isfinite(n_init[n_src[na]]) & np.isfinite(d_init[d_src[da]])
        else:
            ok = np.isin(ks, frontier, assume_unique=False)
        na, da, ks = na[ok], da[ok], ks[ok]
        kd = n_dst[na].astype(np.int64) * S_den + d_dst[da]
        layer_arcs.append((ks, kd, n_pdf[na], n_lp[na] + d_lp[da]))
        frontier = np.unique(kd)
    # backward pruning: keep arcs leading to a final pair at T
    last = layer_arcs[-1][1] if layer_arcs else np.zeros(0, dtype=np.int64)
    fin_ok = np.isfinite(n_fin[last // S_den]) & np.isfinite(d_fin[last % S_den])
    alive = np.unique(last[fin_ok])
    kept = [None] * T
    for t in range(T - 1, -1, -1):
        ks, kd, p, w = layer_arcs[t]
        m = np.isin(kd, alive)
        kept[t] = (ks[m], kd[m], p[m], w[m])
        alive = np.unique(ks[m])
    if alive.size == 0:
        raise ValueError("numerator and denominator graphs have no path in common "
                         "(phone sequence not accepted by the phone LM / den graph?)")
    # number states frame by frame
    ids_per_t = [np.unique(kept[0][0])] + [np.unique(kept[t][1]) for t in range(T)]
    offsets = np.cumsum([0] + [len(x) for x in ids_per_t])
    S = int(offsets[-1])
    arcs = []
    for t in range(T):
        ks, kd, p, w = kept[t]
        s = offsets[t] + np.searchsorted(ids_per_t[t], ks)
        d = offsets[t + 1] + np.searchsorted(ids_per_t[t + 1], kd)
        arcs.append(np.stack([s, d, p, w], 1))
    arcs = np.concatenate(arcs) if arcs else np.zeros((0, 4))
    k0 = ids_per_t[0]
    init = np.full(S, NEG_INF)
    init[:len(k0)] = n_init[k0 // S_den] + d_init[k0 % S_den]
    kT = ids_per_t[T]
    fin = np.full(S, NEG_INF)
    fin[offsets[T]:] = n_fin[kT // S_den] + d_fin[kT % S_den]
    frames = torch.from_numpy(np.repeat(np.arange(T + 1), [len(x) for x in ids_per_t]))
    return NumeratorFsa(fsa_from_arcs(S, arcs, init, fin), frames, T)


def alignment_chunks(segments: Sequence[tuple[int, int, int]], num_frames: int, hmms: PhoneHmms,
                     den: Fsa | None, chunk: int = 50, subsampling: int = 3, left_tolerance: int = 5,
                     right_tolerance: int = 5) -> list[tuple[int, NumeratorFsa]]:
    """(start output frame, numerator FSA) for each chunk of an utterance, composed with the den
    graph when ``den`` is given. Utterances shorter than one chunk give []."""
    utt = utterance_numerator(segments, num_frames, hmms, subsampling, left_tolerance, right_tolerance)
    out = []
    for s in chunk_starts(utt.num_frames, chunk):
        c = split_numerator(utt, s, chunk)
        out.append((s, compose_with_den(c, den) if den is not None else c))
    return out
