"""Topology, context dependency and transition model against Kaldi's own (kaldi-hmm-gmm)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybrid.hmm import Topology, TransitionModel
from hybrid.io.kaldi_text import KaldiTextReader
from hybrid.tree import ContextDependency, monophone_context_dependency_shared

from kaldi_oracle import kaldi, kaldi_mono_transition_model, kaldi_tuples

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()
SETS = [[1], [2, 3], [4], [5], [6], [7], [8], [9]]


def _ours():
    topo = Topology.parse(TOPO)
    nclass = {p: topo.num_pdf_classes(p) for p in topo.phones}
    ctx = monophone_context_dependency_shared(SETS, nclass)
    return topo, ctx, TransitionModel.from_context_dependency(topo, ctx)


def test_topology_parse_roundtrip():
    topo = Topology.parse(TOPO)
    assert topo.phones == list(range(1, 10))
    assert topo.num_pdf_classes(1) == 5 and topo.num_pdf_classes(2) == 3
    assert topo.min_length(2) == 3 and topo.min_length(1) == 3  # silence: 0 -> 3 -> 4 -> final
    again = Topology.parse(topo.to_text())
    assert again.to_text() == topo.to_text()


def test_monophone_tree_matches_kaldi():
    _, ctx, _ = _ours()
    kctx, _ = kaldi_mono_transition_model(TOPO, SETS)
    assert ctx.num_pdfs == kctx.num_pdfs == 5 + 7 * 3
    for phone in range(1, 10):
        for c in range(5 if phone == 1 else 3):
            ok, pdf = kctx.compute([phone], c)
            assert ok and pdf == ctx.compute([phone], c), (phone, c)


def test_transition_model_matches_kaldi():
    _, _, tm = _ours()
    _, ktm = kaldi_mono_transition_model(TOPO, SETS)
    ours = [(t.phone, t.hmm_state, t.forward_pdf, t.self_loop_pdf) for t in tm.tuples]
    assert ours == kaldi_tuples(ktm)
    assert tm.num_transition_ids == ktm.num_transition_ids
    assert tm.num_pdfs == ktm.num_pdfs
    np.testing.assert_array_equal(tm.tid2pdf[1:], np.array(ktm.id2pdf_id[1:]))
    np.testing.assert_allclose(tm.log_probs, np.array(ktm.log_probs), atol=1e-6)
    for tid in range(1, tm.num_transition_ids + 1):
        assert tm.tid_is_self_loop[tid] == ktm.is_self_loop(tid)
        assert tm.tid_is_final[tid] == ktm.is_final(tid)
        assert tm.tid2phone[tid] == ktm.transition_id_to_phone(tid)


def test_mle_update_matches_kaldi():
    k = kaldi()
    _, _, tm = _ours()
    _, ktm = kaldi_mono_transition_model(TOPO, SETS)
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 40, size=tm.num_transition_ids + 1).astype(np.float64)
    counts[0] = 0
    counts[5:9] = 0.5  # a state below mincount keeps its probabilities
    cfg = k.MleTransitionUpdateConfig()
    cfg.floor, cfg.mincount = 0.01, 5.0
    kimpr, kcount = ktm.mle_update(counts, cfg)
    impr, count = tm.mle_update(counts, floor=0.01, mincount=5.0)
    assert count == pytest.approx(kcount)
    assert impr == pytest.approx(kimpr, rel=1e-5)
    np.testing.assert_allclose(tm.log_probs, np.array(ktm.log_probs), atol=1e-5)


def test_text_io_roundtrip(tmp_path):
    _, ctx, tm = _ours()
    tm.log_probs[3] = np.log(0.3)
    again = TransitionModel.parse_reader(KaldiTextReader(tm.to_text()))
    assert again.tuples == tm.tuples
    np.testing.assert_allclose(again.log_probs, tm.log_probs, atol=1e-6)
    ctx.write(tmp_path / "tree")
    ctx2 = ContextDependency.read(tmp_path / "tree")
    assert ctx2.num_pdfs == ctx.num_pdfs
    for phone in range(1, 10):
        assert ctx2.compute([phone], 0) == ctx.compute([phone], 0)


def test_kaldi_reads_our_tree(tmp_path):
    """Kaldi's tree writer and ours produce trees with identical mappings."""
    _, ctx, _ = _ours()
    kctx, _ = kaldi_mono_transition_model(TOPO, SETS)
    kctx.write(False, str(tmp_path / "ktree"))
    theirs = ContextDependency.read(tmp_path / "ktree")
    for phone in range(1, 10):
        for c in range(5 if phone == 1 else 3):
            assert theirs.compute([phone], c) == ctx.compute([phone], c)


def test_chain_style_topology_tuples():
    """Separate forward/self-loop pdf-classes give (forward, self-loop) pdf pairs per context."""
    text = """<Topology>
<TopologyEntry>
<ForPhones> 1 2 </ForPhones>
<State> 0 <ForwardPdfClass> 0 <SelfLoopPdfClass> 1 <Transition> 0 0.5 <Transition> 1 0.5 </State>
<State> 1 </State>
</TopologyEntry>
</Topology>"""
    topo = Topology.parse(text)
    assert not topo.is_hmm()
    ctx = monophone_context_dependency_shared([[1], [2]], {1: 2, 2: 2})
    tm = TransitionModel.from_context_dependency(topo, ctx)
    assert [(t.phone, t.forward_pdf, t.self_loop_pdf) for t in tm.tuples] == [(1, 0, 1), (2, 2, 3)]
    assert tm.tid2pdf[1] == 1 and tm.tid2pdf[2] == 0  # self-loop first (transition 0 → 0)
