"""The fast alignment paths give exactly the results of the plain ones: on-demand pdf
log-likelihoods in the Viterbi search (viterbi_align_gmm) versus the full log-likelihood matrix,
the numba BFS versus TrainingGraph.min_length, and gmm-align-acc versus gmm-align-compiled
followed by gmm-acc-stats-ali (library and CLI)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hybrid.align import (AlignOptions, TrainingGraphCompiler, careful_graph, equal_align, gmm_acc_stats_ali,
                          gmm_align_acc, gmm_align_compiled, transition_costs, viterbi_align, viterbi_align_gmm,
                          write_graphs)
from hybrid.gmm import GmmAccs, boost_silence, write_model
from hybrid.io import read_ali_ark, write_mats_ark_scp

from kaldi_oracle import kaldi_lexicon_fst
from test_align import SIL, _model, lexicon_arcs

REPO = Path(__file__).resolve().parent.parent


def _setup(seed: int, ngauss: int = 3):
    topo, ctx, tm, am, _ = _model(seed, ngauss=ngauss)
    arcs, finals = lexicon_arcs()
    comp = TrainingGraphCompiler(tm, ctx, kaldi_lexicon_fst(arcs, finals))
    return tm, am, comp


def _feats(tm, am, g, t_max, rng, noise=0.7):
    ali = equal_align(g, t_max, 0)
    return np.stack([am.pdfs[p].means[0] + rng.normal(0, noise, am.dim) for p in tm.tid2pdf[ali]]).astype(np.float32)


def test_pdf_loglik_kernel_equals_log_likelihoods():
    from hybrid.align.kernels import pdf_loglik

    tm, am, _ = _setup(3, ngauss=4)
    x = np.random.default_rng(0).normal(0, 3, (37, am.dim)).astype(np.float32)
    ll, gc, off = am.gaussian_terms32(x)
    cache = np.full((len(x), am.num_pdfs), np.nan)
    for t in range(len(x)):
        for p in range(am.num_pdfs):
            pdf_loglik(ll, gc, off, cache, t, p)
    full = am.log_likelihoods(x)
    assert np.array_equal(cache, full.astype(np.float64))  # bit for bit


@pytest.mark.parametrize("seed", range(6))
def test_lazy_viterbi_identical(seed):
    tm, am, comp = _setup(seed)
    rng = np.random.default_rng(seed)
    words = [list(rng.integers(1, 4, size=rng.integers(1, 5))) for _ in range(4)]
    tcost = transition_costs(tm, 1.0, 0.1)
    tid2pdf = tm.tid2pdf.astype(np.int32)
    n_retried = n_failed = 0
    for w in words:
        g = comp.compile(w)
        for t_max, noise, beam, careful in [(60, 0.7, 10.0, False), (45, 3.0, 0.5, False), (80, 1.5, 4.0, True),
                                            (g.min_length(), 5.0, 0.1, False)]:
            x = _feats(tm, am, g, max(t_max, g.min_length()), rng, noise)
            for retry in (0.0, 40.0):
                a = viterbi_align(g, am.log_likelihoods(x), tid2pdf, tcost, beam=beam, retry_beam=retry,
                                  careful=careful)
                b = viterbi_align_gmm(g, am, x, tid2pdf, tcost, beam=beam, retry_beam=retry, careful=careful)
                assert a.retried == b.retried
                n_retried += a.retried
                if a.alignment is None:
                    n_failed += 1
                    assert b.alignment is None
                else:
                    assert np.array_equal(a.alignment, b.alignment)
                    assert a.log_like == b.log_like
    assert n_retried > 0  # the retry path was exercised


def test_min_length_kernel():
    from hybrid.align.kernels import min_length

    tm, am, comp = _setup(0)
    for w in ([1], [1, 2, 3], [3, 3, 2, 1]):
        for g in (comp.compile(w), careful_graph(comp.compile(w))):
            assert min_length(g.final, g.arc_start, g.arc_dst) == g.min_length() > 0


def _corpus(tm, am, comp, rng, n=8):
    graphs, feats = {}, []
    for i in range(n):
        utt = f"u{i}"
        g = comp.compile(list(rng.integers(1, 4, size=rng.integers(1, 4))))
        graphs[utt] = g
        t_max = 4 if i == 3 else 30 + 5 * i  # u3: too short for its transcript
        x = _feats(tm, am, g, max(t_max, g.min_length()), rng)[:t_max]
        feats.append((utt, x))
    feats.append(("nograph", feats[0][1]))
    del graphs["u5"]  # u5: features but no graph
    graphs["nofeats"] = graphs["u0"]
    return graphs, feats


def test_gmm_align_acc_equals_separate_commands():
    tm, am, comp = _setup(1)
    graphs, feats = _corpus(tm, am, comp, np.random.default_rng(5))
    boosted = am.copy()
    boost_silence(tm, boosted, [SIL], 1.25)
    opts = AlignOptions(beam=10, retry_beam=40)
    st1 = gmm_align_compiled(tm, boosted, graphs, feats, None, opts)
    acc1 = gmm_acc_stats_ali(tm, am, feats, st1["alignments"])
    st2, acc2 = gmm_align_acc(tm, boosted, graphs, feats, None, opts, acc_am=am)
    assert st1["done"] == st2["done"] == 6 and st1["errors"] == st2["errors"] == 3
    assert st1["alignments"].keys() == st2["alignments"].keys()
    for u in st1["alignments"]:
        assert np.array_equal(st1["alignments"][u], st2["alignments"][u])
    for f in ("occ", "mean_acc", "var_acc", "transition_accs"):
        assert np.array_equal(getattr(acc1, f), getattr(acc2, f)), f
    assert acc1.tot_like == acc2.tot_like and acc1.tot_t == acc2.tot_t > 0
    # statistics belong to the unboosted model: not those of the boosted one
    acc3 = gmm_acc_stats_ali(tm, boosted, feats, st1["alignments"])
    assert acc3.tot_like != acc2.tot_like


def test_gmm_align_acc_cli(tmp_path):
    tm, am, comp = _setup(2)
    graphs, feats = _corpus(tm, am, comp, np.random.default_rng(7))
    write_model(tmp_path / "1.mdl", tm, am)
    write_graphs(sorted(graphs.items()), tmp_path / "fsts.1.npz")
    write_mats_ark_scp(sorted(feats), tmp_path / "feats.ark", tmp_path / "feats.scp")
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    common = ["--transition-scale=1.0", "--acoustic-scale=0.1", "--self-loop-scale=0.1", "--beam=10",
              "--retry-beam=40", "--boost-silence=1.5", f"--silence-phones={SIL}", "1.mdl", "fsts.1.npz",
              "scp:feats.scp"]

    def run(*args):
        p = subprocess.run(["hybrid", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stderr

    run("gmm-align-compiled", *common, "ali.a.gz")
    run("gmm-acc-stats-ali", "1.mdl", "scp:feats.scp", "ali.a.gz", "a.acc")
    log = run("gmm-align-acc", *common, "ali.b.gz", "b.acc")
    a, b = read_ali_ark(tmp_path / "ali.a.gz"), read_ali_ark(tmp_path / "ali.b.gz")
    assert list(a) == list(b) and len(a) == 6
    assert all(np.array_equal(a[u], b[u]) for u in a)
    acc_a, acc_b = GmmAccs.read(tmp_path / "a.acc"), GmmAccs.read(tmp_path / "b.acc")
    for f in ("occ", "mean_acc", "var_acc", "transition_accs"):
        assert np.array_equal(getattr(acc_a, f), getattr(acc_b, f)), f
    assert re.search(r"Boosted weights for [1-9]\d* pdfs, by factor of 1.5", log), log
    assert "Done 6, errors on 3" in log and "Done 6 files, 3 with errors." in log
