"""LDA, MLLT and fMLLR: recovered subspaces, monotone auxiliary functions, planted transforms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from hybrid.gmm import AmDiagGmm, DiagGmm
from hybrid.transform import (
    FmllrAccumulator,
    FmllrOptions,
    LdaStats,
    MlltAccumulator,
    compose_transforms,
    estimate_fmllr,
    estimate_lda,
    estimate_mllt,
    fmllr_auxf,
    read_matrix,
    transform_means,
    write_matrix,
)
from hybrid.transform.common import gauss_posteriors


def _random_model(rng, num_pdfs=6, gauss_per_pdf=3, dim=5, spread=4.0) -> AmDiagGmm:
    pdfs = []
    for _ in range(num_pdfs):
        w = rng.uniform(0.5, 1.5, gauss_per_pdf)
        pdfs.append(DiagGmm.from_means_vars(w / w.sum(), rng.normal(0, spread, (gauss_per_pdf, dim)),
                                            rng.uniform(0.3, 2.0, (gauss_per_pdf, dim))))
    return AmDiagGmm(pdfs)


def _sample(rng, am: AmDiagGmm, n: int):
    """n frames: random pdf, then a component by weight, then a diagonal Gaussian draw."""
    pdfs = rng.integers(0, am.num_pdfs, n)
    x = np.empty((n, am.dim))
    for t, p in enumerate(pdfs):
        g = am.pdfs[p]
        c = rng.choice(g.num_gauss, p=g.weights)
        x[t] = g.means[c] + rng.standard_normal(am.dim) * np.sqrt(g.vars[c])
    return x, pdfs


def _loglike(am, x, pdfs) -> float:
    return float(am.log_likelihoods(x)[np.arange(len(x)), pdfs].astype(np.float64).sum())


# ------------------------------------------------------------------------------------------ LDA
def test_lda_recovers_discriminative_subspace():
    rng = np.random.default_rng(0)
    d, n_classes, n_per = 10, 6, 400
    q, _ = np.linalg.qr(rng.standard_normal((d, 2)))  # class means live in span(q)
    a = rng.standard_normal((d, d))
    wc = a @ a.T / d + 0.5 * np.eye(d)  # shared full within-class covariance
    chol = np.linalg.cholesky(wc)
    offset = rng.normal(0, 3, d)
    stats = LdaStats.zeros(n_classes + 1, d)  # one class never seen: must be ignored
    xs, cs = [], []
    for c in range(n_classes):
        mean = offset + q @ rng.normal(0, 4, 2)
        x = mean + rng.standard_normal((n_per, d)) @ chol.T
        xs.append(x)
        cs.append(np.full(n_per, c))
    x, c = np.concatenate(xs), np.concatenate(cs)
    w = np.ones(len(x))
    w[::7] = 0.0  # zero-weight frames (silence) do not count
    stats.accumulate(x[: len(x) // 2], c[: len(x) // 2], w[: len(x) // 2])
    other = LdaStats.zeros(n_classes + 1, d)
    other.accumulate(x[len(x) // 2:], c[len(x) // 2:], w[len(x) // 2:])
    stats.add(other)
    assert stats.zero_acc.sum() == pytest.approx((w != 0).sum())

    res = estimate_lda(stats, 2)
    assert res.mat.shape == (2, d)
    # oracle: generalized symmetric eigenproblem B v = λ W v on the same (empirical) covariances
    xk, ck = x[w != 0], c[w != 0]
    mu = xk.mean(0)
    cm = np.stack([xk[ck == k].mean(0) for k in range(n_classes)])
    nk = np.array([(ck == k).sum() for k in range(n_classes)])
    bc = ((cm - mu).T * nk) @ (cm - mu) / len(xk)
    tot = np.cov(xk.T, bias=True)
    evals = scipy.linalg.eigh(bc, tot - bc, eigvals_only=True)[::-1]
    np.testing.assert_allclose(res.singular_values, evals, rtol=1e-6, atol=1e-9)
    assert np.all(res.singular_values[2:] < 0.01 * res.singular_values[1])  # between-class ~ rank 2
    # projected within-class covariance is unit, between-class diagonal
    np.testing.assert_allclose(res.mat @ (tot - bc) @ res.mat.T, np.eye(2), atol=1e-8)
    bproj = res.mat @ bc @ res.mat.T
    np.testing.assert_allclose(bproj, np.diag(res.singular_values[:2]), atol=1e-8)
    # the discriminative directions: rows span W⁻¹ q (the true within-class covariance's)
    target = np.linalg.solve(wc, q)
    cosines = scipy.linalg.subspace_angles(res.mat.T, target)
    assert np.max(cosines) < 0.15, cosines
    # the full matrix's other rows are nearly blind to the class means
    np.testing.assert_allclose(res.full_mat[2:] @ (cm - mu).T, 0.0, atol=0.3)
    with pytest.raises(ValueError):
        estimate_lda(stats, n_classes)  # needs dim < number of classes with data


def test_lda_remove_offset_and_matrix_io(tmp_path):
    rng = np.random.default_rng(1)
    stats = LdaStats.zeros(4, 3)
    x = rng.standard_normal((300, 3)) + 5.0
    c = rng.integers(0, 4, 300)
    x[:, 0] += c
    stats.accumulate(x, c)
    res = estimate_lda(stats, 2, remove_offset=True)
    y = x @ res.mat[:, :3].T + res.mat[:, 3]
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-9)
    for binary in (True, False):
        p = tmp_path / f"m{int(binary)}.mat"
        write_matrix(p, res.mat, binary=binary)
        np.testing.assert_allclose(read_matrix(p), res.mat, rtol=1e-6, atol=1e-6)
    assert (tmp_path / "m1.mat").read_bytes()[:2] == b"\0B"
    p = tmp_path / "s.acc"
    stats.write(p)
    back = LdaStats.read(p)
    np.testing.assert_array_equal(back.total_second_acc, stats.total_second_acc)


# ------------------------------------------------------------------------------------------ MLLT
def _semi_tied_data(rng, dim=6, num_pdfs=8, n=6000):
    """Data whose Gaussians are diagonal in a rotated, scaled space z = H⁻¹ x."""
    z_model = _random_model(rng, num_pdfs=num_pdfs, gauss_per_pdf=1, dim=dim, spread=3.0)
    for g in z_model.pdfs:  # make variances very unequal across dims so the rotation matters
        g.inv_vars = 1.0 / rng.uniform(0.05, 3.0, g.inv_vars.shape)
        g.means_invvars = rng.normal(0, 3.0, g.inv_vars.shape) * g.inv_vars
        g.compute_gconsts()
    z_model.invalidate()
    z, pdfs = _sample(rng, z_model, n)
    h = rng.standard_normal((dim, dim)) + 2 * np.eye(dim)
    return z @ h.T, pdfs, h


def _fit_diag(x, pdfs, num_pdfs) -> AmDiagGmm:
    return AmDiagGmm([DiagGmm.from_means_vars([1.0], x[pdfs == p].mean(0, keepdims=True),
                                              x[pdfs == p].var(0, keepdims=True)) for p in range(num_pdfs)])


def test_mllt_stats_match_definition():
    rng = np.random.default_rng(2)
    am = _random_model(rng, num_pdfs=3, gauss_per_pdf=2, dim=4)
    x, pdfs = _sample(rng, am, 50)
    w = rng.uniform(0, 1, 50)
    w[:5] = 0.0
    acc = MlltAccumulator(am)
    acc.accumulate(x[:20], pdfs[:20], w[:20])
    acc.accumulate(x[20:], pdfs[20:], w[20:])
    st = acc.stats()
    G = np.zeros((4, 4, 4))
    beta = 0.0
    for t in range(50):
        g = am.pdfs[pdfs[t]]
        post = g.component_posteriors(x[t])
        for k in range(g.num_gauss):
            p = w[t] * post[k]
            off = g.means[k] - x[t]
            beta += p
            for i in range(4):
                G[i] += p * g.inv_vars[k, i] * np.outer(off, off)
    assert st.beta == pytest.approx(beta)
    np.testing.assert_allclose(st.G, G, rtol=1e-9, atol=1e-9)


def test_mllt_increases_auxf_and_likelihood():
    rng = np.random.default_rng(3)
    x, pdfs, h = _semi_tied_data(rng)
    am = _fit_diag(x, pdfs, 8)
    acc = MlltAccumulator(am)
    acc.accumulate(x, pdfs, np.ones(len(x)))
    st = acc.stats()
    res = estimate_mllt(st, num_iters=30)
    aux = np.array(res.auxf_per_pass)
    assert np.all(np.diff(aux) >= -1e-6 * np.abs(aux[1:])), "MLLT auxf decreased"
    assert res.objf_impr > 0 and res.objf_impr == pytest.approx(aux[-1] - aux[0], rel=1e-6)
    assert "MLLT objective improvement per frame by 0'th iteration" in res.messages[0]
    am2 = am.copy()
    transform_means(am2, res.mat)
    np.testing.assert_allclose(am2.pdfs[0].means[0], res.mat @ am.pdfs[0].means[0])
    # as in train_lda_mllt.sh, alternate MLLT and model re-estimation: the data likelihood (with the
    # Jacobian log|det A|) rises every round and A ends up undoing the mixing (A·H a scaled permutation)
    a_tot = np.eye(x.shape[1])
    lls = []
    for _ in range(4):
        y = x @ a_tot.T
        model = _fit_diag(y, pdfs, 8)
        lls.append(_loglike(model, y, pdfs) + len(x) * np.linalg.slogdet(a_tot)[1])
        acc = MlltAccumulator(model)
        acc.accumulate(y, pdfs, np.ones(len(y)))
        a_tot = estimate_mllt(acc.stats(), num_iters=20).mat @ a_tot
    assert all(b > a - 1e-6 * abs(a) for a, b in zip(lls, lls[1:])), lls
    assert lls[-1] > lls[0] + 0.5 * len(x), lls  # a large gain: x's Gaussians are far from diagonal
    p = np.abs(a_tot @ h)
    p /= p.max(axis=1, keepdims=True)
    assert np.all(np.sort(p, axis=1)[:, -2] < 0.06), p


# ------------------------------------------------------------------------------------------ fMLLR
def test_fmllr_stats_match_definition():
    rng = np.random.default_rng(4)
    am = _random_model(rng, num_pdfs=3, gauss_per_pdf=2, dim=3)
    x, pdfs = _sample(rng, am, 40)
    w = rng.uniform(0, 1, 40)
    acc = FmllrAccumulator(am)
    acc.accumulate(x, pdfs, w)
    K = np.zeros((3, 4))
    G = np.zeros((3, 4, 4))
    for t in range(40):
        g = am.pdfs[pdfs[t]]
        post = g.component_posteriors(x[t]) * w[t]
        xe = np.append(x[t], 1.0)
        for k in range(g.num_gauss):
            K += post[k] * np.outer(g.means_invvars[k], xe)
            for i in range(3):
                G[i] += post[k] * g.inv_vars[k, i] * np.outer(xe, xe)
    assert acc.stats.beta == pytest.approx(w.sum())
    np.testing.assert_allclose(acc.stats.K, K, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(acc.stats.G, G, rtol=1e-10, atol=1e-10)


def test_fmllr_recovers_planted_affine_distortion():
    rng = np.random.default_rng(5)
    dim = 5
    am = _random_model(rng, num_pdfs=10, gauss_per_pdf=2, dim=dim)
    x, pdfs = _sample(rng, am, 8000)
    a = np.eye(dim) + 0.3 * rng.standard_normal((dim, dim))
    b = rng.normal(0, 1.0, dim)
    y = x @ a.T + b  # the speaker's distortion
    acc = FmllrAccumulator(am)
    acc.accumulate(y, pdfs, np.ones(len(y)))
    res = estimate_fmllr(acc.stats)
    first = res
    # re-estimate with posteriors from the adapted features, composing (as train_sat.sh does)
    w_tot = res.mat
    for _ in range(3):
        z = y @ w_tot[:, :dim].T + w_tot[:, dim]
        acc = FmllrAccumulator(am)
        acc.accumulate(z, pdfs, np.ones(len(z)))
        w_tot = compose_transforms(estimate_fmllr(acc.stats).mat, w_tot, b_is_affine=True)
    res.mat = w_tot
    ainv = np.linalg.inv(a)
    np.testing.assert_allclose(res.mat[:, :dim], ainv, atol=0.05)
    np.testing.assert_allclose(res.mat[:, dim], -ainv @ b, atol=0.1)
    aux = np.array(first.auxf_per_pass)
    assert np.all(np.diff(aux) >= -1e-8 * np.abs(aux[1:])), "fMLLR auxf decreased"
    assert first.objf_impr > 0 and first.objf_impr == pytest.approx(aux[-1] - aux[0])
    # the per-speaker likelihood (with the Jacobian) goes up
    z = y @ res.mat[:, :dim].T + res.mat[:, dim]
    ll_before = _loglike(am, y, pdfs)
    ll_after = _loglike(am, z, pdfs) + len(y) * np.linalg.slogdet(res.mat[:, :dim])[1]
    assert ll_after > ll_before
    assert first.objf_impr / len(y) > 0.1


def test_fmllr_identity_for_matching_speaker_and_min_count():
    rng = np.random.default_rng(6)
    dim = 4
    am = _random_model(rng, num_pdfs=8, gauss_per_pdf=2, dim=dim)
    x, pdfs = _sample(rng, am, 6000)
    acc = FmllrAccumulator(am)
    acc.accumulate(x, pdfs, np.ones(len(x)))
    res = estimate_fmllr(acc.stats)
    unit = np.concatenate([np.eye(dim), np.zeros((dim, 1))], axis=1)
    np.testing.assert_allclose(res.mat, unit, atol=0.06)
    assert 0 <= res.objf_impr / len(x) < 0.01
    # too little data: identity, no improvement, a warning
    small = FmllrAccumulator(am)
    small.accumulate(x[:15], pdfs[:15], np.ones(15))
    r2 = estimate_fmllr(small.stats, FmllrOptions(min_count=20.0))
    np.testing.assert_array_equal(r2.mat, unit)
    assert r2.objf_impr == 0.0 and "below min-count" in r2.messages[0]
    # diag and offset updates also improve the auxf; offset keeps A = I
    for kind in ("diag", "offset"):
        y = x * 1.3 + 0.5
        acc2 = FmllrAccumulator(am)
        acc2.accumulate(y, pdfs, np.ones(len(y)))
        r3 = estimate_fmllr(acc2.stats, FmllrOptions(update_type=kind))
        assert r3.objf_impr > 0
        assert fmllr_auxf(r3.mat, acc2.stats) > fmllr_auxf(unit, acc2.stats)
        if kind == "offset":
            np.testing.assert_array_equal(r3.mat[:, :dim], np.eye(dim))
    with pytest.raises(ValueError):
        estimate_fmllr(acc.stats, FmllrOptions(update_type="bogus"))


def test_fmllr_gpost_from_other_model_and_weights():
    rng = np.random.default_rng(7)
    am = _random_model(rng, num_pdfs=4, gauss_per_pdf=2, dim=3)
    x, pdfs = _sample(rng, am, 200)
    w = np.ones(200)
    w[pdfs == 0] = 0.0  # silence weight 0
    a1 = FmllrAccumulator(am)
    a1.accumulate(x, pdfs, w)
    a2 = FmllrAccumulator(am, post_am=am.copy())
    a2.accumulate(x, pdfs, w, post_feats=x.copy())
    np.testing.assert_allclose(a1.stats.G, a2.stats.G)
    assert a1.stats.beta == pytest.approx((pdfs != 0).sum())
    # posteriors from a different-but-same-layout model on different features change only γ
    other = _random_model(rng, num_pdfs=4, gauss_per_pdf=2, dim=3)
    a3 = FmllrAccumulator(am, post_am=other)
    a3.accumulate(x, pdfs, w, post_feats=x + 1.0)
    gidx, post, _ = gauss_posteriors(other, x + 1.0, pdfs)
    keep = w != 0
    m = np.einsum("tg,tgd->td", post[keep], am.packed()[2][gidx[keep]])
    xe = np.concatenate([x[keep], np.ones((keep.sum(), 1))], axis=1)
    np.testing.assert_allclose(a3.stats.K, m.T @ xe, rtol=1e-10)
    with pytest.raises(ValueError):
        FmllrAccumulator(am, post_am=_random_model(rng, num_pdfs=4, gauss_per_pdf=3, dim=3))


def test_compose_transforms():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((7, 6))
    lda = rng.standard_normal((4, 6))  # linear 6 → 4
    lda_aff = rng.standard_normal((4, 7))  # affine 6 → 4
    fm = rng.standard_normal((4, 5))  # affine 4 → 4
    mllt = rng.standard_normal((4, 4))

    def apply(m, f):
        return f @ m[:, :f.shape[1]].T + (m[:, f.shape[1]] if m.shape[1] == f.shape[1] + 1 else 0.0)

    np.testing.assert_allclose(apply(compose_transforms(mllt, lda), x), apply(mllt, apply(lda, x)))
    np.testing.assert_allclose(apply(compose_transforms(fm, lda), x), apply(fm, apply(lda, x)))
    np.testing.assert_allclose(apply(compose_transforms(fm, lda_aff, b_is_affine=True), x),
                               apply(fm, apply(lda_aff, x)))
    with pytest.raises(ValueError):
        compose_transforms(rng.standard_normal((4, 3)), lda)


def test_twofeats_stats_and_pdf_weights():
    """gmm-acc-stats-twofeats equals gmm-acc-stats-ali when both streams agree; silence weighting."""
    from pathlib import Path

    from hybrid.gmm import GmmAccs, init_mono
    from hybrid.hmm import Topology
    from hybrid.transform import accumulate_twofeats, ali_to_pdf_weights

    topo = Topology.parse((Path(__file__).parent / "fixtures" / "topo_small.txt").read_text())
    sets = [[1], [2, 3], [4], [5], [6], [7], [8], [9]]
    rng = np.random.default_rng(9)
    _, tm, am = init_mono(topo, 3, sets)
    for g in am.pdfs:  # two Gaussians per pdf, distinct means
        g.split(2, 0.5, rng)
    am.invalidate()
    ali = rng.integers(1, tm.num_transition_ids + 1, 40).astype(np.int32)
    x = rng.standard_normal((40, 3))
    a1, a2 = GmmAccs.zeros(tm, am), GmmAccs.zeros(tm, am)
    a1.accumulate_ali(tm, am, x, ali)
    accumulate_twofeats(a2, tm, am, x, x, ali)
    for f in ("occ", "mean_acc", "var_acc", "transition_accs"):
        np.testing.assert_allclose(getattr(a2, f), getattr(a1, f), rtol=1e-10, atol=1e-12)
    assert a2.tot_like == pytest.approx(a1.tot_like)
    # the second stream only changes the data statistics, not the posteriors
    a3 = GmmAccs.zeros(tm, am)
    accumulate_twofeats(a3, tm, am, x, x + 1.0, ali)
    np.testing.assert_allclose(a3.occ, a1.occ)
    np.testing.assert_allclose(a3.mean_acc, a1.mean_acc + a1.occ[:, None], rtol=1e-10, atol=1e-12)
    pdfs, w = ali_to_pdf_weights(tm, ali, [1], 0.0)
    np.testing.assert_array_equal(pdfs, tm.tid2pdf[ali])
    np.testing.assert_array_equal(w == 0.0, tm.tid2phone[ali] == 1)
