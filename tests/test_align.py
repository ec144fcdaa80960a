"""Training graphs and Viterbi alignment against brute force and Kaldi's own aligner."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from hybrid.align import (TrainingGraphCompiler, equal_align, read_graphs, transition_costs, viterbi_align,
                          write_graphs)
from hybrid.align.graph import TrainingGraph, _build
from hybrid.gmm import AmDiagGmm, DiagGmm, init_mono
from hybrid.hmm import Topology

from kaldi_oracle import kaldi, kaldi_am_diag_gmm, kaldi_lexicon_fst, kaldi_mono_transition_model

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()
SETS = [[1], [2, 3], [4], [5], [6], [7], [8], [9]]
SIL = 1
# words: 1 = A (2 3), 2 = B (4 5 6), 3 = C (7 8 | 9)
LEXICON = {1: [[2, 3]], 2: [[4, 5, 6]], 3: [[7, 8], [9]]}


def lexicon_arcs(sil_prob: float = 0.5):
    """Kaldi's make_lexicon_fst with optional silence: 0 start, 1 loop, 2 silence state."""
    nosil, sil = -math.log(1 - sil_prob), -math.log(sil_prob)
    arcs = [(0, 1, 0, 0, nosil), (0, 1, SIL, 0, sil), (2, 1, SIL, 0, 0.0)]
    nxt = 3
    for word, prons in LEXICON.items():
        for pron in prons:
            s = 1
            for i, p in enumerate(pron):
                o = word if i == 0 else 0
                if i == len(pron) - 1:
                    arcs += [(s, 1, p, o, nosil), (s, 2, p, o, sil)]
                else:
                    arcs.append((s, nxt, p, o, 0.0))
                    s = nxt
                    nxt += 1
    return arcs, {1: 0.0}


def _model(seed=0, ngauss=3, dim=4):
    topo = Topology.parse(TOPO)
    ctx, tm, am = init_mono(topo, dim, SETS)
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 40, size=tm.num_transition_ids + 1).astype(float)
    counts[0] = 0
    tm.mle_update(counts)
    pdfs = []
    for _ in range(am.num_pdfs):
        w = rng.dirichlet(np.ones(ngauss))
        pdfs.append(DiagGmm.from_means_vars(w, rng.normal(0, 2, (ngauss, dim)), rng.uniform(0.5, 2, (ngauss, dim))))
    # float32 round trip so both sides have identical parameters
    am = AmDiagGmm([DiagGmm(g.weights.astype(np.float32), g.means_invvars.astype(np.float32),
                            g.inv_vars.astype(np.float32)) for g in pdfs])
    return topo, ctx, tm, am, counts


def test_viterbi_equals_brute_force():
    # tiny graph: 0 -a1-> 1 (self 2) -a3-> 2 (self 4, final) ; 0 -a5-> 3 (self 6, final)
    g = _build([0, 2, 4, 6], [np.inf, np.inf, 0.5, 1.0],
               [(0, 1, 1, 0.1), (1, 2, 3, 0.0), (0, 3, 5, 0.3)])
    rng = np.random.default_rng(1)
    t_max = 6
    loglik = rng.normal(size=(t_max, 7)).astype(np.float32)
    tid2pdf = np.arange(7, dtype=np.int32)
    tcost = rng.uniform(0, 1, 7)
    res = viterbi_align(g, loglik, tid2pdf, tcost, acoustic_scale=0.5, beam=1e9, retry_beam=0)
    best, best_seq = np.inf, None
    src = g.arc_src()
    for choice in itertools.product(range(g.num_arcs + 1), repeat=t_max):  # arc index or self-loop (= num_arcs)
        node, cost, seq = 0, 0.0, []
        ok = True
        for t, c in enumerate(choice):
            if c == g.num_arcs:
                tid = g.self_tid[node]
                if tid == 0:
                    ok = False
                    break
                cost += tcost[tid]
            else:
                if src[c] != node:
                    ok = False
                    break
                tid = g.arc_tid[c]
                cost += g.arc_cost[c] + tcost[tid]
                node = g.arc_dst[c]
            cost -= 0.5 * loglik[t, tid2pdf[tid]]
            seq.append(int(tid))
        if ok and np.isfinite(g.final[node]):
            cost += g.final[node]
            if cost < best:
                best, best_seq = cost, seq
    assert list(res.alignment) == best_seq
    assert res.log_like == pytest.approx(-best / 0.5, rel=1e-5)


def _synthetic_feats(tm, am, graph, t_max, rng):
    ali = equal_align(graph, t_max, 0)
    pdfs = tm.tid2pdf[ali]
    return np.stack([am.pdfs[p].means[0] + rng.normal(0, 0.7, am.dim) for p in pdfs]).astype(np.float32)


@pytest.mark.parametrize("words,seed", [([1, 2, 3], 0), ([3, 1], 1), ([2], 2)])
def test_alignment_matches_kaldi(words, seed):
    k = kaldi()
    topo, ctx, tm, am, counts = _model(seed)
    arcs, finals = lexicon_arcs()
    lex = kaldi_lexicon_fst(arcs, finals)
    comp = TrainingGraphCompiler(tm, ctx, lex)
    g = comp.compile(words)
    rng = np.random.default_rng(seed)
    feats = _synthetic_feats(tm, am, g, 60, rng)
    ours = viterbi_align(g, am.log_likelihoods(feats), tm.tid2pdf, transition_costs(tm, 1.0, 0.1),
                         acoustic_scale=0.1, beam=10, retry_beam=40)

    kctx, ktm = kaldi_mono_transition_model(TOPO, SETS)
    cfg = k.MleTransitionUpdateConfig()
    ktm.mle_update(counts, cfg)
    np.testing.assert_allclose(np.array(ktm.log_probs), tm.log_probs, atol=1e-5)
    kam = kaldi_am_diag_gmm(am)
    kcomp = k.TrainingGraphCompiler(ktm, kctx, kaldi_lexicon_fst(arcs, finals), [],
                                    k.TrainingGraphCompilerOptions(0.0, 0.0))
    fst = kcomp.compile_graph_from_text(words)
    k.add_transition_probs(ktm, [], 1.0, 0.1, fst)
    dec = k.DecodableAmDiagGmmScaled(kam, ktm, feats, 0.1)
    done, err, retried, like, frames, kali, kwords = k.align_utterance_wrapper(
        k.AlignConfig(10.0, 40.0, False), "u", 0.1, fst, dec, 0, 0, 0, 0.0, 0)
    assert done == 1
    assert list(ours.alignment) == list(kali)
    assert ours.log_like == pytest.approx(like, rel=1e-4)


def test_graph_storage_roundtrip(tmp_path):
    topo, ctx, tm, am, _ = _model()
    arcs, finals = lexicon_arcs()
    comp = TrainingGraphCompiler(tm, ctx, kaldi_lexicon_fst(arcs, finals))
    gs = [("u1", comp.compile([1, 2])), ("u2", comp.compile([3]))]
    write_graphs(gs, tmp_path / "fsts.1.npz")
    back = list(read_graphs(tmp_path / "fsts.1.npz"))
    assert [u for u, _ in back] == ["u1", "u2"]
    for (_, a), (_, b) in zip(gs, back):
        for f in ("self_tid", "final", "arc_start", "arc_dst", "arc_tid", "arc_cost"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_equal_align_and_too_short():
    topo, ctx, tm, am, _ = _model()
    arcs, finals = lexicon_arcs()
    g = TrainingGraphCompiler(tm, ctx, kaldi_lexicon_fst(arcs, finals)).compile([1, 2])
    ali = equal_align(g, 40, "utt1")
    assert len(ali) == 40
    assert np.array_equal(ali, equal_align(g, 40, "utt1"))  # deterministic per utterance
    phones = [tm.tid2phone[t] for t in ali]
    nonsil = [p for i, p in enumerate(phones) if p != SIL and (i == 0 or phones[i - 1] != p)]
    assert nonsil == [2, 3, 4, 5, 6]
    assert g.min_length() == 15
    assert equal_align(g, 10, "utt1") is None
    # too short for Viterbi as well: no final state reachable
    res = viterbi_align(g, am.log_likelihoods(np.zeros((10, am.dim), np.float32)), tm.tid2pdf,
                        transition_costs(tm), beam=10, retry_beam=40)
    assert res.alignment is None
