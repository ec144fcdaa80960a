"""Word lattices in Kaldi's CompactLattice form, as flat arrays.

A :class:`Lattice` is an acceptor over word ids (0 = epsilon) whose arc weights are
Kaldi's ``CompactLatticeWeight``: a pair ``(graph_cost, acoustic_cost)`` plus a string of
transition-ids. States are numbered in topological order, 0 is the start state.
Acoustic costs are stored unscaled (as Kaldi writes lattices: the decoder's
acoustic scale is undone before writing).

The decoder's state-level lattice is first turned into a CompactLattice by merging chains
(``lattice_from_raw``), then determinized on word labels (``determinize_lattice_pruned``, as
Kaldi's determinize-lattice-pruned: one path per word sequence, the best under the decoding
acoustic scale, with its alignment; when that would be too big the lattice is pruned harder and
the determinization retried, or kept undeterminized).

``lattice_best_path`` is Kaldi's ``lattice-scale`` + ``lattice-add-penalty`` +
``lattice-best-path`` in one pass: the path minimising
``graph_scale*graph + acoustic_scale*acoustic + word_ins_penalty*num_words``.
Tie-break (deterministic): when two arcs reach a state with exactly equal cost and both carry
a word, the lower word id wins (in AN4, O before OH, which share a pronunciation and LM cost);
any other exact tie goes to the earlier state/arc in topological/arc order.

Binary I/O follows OpenFst's VectorFst format with arc type ``compactlattice44`` inside a
Kaldi archive (``<key> \\0B<fst>``), so Kaldi's ``lattice-copy`` etc. can read our
``lat.JOB.gz`` and we can read Kaldi's.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
from numba import njit

from hybrid.io import atomic_path, open_rspecifier, rspecifier_path

FST_MAGIC = 2125659606
SYMTAB_MAGIC = 2125658996
_INF = np.inf


@dataclass
class Lattice:
    """CompactLattice as CSR arrays; arcs of state ``s`` are ``arc_start[s]:arc_start[s+1]``.

    The transition-ids of arc ``a`` are ``ali[ali_start[a]:ali_start[a+1]]``.
    """

    arc_start: np.ndarray   # int64 (S+1,)
    word: np.ndarray        # int32 (A,)
    graph: np.ndarray       # float64 (A,)
    acoustic: np.ndarray    # float64 (A,)
    nextstate: np.ndarray   # int64 (A,)
    ali_start: np.ndarray   # int64 (A+1,)
    ali: np.ndarray         # int32 (sum of string lengths,)
    final_graph: np.ndarray     # float64 (S,), +inf if not final
    final_acoustic: np.ndarray  # float64 (S,)
    final_ali_start: np.ndarray | None = None  # int64 (S+1,) strings on final weights (rare)
    final_ali: np.ndarray | None = None

    @property
    def num_states(self) -> int:
        return int(self.final_graph.shape[0])

    @property
    def num_arcs(self) -> int:
        return int(self.word.shape[0])


@dataclass
class BestPath:
    """One path: words (no epsilons), transition-id alignment and its unscaled costs."""

    words: list[int]
    alignment: list[int]
    graph_cost: float
    acoustic_cost: float


def empty_lattice() -> Lattice:
    z64 = np.zeros(0, np.int64)
    return Lattice(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0), z64,
                   np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0))


# --------------------------------------------------------------------------- construction
@njit(cache=True)
def _compress_chains(arc_start, word, graph, ac, nexts, tid, final_g):
    """Merge chains through states with one arc in, one arc out, not final, carrying at most one word.

    Input arcs carry one transition-id each (0 = none). Output: a CompactLattice whose arcs
    carry strings of transition-ids; states renumbered in topological order.
    """
    n = final_g.shape[0]
    na = word.shape[0]
    indeg = np.zeros(n, np.int64)
    for a in range(na):
        indeg[nexts[a]] += 1
    keep = np.zeros(n, np.bool_)
    if n > 0:
        keep[0] = True
    for s in range(n):
        if indeg[s] != 1 or arc_start[s + 1] - arc_start[s] != 1 or final_g[s] != _INF:
            keep[s] = True
    # walk chains from kept states (in topological order); a chain stops at a kept state or
    # where a second word would be needed, and that state becomes kept.
    o_src = np.empty(na, np.int64)
    o_word = np.empty(na, np.int32)
    o_graph = np.empty(na, np.float64)
    o_ac = np.empty(na, np.float64)
    o_next = np.empty(na, np.int64)
    o_ali_start = np.zeros(na + 1, np.int64)
    o_ali = np.empty(na, np.int32)
    no = 0
    nali = 0
    for s in range(n):
        if not keep[s]:
            continue
        for a0 in range(arc_start[s], arc_start[s + 1]):
            w = word[a0]
            g = graph[a0]
            c = ac[a0]
            if tid[a0] != 0:
                o_ali[nali] = tid[a0]
                nali += 1
            d = nexts[a0]
            while not keep[d]:
                a = arc_start[d]
                if w != 0 and word[a] != 0:
                    keep[d] = True  # indeg 1: only this chain reaches d; it is visited later (d > s)
                    break
                if word[a] != 0:
                    w = word[a]
                g += graph[a]
                c += ac[a]
                if tid[a] != 0:
                    o_ali[nali] = tid[a]
                    nali += 1
                d = nexts[a]
            o_src[no] = s
            o_word[no] = w
            o_graph[no] = g
            o_ac[no] = c
            o_next[no] = d
            no += 1
            o_ali_start[no] = nali
    newid = np.full(n, -1, np.int64)
    m = 0
    for s in range(n):
        if keep[s]:
            newid[s] = m
            m += 1
    arc_start2 = np.zeros(m + 1, np.int64)
    for i in range(no):
        arc_start2[newid[o_src[i]] + 1] += 1
    for i in range(m):
        arc_start2[i + 1] += arc_start2[i]
    for i in range(no):
        o_next[i] = newid[o_next[i]]
    final2 = np.full(m, _INF, np.float64)
    for s in range(n):
        if keep[s]:
            final2[newid[s]] = final_g[s]
    # arcs are already grouped by source in increasing kept-state order
    return arc_start2, o_word[:no].copy(), o_graph[:no].copy(), o_ac[:no].copy(), o_next[:no].copy(), \
        o_ali_start[:no + 1].copy(), o_ali[:nali].copy(), final2


def lattice_from_raw(arc_start, word, graph, ac, nexts, tid, final_g, acoustic_scale: float) -> Lattice:
    """Build a CompactLattice from the decoder's state-level lattice; undo the acoustic scale."""
    if final_g.shape[0] == 0:
        return empty_lattice()
    a2, w2, g2, c2, n2, as2, ali2, f2 = _compress_chains(arc_start, word, graph, ac, nexts, tid, final_g)
    if acoustic_scale != 0.0:
        c2 = c2 / acoustic_scale
    return Lattice(a2, w2, g2, c2, n2, as2, ali2, f2, np.zeros_like(f2))


# --------------------------------------------------------------------------- determinization
def determinize_lattice(lat: Lattice, acoustic_scale: float, max_states: int = 20000,
                        max_work: int = 100000) -> Lattice | None:
    """Word-level determinization in the lattice semiring (Kaldi's determinize-lattice).

    The result has at most one arc per word label out of each state and no epsilon arcs, and
    keeps, for every word sequence of ``lat``, only its best path under
    ``graph + acoustic_scale * acoustic`` with that path's alignment (arc strings carry the
    longest common prefix of the alignments still possible; the rest moves forward).
    Returns None when more than ``max_states`` states or ``max_work`` elementary steps would be
    needed (as Kaldi's ``max_mem``; the caller prunes harder and retries, or keeps the lattice).
    Ties between equal costs go to the lexicographically smaller alignment; word labels are
    expanded in increasing order.
    """
    n = lat.num_states
    if n == 0:
        return lat
    # plain Python lists: much faster than numpy scalars in these loops
    arc_start, word, nexts = lat.arc_start.tolist(), lat.word.tolist(), lat.nextstate.tolist()
    gs, acs = lat.graph.tolist(), lat.acoustic.tolist()
    ali_start, ali = lat.ali_start.tolist(), lat.ali.tolist()
    strs = [tuple(ali[ali_start[a]:ali_start[a + 1]]) for a in range(lat.num_arcs)]
    has_word = [any(word[a] != 0 for a in range(arc_start[s], arc_start[s + 1])) for s in range(n)]
    is_final = (~np.isinf(lat.final_graph)).tolist()
    final_graph, final_acoustic = lat.final_graph.tolist(), lat.final_acoustic.tolist()
    fstr = [()] * n
    if lat.final_ali_start is not None:
        fstr = [tuple(lat.final_ali[lat.final_ali_start[s]:lat.final_ali_start[s + 1]].tolist()) for s in range(n)]
    sc = float(acoustic_scale)

    def better(x, y) -> bool:  # x, y = (g, a, string)
        tx, ty = x[0] + sc * x[1], y[0] + sc * y[1]
        return tx < ty or (tx == ty and x[2] < y[2])

    work = [0]

    def closure(elems: dict) -> dict:
        """Epsilon closure; keeps only states with word arcs or final (as Kaldi's subsets)."""
        best = dict(elems)
        work[0] += len(best)
        import heapq
        heap = list(best)
        heapq.heapify(heap)
        seen = set()
        while heap:
            s = heapq.heappop(heap)
            if s in seen:
                continue
            seen.add(s)
            work[0] += 1
            g, a, st = best[s]
            for arc in range(arc_start[s], arc_start[s + 1]):
                if word[arc] != 0:
                    continue
                d = nexts[arc]
                cand = (g + gs[arc], a + acs[arc], st + strs[arc])
                if d not in best or better(cand, best[d]):
                    best[d] = cand
                    heapq.heappush(heap, d)
        return {s: v for s, v in best.items() if has_word[s] or is_final[s]}

    def key(sub: dict):  # weights quantized as Kaldi's hashing of subsets (delta ~1e-3)
        return tuple((s, int(g * 1024.0 + 0.5), int(a * 64.0 + 0.5), st) for s, (g, a, st) in sorted(sub.items()))

    start = closure({0: (0.0, 0.0, ())})
    subsets = [start]
    index = {key(start): 0}
    src, wd, og, oa, nx, ostr = [], [], [], [], [], []
    finals_g, finals_a, final_strs = [], [], []
    i = 0
    while i < len(subsets):
        sub = subsets[i]
        # final weight of the subset
        fbest = None
        for s, (g, a, st) in sub.items():
            if is_final[s]:
                cand = (g + final_graph[s], a + final_acoustic[s], st + fstr[s])
                if fbest is None or better(cand, fbest):
                    fbest = cand
        finals_g.append(np.inf if fbest is None else fbest[0])
        finals_a.append(0.0 if fbest is None else fbest[1])
        final_strs.append(np.zeros(0, np.int32) if fbest is None else np.asarray(fbest[2], np.int32))
        # word transitions
        by_word: dict[int, dict] = {}
        for s, (g, a, st) in sub.items():
            for arc in range(arc_start[s], arc_start[s + 1]):
                w = word[arc]
                if w == 0:
                    continue
                d = nexts[arc]
                cand = (g + gs[arc], a + acs[arc], st + strs[arc])
                tgt = by_word.setdefault(w, {})
                if d not in tgt or better(cand, tgt[d]):
                    tgt[d] = cand
        if work[0] > max_work:
            return None
        for w in sorted(by_word):
            tgt = closure(by_word[w])
            if not tgt:
                continue
            vals = list(tgt.values())
            wbest = vals[0]
            for v in vals[1:]:
                if better(v, wbest):
                    wbest = v
            prefix = vals[0][2]
            for v in vals[1:]:
                k = 0
                m = min(len(prefix), len(v[2]))
                while k < m and prefix[k] == v[2][k]:
                    k += 1
                prefix = prefix[:k]
            np_ = len(prefix)
            new = {s: (g - wbest[0], a - wbest[1], st[np_:]) for s, (g, a, st) in tgt.items()}
            kk = key(new)
            j = index.get(kk)
            if j is None:
                if len(subsets) >= max_states:
                    return None
                j = len(subsets)
                index[kk] = j
                subsets.append(new)
            src.append(i)
            wd.append(w)
            og.append(wbest[0])
            oa.append(wbest[1])
            nx.append(j)
            ostr.append(np.asarray(prefix, np.int32))
        i += 1
    return _from_arc_list(0, len(subsets), src, wd, og, oa, nx, ostr, finals_g, finals_a, final_strs)


@njit(cache=True)
def _prune_arcs(arc_start, word, graph, ac, nexts, final_g, final_a, acs, beam):
    """Forward-backward: keep arcs on a path within ``beam`` of the best (costs g + acs*a)."""
    n = final_g.shape[0]
    alpha = np.full(n, _INF)
    beta = np.full(n, _INF)
    alpha[0] = 0.0
    for s in range(n):
        if alpha[s] == _INF:
            continue
        for a in range(arc_start[s], arc_start[s + 1]):
            c = alpha[s] + graph[a] + acs * ac[a]
            if c < alpha[nexts[a]]:
                alpha[nexts[a]] = c
    for s in range(n - 1, -1, -1):
        b = _INF
        if final_g[s] != _INF:
            b = final_g[s] + acs * final_a[s]
        for a in range(arc_start[s], arc_start[s + 1]):
            c = graph[a] + acs * ac[a] + beta[nexts[a]]
            if c < b:
                b = c
        beta[s] = b
    best = beta[0]
    keep = np.zeros(nexts.shape[0], np.bool_)
    keep_final = np.zeros(n, np.bool_)
    for s in range(n):
        for a in range(arc_start[s], arc_start[s + 1]):
            keep[a] = alpha[s] + graph[a] + acs * ac[a] + beta[nexts[a]] <= best + beam
        keep_final[s] = final_g[s] != _INF and alpha[s] + final_g[s] + acs * final_a[s] <= best + beam
    return keep, keep_final


def prune_lattice(lat: Lattice, acoustic_scale: float, beam: float) -> Lattice:
    """Kaldi's lattice-prune: drop arcs and final weights not on a path within ``beam`` of the best."""
    if lat.num_states == 0:
        return lat
    keep, keep_final = _prune_arcs(lat.arc_start, lat.word, lat.graph, lat.acoustic, lat.nextstate,
                                   lat.final_graph, lat.final_acoustic, float(acoustic_scale), float(beam))
    src = np.repeat(np.arange(lat.num_states), np.diff(lat.arc_start))
    idx = np.nonzero(keep)[0]
    strs = [lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]] for a in idx]
    fg = np.where(keep_final, lat.final_graph, np.inf)
    fstr = [np.zeros(0, np.int32)] * lat.num_states
    if lat.final_ali_start is not None:
        fstr = [lat.final_ali[lat.final_ali_start[s]:lat.final_ali_start[s + 1]] for s in range(lat.num_states)]
    return _from_arc_list(0, lat.num_states, src[idx].tolist(), lat.word[idx].tolist(), lat.graph[idx].tolist(),
                          lat.acoustic[idx].tolist(), lat.nextstate[idx].tolist(), strs, fg.tolist(),
                          lat.final_acoustic.tolist(), fstr)


def determinize_lattice_pruned(lat: Lattice, acoustic_scale: float, beam: float, max_states: int = 20000,
                               max_work: int = 50000) -> tuple[Lattice, bool]:
    """Determinize; when too large, prune with a smaller beam (0.6, then 0.35 x ``beam``) and retry
    (with half, then a quarter of the work budget, so the cost stays bounded),
    as Kaldi's DeterminizeLatticePruned does when it exceeds max-mem. If that fails too, the
    undeterminized lattice is returned. Returns (lattice, determinized)."""
    cur = lat
    for factor, work in ((1.0, max_work), (0.6, max_work // 2), (0.35, max_work // 4)):
        if factor < 1.0:
            cur = prune_lattice(lat, acoustic_scale, beam * factor)
        det = determinize_lattice(cur, acoustic_scale, max_states, work)
        if det is not None:
            return det, True
    return lat, False


# --------------------------------------------------------------------------- best path
@njit(cache=True)
def _best_path(arc_start, word, graph, ac, nexts, final_g, final_a, gs, acs, wip):
    n = final_g.shape[0]
    dist = np.full(n, _INF, np.float64)
    back = np.full(n, -1, np.int64)
    if n == 0:
        return -1, back
    dist[0] = 0.0
    for s in range(n):
        ds = dist[s]
        if ds == _INF:
            continue
        for a in range(arc_start[s], arc_start[s + 1]):
            c = ds + gs * graph[a] + acs * ac[a]
            if word[a] != 0:
                c += wip
            d = nexts[a]
            if c < dist[d]:
                dist[d] = c
                back[d] = a
            elif c == dist[d] and word[a] != 0 and back[d] >= 0 and word[back[d]] > word[a]:
                back[d] = a  # exact tie between word arcs: the lower word id wins (AN4: O before OH)
    best = _INF
    best_s = -1
    for s in range(n):
        if final_g[s] != _INF and dist[s] != _INF:
            c = dist[s] + gs * final_g[s] + acs * final_a[s]
            if c < best:
                best = c
                best_s = s
    return best_s, back


def lattice_best_path(lat: Lattice, graph_scale: float = 1.0, acoustic_scale: float = 1.0,
                      word_ins_penalty: float = 0.0) -> BestPath | None:
    """Best path under scaled costs; returns unscaled costs of that path (None if no path)."""
    best_s, back = _best_path(lat.arc_start, lat.word, lat.graph, lat.acoustic, lat.nextstate,
                              lat.final_graph, lat.final_acoustic, float(graph_scale), float(acoustic_scale),
                              float(word_ins_penalty))
    if best_s < 0:
        return None
    arcs = []
    s = best_s
    # find the source of each back arc: arcs are grouped by state in CSR order
    src_of = np.searchsorted(lat.arc_start, np.arange(lat.num_arcs), side="right") - 1
    while s != 0:
        a = int(back[s])
        arcs.append(a)
        s = int(src_of[a])
    arcs.reverse()
    words = [int(lat.word[a]) for a in arcs if lat.word[a] != 0]
    ali: list[int] = []
    for a in arcs:
        ali.extend(int(x) for x in lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]])
    if lat.final_ali_start is not None:
        ali.extend(int(x) for x in lat.final_ali[lat.final_ali_start[best_s]:lat.final_ali_start[best_s + 1]])
    g = float(sum(lat.graph[a] for a in arcs) + lat.final_graph[best_s])
    c = float(sum(lat.acoustic[a] for a in arcs) + lat.final_acoustic[best_s])
    return BestPath(words, ali, g, c)


# --------------------------------------------------------------------------- binary I/O
def _write_str(out: list, s: str) -> None:
    b = s.encode()
    out.append(struct.pack("<i", len(b)))
    out.append(b)


def compact_lattice_bytes(lat: Lattice) -> bytes:
    """OpenFst binary VectorFst of CompactLatticeArc (``compactlattice44``)."""
    out: list = []
    n, na = lat.num_states, lat.num_arcs
    out.append(struct.pack("<i", FST_MAGIC))
    _write_str(out, "vector")
    _write_str(out, "compactlattice44")
    # version 2, flags 0, properties kExpanded|kMutable|kAcceptor (0x3 | 0x10000)
    out.append(struct.pack("<iiQqqq", 2, 0, 0x10003, 0 if n > 0 else -1, n, na))
    ali_len = np.diff(lat.ali_start)
    for s in range(n):
        fg = lat.final_graph[s]
        if np.isinf(fg):
            out.append(struct.pack("<ffi", np.inf, np.inf, 0))
        else:
            fa = lat.final_ali[lat.final_ali_start[s]:lat.final_ali_start[s + 1]] if lat.final_ali_start is not None \
                else np.zeros(0, np.int32)
            out.append(struct.pack("<ffi", fg, lat.final_acoustic[s], len(fa)))
            out.append(np.asarray(fa, "<i4").tobytes())
        b, e = int(lat.arc_start[s]), int(lat.arc_start[s + 1])
        out.append(struct.pack("<q", e - b))
        for a in range(b, e):
            w = int(lat.word[a])
            out.append(struct.pack("<iiffi", w, w, lat.graph[a], lat.acoustic[a], int(ali_len[a])))
            out.append(lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]].astype("<i4").tobytes())
            out.append(struct.pack("<i", int(lat.nextstate[a])))
    return b"".join(out)


class _Buf:
    def __init__(self, f):
        self.f = f

    def read(self, n: int) -> bytes:
        b = self.f.read(n)
        if len(b) != n:
            raise EOFError("unexpected end of lattice data")
        return b

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))

    def string(self) -> str:
        (n,) = self.unpack("<i")
        return self.read(n).decode()


def read_compact_lattice(f) -> Lattice:
    """Read one binary CompactLattice (OpenFst header + vector body) from a stream."""
    r = _Buf(f)
    (magic,) = r.unpack("<i")
    if magic != FST_MAGIC:
        raise ValueError("not an OpenFst binary lattice")
    fsttype, arctype = r.string(), r.string()
    if fsttype != "vector" or arctype != "compactlattice44":
        raise ValueError(f"expected vector/compactlattice44, got {fsttype}/{arctype}")
    _ver, flags, _props, start, nstates, _narcs = r.unpack("<iiQqqq")
    for bit in (1, 2):
        if flags & bit:
            if r.unpack("<i")[0] != SYMTAB_MAGIC:
                raise ValueError("bad symbol table in lattice")
            r.string()
            r.unpack("<q")
            for _ in range(r.unpack("<q")[0]):
                r.string()
                r.unpack("<q")
    finals_g, finals_a, final_strs = [], [], []
    src, words, gs, acs, nexts, strs = [], [], [], [], [], []
    for s in range(nstates):
        fg, fa, k = r.unpack("<ffi")
        final_strs.append(np.frombuffer(r.read(4 * k), "<i4") if k else np.zeros(0, "<i4"))
        finals_g.append(fg)
        finals_a.append(fa)
        (narcs,) = r.unpack("<q")
        for _ in range(narcs):
            il, _ol, g, c, k = r.unpack("<iiffi")
            strs.append(np.frombuffer(r.read(4 * k), "<i4") if k else np.zeros(0, "<i4"))
            (ns,) = r.unpack("<i")
            src.append(s)
            words.append(il)
            gs.append(g)
            acs.append(c)
            nexts.append(ns)
    return _from_arc_list(int(start), int(nstates), src, words, gs, acs, nexts, strs, finals_g, finals_a, final_strs)


def _from_arc_list(start, nstates, src, words, gs, acs, nexts, strs, finals_g, finals_a, final_strs) -> Lattice:
    """Arc lists in any state order -> Lattice with states topologically sorted (start first)."""
    if nstates == 0 or start < 0:
        return empty_lattice()
    src = np.asarray(src, np.int64)
    nexts_a = np.asarray(nexts, np.int64)
    if start == 0 and np.all(nexts_a > src) and np.all(np.diff(src) >= 0):
        # already topologically sorted (as we write them): keep the numbering
        arc_start = np.zeros(nstates + 1, np.int64)
        np.add.at(arc_start, src + 1, 1)
        lens = np.array([len(x) for x in strs], np.int64)
        ali_start = np.zeros(len(src) + 1, np.int64)
        ali_start[1:] = np.cumsum(lens)
        ali = np.concatenate(strs).astype(np.int32) if strs else np.zeros(0, np.int32)
        flens = np.array([len(x) for x in final_strs], np.int64)
        fstart = fali = None
        if flens.any():
            fstart = np.zeros(nstates + 1, np.int64)
            fstart[1:] = np.cumsum(flens)
            fali = np.concatenate(final_strs).astype(np.int32)
        return Lattice(np.cumsum(arc_start), np.asarray(words, np.int32), np.asarray(gs, np.float64),
                       np.asarray(acs, np.float64), nexts_a, ali_start, ali, np.asarray(finals_g, np.float64),
                       np.asarray(finals_a, np.float64), fstart, fali)
    # Kahn topological sort from the start state (unreachable states are dropped)
    order = np.argsort(src, kind="stable")
    arc_start = np.zeros(nstates + 1, np.int64)
    np.add.at(arc_start, src + 1, 1)
    arc_start = np.cumsum(arc_start)
    reach = np.zeros(nstates, bool)
    stack = [start]
    reach[start] = True
    while stack:
        s = stack.pop()
        for a in order[arc_start[s]:arc_start[s + 1]]:
            d = nexts_a[a]
            if not reach[d]:
                reach[d] = True
                stack.append(d)
    indeg = np.zeros(nstates, np.int64)
    for a in range(len(src)):
        if reach[src[a]]:
            indeg[nexts_a[a]] += 1
    topo = []
    stack = [start]
    while stack:
        s = stack.pop()
        topo.append(s)
        for a in order[arc_start[s]:arc_start[s + 1]][::-1]:
            d = nexts_a[a]
            indeg[d] -= 1
            if indeg[d] == 0:
                stack.append(d)
    if len(topo) != int(reach.sum()):
        raise ValueError("lattice has a cycle")
    newid = np.full(nstates, -1, np.int64)
    newid[np.asarray(topo, np.int64)] = np.arange(len(topo))
    arcs = [a for s in topo for a in order[arc_start[s]:arc_start[s + 1]]]
    m = len(topo)
    counts = np.zeros(m + 1, np.int64)
    for s in topo:
        counts[newid[s] + 1] = arc_start[s + 1] - arc_start[s]
    lens = np.array([len(strs[a]) for a in arcs], np.int64)
    ali_start = np.zeros(len(arcs) + 1, np.int64)
    ali_start[1:] = np.cumsum(lens)
    ali = np.concatenate([strs[a] for a in arcs]).astype(np.int32) if arcs else np.zeros(0, np.int32)
    fg = np.array([finals_g[s] for s in topo], np.float64)
    fa = np.array([finals_a[s] for s in topo], np.float64)
    flens = np.array([len(final_strs[s]) for s in topo], np.int64)
    fstart = fali = None
    if flens.any():
        fstart = np.zeros(m + 1, np.int64)
        fstart[1:] = np.cumsum(flens)
        fali = np.concatenate([final_strs[s] for s in topo]).astype(np.int32)
    return Lattice(np.cumsum(counts), np.array([words[a] for a in arcs], np.int32),
                   np.array([gs[a] for a in arcs], np.float64), np.array([acs[a] for a in arcs], np.float64),
                   np.array([newid[nexts_a[a]] for a in arcs], np.int64), ali_start, ali, fg, fa, fstart, fali)


def _read_key(f) -> str | None:
    chars = []
    while True:
        c = f.read(1)
        if not c:
            if chars:
                raise ValueError("archive ends inside a key")
            return None
        if c == b" ":
            break
        if c in (b"\n", b"\r", b"\t") and not chars:
            continue
        chars.append(c)
    return b"".join(chars).decode()


def iter_lattices(spec: str | os.PathLike) -> Iterator[tuple[str, Lattice]]:
    """Iterate ``(utt, Lattice)`` over binary CompactLattice archives.

    ``spec``: a path (gzip detected), ``ark:path``, ``ark:gunzip -c a.gz b.gz|`` or a
    glob-free list separated by spaces is not supported: call once per file.
    """
    with open_rspecifier(spec) as f:
        yield from _iter_stream(f, rspecifier_path(spec))


def _iter_stream(f, what: str) -> Iterator[tuple[str, Lattice]]:
    while True:
        key = _read_key(f)
        if key is None:
            return
        if f.read(2) != b"\x00B":
            raise ValueError(f"{what}: lattice for {key} is not in binary form")
        try:
            yield key, read_compact_lattice(f)
        except Exception as e:
            raise ValueError(f"{what}: bad lattice for utterance {key}: {e}") from None


class LatticeWriter:
    """Write ``(utt, Lattice)`` pairs to a (gzipped if ``.gz``) archive, atomically on close."""

    def __init__(self, path: str | os.PathLike):
        path = str(path)
        if path.startswith("ark:") or path.startswith("ark,"):
            path = path.split(":", 1)[1]
        self._ctx = atomic_path(path)
        tmp = self._ctx.__enter__()
        self._f = gzip.open(tmp, "wb", compresslevel=6) if path.endswith(".gz") else open(tmp, "wb")

    def write(self, utt: str, lat: Lattice) -> None:
        self._f.write(utt.encode() + b" \x00B")
        self._f.write(compact_lattice_bytes(lat))

    def close(self, ok: bool = True) -> None:
        self._f.close()
        if ok:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "LatticeWriter":
        return self

    def __exit__(self, et, ev, tb) -> None:
        self.close(et is None)


def write_lattices(items: Iterable[tuple[str, Lattice]], path: str | os.PathLike) -> None:
    with LatticeWriter(path) as w:
        for utt, lat in items:
            w.write(utt, lat)


def lattice_to_text(lat: Lattice) -> str:
    """Kaldi's text form of a CompactLattice (``lattice-copy ark:- ark,t:-`` body)."""
    lines = []
    for s in range(lat.num_states):
        for a in range(lat.arc_start[s], lat.arc_start[s + 1]):
            ali = "_".join(str(x) for x in lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]])
            lines.append(f"{s}\t{lat.nextstate[a]}\t{lat.word[a]}\t{lat.graph[a]:g},{lat.acoustic[a]:g},{ali}")
        if not np.isinf(lat.final_graph[s]):
            lines.append(f"{s}\t{lat.final_graph[s]:g},{lat.final_acoustic[s]:g},")
    return "\n".join(lines) + "\n"
