"""Conversion between kaldifst FSTs (den.fst, normalization.fst) and :class:`~hybrid.chain.graph.Fsa`.

kaldifst is imported inside the functions, so ``hybrid.chain`` stays importable with torch and
numpy alone. Labels on the FST are pdf-id + 1 (Kaldi's convention for den.fst); weights are
costs (-log prob).
"""

from __future__ import annotations

import os

from hybrid.chain.graph import Fsa, fsa_from_openfst_arcs


def fsa_from_kaldifst(fst) -> Fsa:
    """An :class:`Fsa` from a kaldifst ``StdVectorFst`` acceptor over pdf-id + 1."""
    import kaldifst  # noqa: F401  (lazy: only needed here)

    arcs, finals = [], {}
    n = fst.num_states
    for s in range(n):
        w = fst.final(s)
        if w.value != float("inf"):
            finals[s] = float(w.value)
        for arc in kaldifst.ArcIterator(fst, s):
            arcs.append((s, arc.nextstate, arc.ilabel, float(arc.weight.value)))
    return fsa_from_openfst_arcs(n, fst.start, arcs, finals)


def read_den_fst(path: str | os.PathLike) -> Fsa:
    """Read an OpenFst binary (e.g. Kaldi's ``den.fst``) as an :class:`Fsa`."""
    import kaldifst

    return fsa_from_kaldifst(kaldifst.StdVectorFst.read(str(path)))


def fsa_to_kaldifst(fsa: Fsa, start: int | None = None):
    """A kaldifst ``StdVectorFst`` (labels pdf-id + 1, costs) of an FSA with one initial state."""
    import kaldifst

    import math

    init = fsa.initial.tolist()
    starts = [s for s, w in enumerate(init) if math.isfinite(w)]
    if start is None:
        if len(starts) != 1 or init[starts[0]] != 0.0:
            raise ValueError("FSA must have exactly one initial state with weight one")
        start = starts[0]
    fst = kaldifst.StdVectorFst()
    for _ in range(fsa.num_states):
        fst.add_state()
    fst.start = start
    for s, w in enumerate(fsa.final.tolist()):
        if math.isfinite(w):
            fst.set_final(state=s, weight=-w)
    for s, d, p, w in fsa.arcs():
        fst.add_arc(state=s, arc=kaldifst.StdArc(p + 1, p + 1, -w, d))
    return fst


def write_den_fst(fsa: Fsa, path: str | os.PathLike) -> None:
    """Write an FSA as an OpenFst binary acceptor (atomically)."""
    from hybrid.io.atomic import atomic_path

    fst = fsa_to_kaldifst(fsa)
    with atomic_path(path) as tmp:
        fst.write(str(tmp))
