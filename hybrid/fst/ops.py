"""FST operations that kaldifst 1.7.17 lacks, written on :class:`kaldifst.StdVectorFst`.

kaldifst provides compose, determinize_star, minimize_encoded, compose_context, arcsort,
connect, rmepsilon. Here: conversion to/from Python lists, Kaldi's ``fsttablecompose``
(as a sequence-filter compose on arc-sorted copies), ``fstrmsymbols``, ``fstpushspecial``
(PushSpecial), ``fstrmepslocal`` (RemoveEpsLocal), ``fstisstochastic`` and const-FST writing.
"""

from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

import kaldifst
import numpy as np

from hybrid.io.atomic import atomic_path

INF = float("inf")
DELTA = 1.0 / 1024  # Kaldi's kDelta


class Lists:
    """A mutable FST as Python lists: ``arcs[s]`` = list of [ilabel, olabel, weight, next]."""

    __slots__ = ("start", "finals", "arcs")

    def __init__(self, start: int = -1, finals: list[float] | None = None, arcs: list[list[list]] | None = None):
        self.start = start
        self.finals = finals if finals is not None else []
        self.arcs = arcs if arcs is not None else []

    def add_state(self) -> int:
        self.finals.append(INF)
        self.arcs.append([])
        return len(self.finals) - 1

    @property
    def num_states(self) -> int:
        return len(self.finals)


def to_lists(fst: kaldifst.StdFst) -> Lists:
    """Copy a kaldifst FST into :class:`Lists` (weights exact, as float32 values)."""
    n = fst.num_states
    finals = [INF] * n
    arcs: list[list[list]] = [[] for _ in range(n)]
    for s in range(n):
        finals[s] = float(fst.final(s).value)
        out = arcs[s]
        for a in kaldifst.ArcIterator(fst, s):
            out.append([a.ilabel, a.olabel, float(a.weight.value), a.nextstate])
    return Lists(fst.start, finals, arcs)


def from_lists(g: Lists) -> kaldifst.StdVectorFst:
    """Build a kaldifst.StdVectorFst from :class:`Lists`."""
    fst = kaldifst.StdVectorFst()
    n = g.num_states
    if n:
        fst.reserve_states(n)
    for _ in range(n):
        fst.add_state()
    if g.start >= 0:
        fst.start = g.start
    Arc = kaldifst.StdArc
    for s in range(n):
        if g.finals[s] != INF:
            fst.set_final(s, g.finals[s])
        for il, ol, w, d in g.arcs[s]:
            fst.add_arc(s, Arc(il, ol, w, d))
    return fst


def table_compose(fst1: kaldifst.StdFst, fst2: kaldifst.StdFst, connect: bool = True) -> kaldifst.StdVectorFst:
    """Kaldi's ``fsttablecompose``: compose with the sequence filter, matching fst1's output
    labels (fst1 is olabel-sorted and fst2 ilabel-sorted here, on copies)."""
    a = kaldifst.StdVectorFst(fst1)
    b = kaldifst.StdVectorFst(fst2)
    kaldifst.arcsort(a, sort_type="olabel")
    kaldifst.arcsort(b, sort_type="ilabel")
    return kaldifst.StdVectorFst(kaldifst.compose(a, b, compose_filter="sequence", connect=connect))


def rm_symbols(fst: kaldifst.StdVectorFst, symbols: Iterable[int], apply_to_output: bool = False,
               remove_arcs: bool = False) -> kaldifst.StdVectorFst:
    """Kaldi's ``fstrmsymbols``: replace the given input (or output) labels by epsilon, or with
    ``remove_arcs`` delete the arcs carrying them. Returns a new FST."""
    syms = set(int(x) for x in symbols)
    g = to_lists(fst)
    k = 1 if apply_to_output else 0
    for s, arcs in enumerate(g.arcs):
        if remove_arcs:
            g.arcs[s] = [a for a in arcs if a[k] not in syms]
        else:
            for a in arcs:
                if a[k] in syms:
                    a[k] = 0
    out = from_lists(g)
    if remove_arcs:
        kaldifst.connect(out)
    return out


def push_special(fst: kaldifst.StdVectorFst, delta: float = DELTA) -> kaldifst.StdVectorFst:
    """Kaldi's ``fstpushspecial`` (PushSpecial): reweight so every state's outgoing
    probabilities (final-prob counted as a transition to the start state) sum to the same
    value lambda, the top eigenvalue found by the power method (v <- P v + 0.1 v)."""
    g = to_lists(fst)
    n = g.num_states
    if n == 0:
        return kaldifst.StdVectorFst(fst)
    init = g.start
    rows, cols, vals = [], [], []
    for s, arcs in enumerate(g.arcs):
        for il, ol, w, d in arcs:
            rows.append(s); cols.append(d); vals.append(math.exp(-w))
        if g.finals[s] != INF:
            rows.append(s); cols.append(init); vals.append(math.exp(-g.finals[s]))
    import scipy.sparse as sp
    P = sp.csr_matrix((np.array(vals, dtype=np.float64), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
                      shape=(n, n))
    occ = np.full(n, 1.0 / math.sqrt(n))

    def accuracy(v: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            sums = (P @ v) / v
        return float(np.log(sums.max() / sums.min()))

    converged = False
    for it in range(200):
        new = 0.1 * occ + P @ occ
        occ = new / np.sqrt((new * new).sum())
        if it % 5 == 0 and it > 0 and accuracy(occ) <= delta:
            converged = True
            break
    if not converged:
        import logging
        logging.getLogger(__name__).warning("push-special: finished 200 iterations without converging; "
                                            "output will be inaccurate")
    with np.errstate(divide="ignore"):
        pot = -np.log(occ)
    for s, arcs in enumerate(g.arcs):
        ps = pot[s]
        for a in arcs:
            a[2] = float(np.float32(a[2] + pot[a[3]] - ps))
        if g.finals[s] != INF:
            g.finals[s] = float(np.float32(g.finals[s] + pot[init] - ps))
    return from_lists(g)


def remove_eps_local(fst: kaldifst.StdVectorFst) -> kaldifst.StdVectorFst:
    """Kaldi's ``fstrmepslocal`` (RemoveEpsLocal, tropical semiring): removes epsilons only
    where this does not add states or arcs (patterns 1 and 2 of Kaldi), then connects."""
    g = to_lists(fst)
    _remove_eps_local(g)
    out = from_lists(g)
    kaldifst.connect(out)
    return out


def _remove_eps_local(g: Lists) -> None:
    if g.start < 0:
        return
    dead = g.add_state()  # arcs to it are deleted
    n = g.num_states
    nin = [0] * n
    nout = [0] * n
    nin[g.start] += 1
    for s in range(n):
        if g.finals[s] != INF:
            nout[s] += 1
        for a in g.arcs[s]:
            nin[a[3]] += 1
            nout[s] += 1

    def combine(a, b):
        if a[0] != 0 and b[0] != 0:
            return None
        if a[1] != 0 and b[1] != 0:
            return None
        return [a[0] if a[0] != 0 else b[0], a[1] if a[1] != 0 else b[1], a[2] + b[2], b[3]]

    def reweight(s, pos, rw):
        arc = g.arcs[s][pos]
        arc[2] += rw
        nxt = arc[3]
        for na in g.arcs[nxt]:
            if na[3] != dead:
                na[2] -= rw
        if g.finals[nxt] != INF:
            g.finals[nxt] -= rw

    def pattern1(s, pos, arc):
        nxt = arc[3]
        removed, kept = INF, INF
        to_add = []
        for na in g.arcs[nxt]:
            if na[3] == dead:
                continue
            c = combine(arc, na)
            if c is not None:
                removed = min(removed, na[2])
                nout[nxt] -= 1
                nin[na[3]] -= 1
                na[3] = dead
                to_add.append(c)
            else:
                kept = min(kept, na[2])
        nf = g.finals[nxt]
        if nf != INF:
            if arc[0] == 0 and arc[1] == 0:
                removed = min(removed, nf)
                if g.finals[s] == INF:
                    nout[s] += 1
                g.finals[s] = min(g.finals[s], arc[2] + nf)
                nout[nxt] -= 1
                g.finals[nxt] = INF
            else:
                kept = min(kept, nf)
        if removed != INF:
            if kept == INF:
                nout[s] -= 1
                nin[nxt] -= 1
                arc[3] = dead
            else:
                total = min(removed, kept)
                reweight(s, pos, kept - total)
        for c in to_add:
            nout[s] += 1
            nin[c[3]] += 1
            g.arcs[s].append(c)

    def pattern2(s, pos, arc):
        nxt = arc[3]
        can_delete_next = nin[nxt] == 1
        delete_arc = False
        nf = g.finals[nxt]
        if nf != INF:
            if arc[0] == 0 and arc[1] == 0:
                if g.finals[s] == INF:
                    nout[s] += 1
                g.finals[s] = min(g.finals[s], arc[2] + nf)
                delete_arc = True
                if can_delete_next:
                    nout[nxt] -= 1
                    g.finals[nxt] = INF
        else:
            na = next(a for a in g.arcs[nxt] if a[3] != dead)
            c = combine(arc, na)
            if c is not None:
                delete_arc = True
                if can_delete_next:
                    nout[nxt] -= 1
                    nin[na[3]] -= 1
                    na[3] = dead
                nout[s] += 1
                nin[c[3]] += 1
                g.arcs[s].append(c)
        if delete_arc:
            nout[s] -= 1
            nin[nxt] -= 1
            arc[3] = dead

    for s in range(n):
        pos = 0
        while pos < len(g.arcs[s]):
            arc = g.arcs[s][pos]
            nxt = arc[3]
            if nxt != dead and nxt != s:
                if nin[nxt] == 1 and nout[nxt] > 1:
                    pattern1(s, pos, arc)
                elif nout[nxt] == 1:
                    pattern2(s, pos, arc)
            pos += 1
    for s in range(n):
        g.arcs[s] = [a for a in g.arcs[s] if a[3] != dead]


def is_stochastic(fst: kaldifst.StdFst, delta: float = 0.01) -> tuple[bool, float, float]:
    """Kaldi's ``fstisstochastic`` (log semiring): returns (ok, min, max) of the per-state
    -log(sum of outgoing probabilities incl. final)."""
    g = to_lists(fst)
    lo, hi = INF, -INF
    for s in range(g.num_states):
        ws = [a[2] for a in g.arcs[s]]
        if g.finals[s] != INF:
            ws.append(g.finals[s])
        if not ws:
            continue
        m = min(ws)
        tot = m - math.log(sum(math.exp(m - w) for w in ws))
        lo, hi = min(lo, tot), max(hi, tot)
    return (lo >= -delta and hi <= delta), lo, hi


def write_fst(fst: kaldifst.StdFst, path: str | os.PathLike, const: bool = False) -> None:
    """Write an FST (OpenFst binary, vector or const) atomically."""
    with atomic_path(path) as tmp:
        out = kaldifst.StdConstFst(fst) if const else fst
        if not out.write(str(tmp)):
            raise IOError(f"could not write FST to {path}")


def read_fst(path: str | os.PathLike) -> kaldifst.StdVectorFst:
    """Read a vector or const OpenFst binary (StdArc) as a StdVectorFst.

    kaldifst 1.7.17 cannot read const FSTs itself; those are parsed with numpy."""
    path = str(path)
    with open(path, "rb") as f:
        head = f.read(32)
    if head[8:13] == b"const":
        from hybrid.fst.compact import parse_const_fst  # lazy: written by the decoder engineer
        with open(path, "rb") as f:
            cg = parse_const_fst(f.read(), path)
        g = Lists(cg.start, [float(x) for x in cg.final], [])
        for s in range(cg.num_states):
            a, b = int(cg.arc_start[s]), int(cg.arc_start[s + 1])
            g.arcs.append([[int(i), int(o), float(w), int(d)] for i, o, w, d in
                           zip(cg.ilabel[a:b], cg.olabel[a:b], cg.weight[a:b], cg.nextstate[a:b])])
        return from_lists(g)
    fst = kaldifst.StdVectorFst.read(path)
    if fst is None:
        raise IOError(f"could not read FST from {path}")
    return fst
