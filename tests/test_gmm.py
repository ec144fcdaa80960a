"""Diagonal GMMs: likelihoods, statistics, M-step and mixing up against scipy, numpy EM and Kaldi."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from hybrid.gmm import (AmDiagGmm, DiagGmm, EstOptions, GmmAccs, MleDiagGmmOptions, get_split_targets, gmm_est,
                        init_mono, mle_am_diag_gmm_update, read_model, split_by_count, sum_accs, write_model)
from hybrid.hmm import Topology

from kaldi_oracle import kaldi, kaldi_am_diag_gmm

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()
SETS = [[1], [2, 3], [4], [5], [6], [7], [8], [9]]


def _random_am(rng, num_pdfs=5, dim=3, max_gauss=4):
    pdfs = []
    for _ in range(num_pdfs):
        n = int(rng.integers(1, max_gauss + 1))
        g = DiagGmm.from_means_vars(rng.dirichlet(np.ones(n)), rng.normal(0, 3, (n, dim)), rng.uniform(0.3, 3, (n, dim)))
        pdfs.append(DiagGmm(g.weights.astype(np.float32), g.means_invvars.astype(np.float32),
                            g.inv_vars.astype(np.float32)))
    return AmDiagGmm(pdfs)


def test_log_likelihoods_scipy_and_kaldi():
    rng = np.random.default_rng(0)
    am = _random_am(rng)
    x = rng.normal(0, 3, (20, am.dim)).astype(np.float32)
    ours = am.log_likelihoods(x)
    assert ours.shape == (20, am.num_pdfs) and ours.dtype == np.float32
    ref = np.zeros_like(ours, dtype=np.float64)
    for p, g in enumerate(am.pdfs):
        comps = [np.log(g.weights[i]) + multivariate_normal(g.means[i], np.diag(g.vars[i])).logpdf(x)
                 for i in range(g.num_gauss)]
        ref[:, p] = np.logaddexp.reduce(np.stack(comps), axis=0)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-4)
    kam = kaldi_am_diag_gmm(am)
    for p in range(am.num_pdfs):
        for t in range(0, 20, 7):
            assert ours[t, p] == pytest.approx(kam.log_likelihood(p, x[t]), rel=1e-4, abs=1e-3)
        np.testing.assert_allclose(kam.get_pdf(p).gconsts, am.pdfs[p].gconsts, rtol=1e-5, atol=1e-4)


def test_em_iteration_matches_numpy_and_increases_likelihood():
    rng = np.random.default_rng(1)
    # one pdf, 3 Gaussians, data from a different mixture
    x = np.concatenate([rng.normal(m, 1.0, (300, 2)) for m in (-3, 0, 4)]).astype(np.float32)
    g0 = DiagGmm.from_means_vars(np.ones(3) / 3, np.array([[-1, -1], [0.5, 0], [1, 1.0]]), np.ones((3, 2)) * 2)
    am = AmDiagGmm([g0.copy()])
    topo = Topology.parse(TOPO)
    _, tm, _ = init_mono(topo, 2, SETS)
    accs = GmmAccs.zeros(tm, am)
    from hybrid.gmm.accs import _acc_viterbi

    o, gc, miv, iv = am.packed()
    like0 = _acc_viterbi(x.astype(np.float64), np.zeros(len(x), np.int64), o, gc, miv, iv, accs.occ, accs.mean_acc,
                         accs.var_acc)
    accs.tot_like, accs.tot_t = like0, len(x)
    opts = MleDiagGmmOptions(min_gaussian_occupancy=0.0, min_variance=0.0)
    mle_am_diag_gmm_update(opts, accs, am)
    # reference EM in numpy
    post = g0.component_posteriors(x.astype(np.float64))
    n = post.sum(0)
    mu = post.T @ x / n[:, None]
    var = post.T @ (x.astype(np.float64) ** 2) / n[:, None] - mu ** 2
    g = am.pdfs[0]
    np.testing.assert_allclose(g.weights, n / n.sum(), rtol=1e-10)
    np.testing.assert_allclose(g.means, mu, rtol=1e-8)
    np.testing.assert_allclose(g.vars, var, rtol=1e-8)
    assert g.log_likelihood(x).sum() > like0 + 1.0


def test_mle_update_matches_kaldi():
    k = kaldi()
    rng = np.random.default_rng(2)
    am = _random_am(rng, num_pdfs=4, dim=3)
    topo = Topology.parse(TOPO)
    kam = kaldi_am_diag_gmm(am)
    flags = k.str_to_gmm_flags("mvw")
    kacc = k.AccumAmDiagGmm()
    kacc.init(kam, flags)
    accs = GmmAccs(am.packed()[0].copy(), np.zeros(am.num_gauss), np.zeros((am.num_gauss, 3)),
                   np.zeros((am.num_gauss, 3)), np.zeros(1))
    from hybrid.gmm.accs import _acc_viterbi

    # pdf 3 gets only 5 frames: its Gaussians fall below min-gaussian-occupancy and are removed
    pdfs = np.concatenate([rng.integers(0, 3, 400), np.full(5, 3)])
    x = np.stack([am.pdfs[p].means[rng.integers(am.pdfs[p].num_gauss)] + rng.normal(0, 1, 3) for p in pdfs])
    x = x.astype(np.float32)
    for t in range(len(x)):
        kacc.accumulate_for_gmm(kam, x[t], int(pdfs[t]), 1.0)
    o, gc, miv, iv = am.packed()
    _acc_viterbi(x.astype(np.float64), pdfs.astype(np.int64), o, gc, miv, iv, accs.occ, accs.mean_acc, accs.var_acc)
    for p in range(am.num_pdfs):
        np.testing.assert_allclose(np.array(kacc.get_acc(p).occupancy), accs.occ[o[p]:o[p + 1]], rtol=1e-4, atol=1e-6)
    kobj, kcount = k.mle_am_diag_gmm_update(k.MleDiagGmmOptions(), kacc, flags, kam)
    st = mle_am_diag_gmm_update(MleDiagGmmOptions(), accs, am)
    assert st.count == pytest.approx(kcount, rel=1e-5)
    assert st.objf_change == pytest.approx(kobj, rel=1e-3, abs=1e-2)
    assert st.gaussians_removed > 0
    for p in range(am.num_pdfs):
        kg = kam.get_pdf(p)
        assert kg.num_gauss == am.pdfs[p].num_gauss
        np.testing.assert_allclose(np.array(kg.weights), am.pdfs[p].weights, rtol=1e-4)
        np.testing.assert_allclose(np.array(kg.means_invvars), am.pdfs[p].means_invvars, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(np.array(kg.inv_vars), am.pdfs[p].inv_vars, rtol=1e-3)


def test_split_targets_match_kaldi_and_mixup_is_seeded():
    k = kaldi()
    rng = np.random.default_rng(3)
    occs = rng.uniform(0, 500, 12)
    occs[4] = 30.0  # min-count limits this one
    targets = get_split_targets(occs, 60, 0.25, 20.0)
    assert sum(targets) == 60 and targets[4] == 1
    # Kaldi: split single-Gaussian pdfs by the same counts; the resulting sizes are the targets
    am = _random_am(rng, num_pdfs=12, dim=2, max_gauss=1)
    kam = kaldi_am_diag_gmm(am)
    kam.split_by_count(occs.astype(np.float32), 60, 0.01, 0.25, 20.0)
    assert [kam.num_gauss_in_pdf(p) for p in range(12)] == targets
    a, b = am.copy(), am.copy()
    split_by_count(a, occs, 60, 0.01, 0.25, 20.0, np.random.default_rng(5))
    split_by_count(b, occs, 60, 0.01, 0.25, 20.0, np.random.default_rng(5))
    assert a.num_gauss == 60
    for ga, gb in zip(a.pdfs, b.pdfs):
        np.testing.assert_array_equal(ga.means_invvars, gb.means_invvars)
    # a split halves the weight and moves the means apart by ±0.01·σ·n
    g = a.pdfs[0]
    assert np.all(g.weights > 0) and g.weights.sum() == pytest.approx(1.0)


def test_model_io_and_est(tmp_path):
    topo = Topology.parse(TOPO)
    ctx, tm, am = init_mono(topo, 3, SETS, mean=np.array([1.0, 2, 3]), var=np.array([1.0, 2, 0.5]))
    write_model(tmp_path / "0.mdl", tm, am)
    tm2, am2 = read_model(tmp_path / "0.mdl")
    assert tm2.to_text() == tm.to_text() and am2.to_text() == am.to_text()
    rng = np.random.default_rng(4)
    accs = [GmmAccs.zeros(tm, am) for _ in range(2)]
    for j, acc in enumerate(accs):
        ali = rng.integers(1, tm.num_transition_ids + 1, 500)
        acc.accumulate_ali(tm, am, rng.normal(0, 1, (500, 3)).astype(np.float32) + np.array([1, 2, 3]), ali)
        acc.write(tmp_path / f"0.{j + 1}.acc")
    tot = sum_accs([tmp_path / "0.1.acc", tmp_path / "0.2.acc"])
    assert tot.tot_t == 1000 and tot.transition_accs.sum() == 1000
    occs = gmm_est(tm, am, tot, EstOptions(mix_up=40, power=0.25, min_count=3.0, seed=1,
                                           gmm=MleDiagGmmOptions(min_gaussian_occupancy=3)))
    assert occs.sum() == pytest.approx(1000)
    assert am.num_gauss == 40
    write_model(tmp_path / "1.mdl", tm, am)
    _, am3 = read_model(tmp_path / "1.mdl")
    x = rng.normal(0, 1, (5, 3)).astype(np.float32)
    np.testing.assert_allclose(am3.log_likelihoods(x), am.log_likelihoods(x), rtol=1e-5)
