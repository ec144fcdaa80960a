"""Helpers to build Kaldi's own objects (kaldi-hmm-gmm, a test-only oracle) from ours."""

from __future__ import annotations

import pytest


def kaldi():
    return pytest.importorskip("kaldi_hmm_gmm", reason="kaldi-hmm-gmm (test oracle) not installed")


def kaldi_topology(topo_text: str):
    k = kaldi()
    t = k.HmmTopology()
    t.read(topo_text)  # the binding takes the topology text itself
    return t


def kaldi_mono_transition_model(topo_text: str, phone_sets: list[list[int]]):
    """Kaldi's (ContextDependency, TransitionModel) as gmm-init-mono --shared-phones builds them."""
    k = kaldi()
    topo = kaldi_topology(topo_text)
    n = topo.get_phone_to_num_pdf_classes()
    ctx = k.monophone_context_dependency_shared(phone_sets, n)
    return ctx, k.TransitionModel(ctx, topo)


def kaldi_tuples(tm) -> list[tuple[int, int, int, int]]:
    """Kaldi's transition-model tuples as plain tuples (the binding exposes them only by repr)."""
    import re

    out = []
    for t in tm.tuples:
        m = re.search(r"phone=(\d+),hmm_state=(\d+),forward_pdf=(\d+),self_loop_pdf=(\d+)", str(t))
        out.append(tuple(int(x) for x in m.groups()))
    return out


# ---------------------------------------------------------------- GMM / alignment helpers (mono engineer)
def kaldi_am_diag_gmm(am):
    """Kaldi's AmDiagGmm with the parameters of our :class:`hybrid.gmm.AmDiagGmm`."""
    import numpy as np

    k = kaldi()
    kam = k.AmDiagGmm()
    for g in am.pdfs:
        kg = k.DiagGmm(g.num_gauss, g.dim)
        kg.set_invvars_and_means(g.inv_vars.astype(np.float32), g.means.astype(np.float32))
        kg.set_weights(g.weights.astype(np.float32))
        kg.compute_gconsts()
        kam.add_pdf(kg)
    return kam


def kaldi_lexicon_fst(arcs, finals):
    """A kaldifst StdVectorFst from (src, dst, ilabel, olabel, cost) arcs and {state: cost} finals."""
    import kaldifst

    fst = kaldifst.StdVectorFst()
    n = 1 + max([max(a[0], a[1]) for a in arcs] + list(finals))
    for _ in range(n):
        fst.add_state()
    fst.start = 0
    for s, d, i, o, c in arcs:
        fst.add_arc(s, kaldifst.StdArc(i, o, c, d))
    for s, c in finals.items():
        fst.set_final(s, c)
    return fst
