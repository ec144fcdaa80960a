"""LF-MMI: den/num forward-backward against brute force and a dense float64 reference,
gradients against finite differences, numerator tolerance, phone LM, den graph, CUDA vs CPU."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from hybrid.chain.graph import connect, denominator_graph, fsa_from_arcs, initial_probs, minimize, total_log_prob_reference
from hybrid.chain.hmm import ChainTopology, PhoneHmms
from hybrid.chain.loss import (ChainOptions, batch_numerators, chain_objective, denominator_forward_backward,
                               numerator_forward_backward, prepare_den_graph)
from hybrid.chain.numerator import alignment_chunks, allowed_frames, compose_with_den, split_numerator, utterance_numerator
from hybrid.chain.phone_lm import EOS, denominator_fsa, estimate_phone_lm


def random_graph(S=3, P=3, arcs_per_state=3, seed=0):
    rng = np.random.default_rng(seed)
    arcs = []
    for s in range(S):
        for d in rng.choice(S, min(arcs_per_state, S), replace=False):
            arcs.append((s, int(d), int(rng.integers(P)), float(np.log(rng.uniform(0.1, 0.5)))))
    return denominator_graph(fsa_from_arcs(S, arcs, 0, {s: 0.0 for s in range(S)}))


def brute_force(den, x, c=0.0):
    """Sum over every state sequence (and, leaky, every jump pattern) of the path weights."""
    S = den.num_states
    init = np.exp(den.initial.numpy())
    arcs = den.arcs()
    T = x.shape[0]
    total = 0.0
    # enumerate explicitly over (start, [jump?], arc, [jump?], arc ...) with a recursion
    def rec(t, state, w):
        if t == T:
            return w * (1 + c)  # final: every state final; leaky jump mass after the last frame
        tot = 0.0
        for s_from, wj in [(state, 1.0)] + ([(i, c * init[i]) for i in range(S)] if c else []):
            for s, d, p, lp in arcs:
                if s == s_from:
                    tot += rec(t + 1, d, w * wj * math.exp(lp) * math.exp(x[t, p]))
        return tot
    return math.log(sum(init[s] * rec(0, s, 1.0) for s in range(S) if init[s] > 0))


def dense_reference(den, x, c):
    """Forward algorithm with dense matrices in float64 torch (autograd gives the posteriors)."""
    S = den.num_states
    init = torch.exp(den.initial)
    a = init.clone()
    for t in range(x.shape[0]):
        ad = a + c * a.sum() * init
        M = torch.zeros(S, S, dtype=torch.float64)
        for s, d, p, w in den.arcs():
            M[s, d] = M[s, d] + math.exp(w) * torch.exp(x[t, p])
        a = ad @ M
    return torch.log((a + c * a.sum() * init).sum())


@pytest.mark.parametrize("c", [0.0, 0.1])
def test_den_matches_brute_force(c):
    den = random_graph(S=3, P=3, arcs_per_state=2, seed=1)
    x = torch.randn(1, 3, 3, dtype=torch.float64)
    for method in ("csr", "index_add"):
        g = prepare_den_graph(den, dtype=torch.float64, num_pdfs=3, method=method)
        lp, _post, ok = denominator_forward_backward(x, g, c)
        assert bool(ok.all())
        assert float(lp[0]) == pytest.approx(brute_force(den, x[0].numpy(), c), rel=1e-10, abs=1e-10)
    if c == 0.0:
        assert float(lp[0]) == pytest.approx(total_log_prob_reference(den, x[0].numpy()), abs=1e-10)


@pytest.mark.parametrize("c", [0.0, 0.1])
def test_den_posteriors_match_dense_reference(c):
    den = random_graph(S=6, P=4, arcs_per_state=3, seed=2)
    B, T, P = 3, 7, 4
    x = torch.randn(B, T, P, dtype=torch.float64) * 4
    g = prepare_den_graph(den, dtype=torch.float64, num_pdfs=P)
    lp, post, ok = denominator_forward_backward(x, g, c)
    assert bool(ok.all())
    for b in range(B):
        xb = x[b].clone().requires_grad_()
        ref = dense_reference(den, xb, c)
        ref.backward()
        assert float(lp[b]) == pytest.approx(float(ref.detach()), abs=1e-9)
        assert torch.allclose(post[b], xb.grad, atol=1e-10)
    assert torch.allclose(post.sum(-1), torch.ones(B, T, dtype=torch.float64), atol=1e-10)
    # float32 agrees with float64
    g32 = prepare_den_graph(den, num_pdfs=P)
    lp32, post32, ok32 = denominator_forward_backward(x.float(), g32, c)
    assert bool(ok32.all())
    assert torch.allclose(lp32, lp, rtol=1e-5)
    assert torch.allclose(post32.double(), post, atol=1e-4)


def test_den_extreme_outputs_float32():
    """Outputs spread over ±200 (exp would overflow without max subtraction)."""
    den = random_graph(S=6, P=4, arcs_per_state=3, seed=3)
    x = torch.randn(2, 20, 4, dtype=torch.float64) * 100
    g64 = prepare_den_graph(den, dtype=torch.float64, num_pdfs=4)
    g32 = prepare_den_graph(den, num_pdfs=4)
    lp64, _, ok64 = denominator_forward_backward(x, g64, 0.1)
    lp32, _, ok32 = denominator_forward_backward(x.float(), g32, 0.1)
    assert bool(ok32.all()) and bool(ok64.all())
    assert torch.allclose(lp32, lp64, rtol=1e-5)


def test_initial_probs_stationary_like():
    den = random_graph(S=5, P=3, seed=4)
    p = initial_probs(den)
    assert p.sum() == pytest.approx(1.0)
    assert (p > 0).all()


def numerator_case(seed=5):
    rng = np.random.default_rng(seed)
    fsas, frames = [], []
    T, P = 4, 3
    for _ in range(2):
        k = 2
        S = (T + 1) * k
        arcs = [(t * k + i, (t + 1) * k + j, int(rng.integers(P)), float(rng.normal()))
                for t in range(T) for i in range(k) for j in range(k) if rng.uniform() < 0.8]
        init = np.full(S, -np.inf)
        init[:k] = rng.normal(size=k)
        fin = np.full(S, -np.inf)
        fin[T * k:] = rng.normal(size=k)
        fsas.append(fsa_from_arcs(S, arcs, init, fin))
        frames.append(torch.arange(S) // k)
    return fsas, frames, T, P


def test_numerator_matches_reference_and_autograd():
    fsas, frames, T, P = numerator_case()
    x = torch.randn(2, T, P, dtype=torch.float64)
    for sf in (frames, None):  # time-indexed and generic paths
        nb = batch_numerators(fsas, T, sf, dtype=torch.float64)
        lp, post = numerator_forward_backward(x, nb)
        for b, f in enumerate(fsas):
            assert float(lp[b]) == pytest.approx(total_log_prob_reference(f, x[b].numpy()), abs=1e-10)
            xb = x[b].clone().requires_grad_()
            ref = _log_forward_torch(f, xb)
            ref.backward()
            assert torch.allclose(post[b], xb.grad, atol=1e-10)


def _log_forward_torch(f, x):
    """Probability-domain forward in float64 (the values are small), autograd-friendly."""
    alpha = torch.exp(f.initial)
    for t in range(x.shape[0]):
        nxt = [torch.zeros((), dtype=torch.float64)] * f.num_states
        for s, d, p, w in f.arcs():
            nxt[d] = nxt[d] + alpha[s] * math.exp(w) * torch.exp(x[t, p])
        alpha = torch.stack(nxt)
    return torch.log((alpha * torch.exp(f.final)).sum())


def test_objective_gradient_finite_differences():
    den = random_graph(S=5, P=3, arcs_per_state=3, seed=6)
    num_fsa = fsa_from_arcs(den.num_states, den.arcs(), den.initial.numpy(), np.zeros(den.num_states))
    # numerator: the den graph restricted to pdf 0/1 arcs (a sub-language, so objf <= 0)
    keep = [a for a in den.arcs() if a[2] != 2]
    num_fsa = fsa_from_arcs(den.num_states, keep, den.initial.numpy(), np.zeros(den.num_states))
    B, T, P = 2, 5, 3
    nb = batch_numerators([num_fsa] * B, T, dtype=torch.float64)
    g = prepare_den_graph(den, dtype=torch.float64, num_pdfs=P)
    opts = ChainOptions(leaky_hmm_coefficient=0.1, l2_regularize=0.01)
    x = torch.randn(B, T, P, dtype=torch.float64, requires_grad=True)
    res = chain_objective(x, g, nb, opts)
    assert res.ok and res.objf <= 0
    res.loss.backward()

    def loss_of(y):
        return chain_objective(y, g, nb, opts).loss.item()

    eps = 1e-6
    for idx in [(0, 0, 0), (1, 2, 1), (0, 4, 2), (1, 3, 0)]:
        xp, xm = x.detach().clone(), x.detach().clone()
        xp[idx] += eps
        xm[idx] -= eps
        fd = (loss_of(xp) - loss_of(xm)) / (2 * eps)
        assert x.grad[idx].item() == pytest.approx(fd, rel=1e-5, abs=1e-8)
    assert res.num_post is not None and torch.allclose(res.num_post.sum(-1), torch.ones(B, T, dtype=torch.float64))


def test_objective_anomaly_skips_minibatch():
    den = random_graph(S=4, P=3, seed=7)
    g = prepare_den_graph(den, dtype=torch.float64, num_pdfs=3)
    # a numerator with a weight far above the den's: objf > 0 -> skipped, zero gradient
    f = fsa_from_arcs(1, [(0, 0, 0, 50.0)], 0, {0: 0.0})
    nb = batch_numerators([f], 3, dtype=torch.float64)
    x = torch.zeros(1, 3, 3, dtype=torch.float64, requires_grad=True)
    res = chain_objective(x, g, nb)
    assert not res.ok and "skipped" in res.info
    res.loss.backward()
    assert float(x.grad.abs().sum()) == 0.0
    # NaN in the output
    y = torch.full((1, 3, 3), float("nan"), dtype=torch.float64, requires_grad=True)
    assert not chain_objective(y, g, nb).ok


# ------------------------------------------------------------------ graphs from phones
def biphone_hmms(nph):
    topo = ChainTopology(range(1, nph + 1))
    return PhoneHmms(topo, 2, 1, lambda w, c: (w[0] * nph + (w[1] - 1)) * 2 + c), (nph + 1) * nph * 2


def test_numerator_tolerance_admits_expected_sequences():
    hmms, _P = biphone_hmms(3)
    # phones 1 (frames 0-2) then 2 (frames 3-5); subsampling 3 -> 2 output frames
    segs = [(1, 0, 3), (2, 3, 3)]
    pdf = lambda left, p, c: (left * 3 + p - 1) * 2 + c  # noqa: E731
    no_tol = utterance_numerator(segs, 6, hmms, subsampling=3, left_tolerance=0, right_tolerance=0)
    assert no_tol.pdf_sequences() == {(pdf(0, 1, 0), pdf(1, 2, 0))}
    tol = utterance_numerator(segs, 6, hmms, subsampling=3, left_tolerance=5, right_tolerance=5)
    assert tol.pdf_sequences() == {(pdf(0, 1, 0), pdf(1, 2, 0))}  # 2 phones in 2 frames: one way
    # 3 output frames: with tolerance, phone 2 may start at output frame 1 or 2
    segs = [(1, 0, 4), (2, 4, 5)]
    T, rng = allowed_frames(segs, 9, 3, 5, 5)
    assert T == 3 and rng == [(0, 2), (0, 2)]
    tol = utterance_numerator(segs, 9, hmms, 3, 5, 5)
    assert tol.pdf_sequences() == {(pdf(0, 1, 0), pdf(1, 2, 0), pdf(1, 2, 1)),
                                   (pdf(0, 1, 0), pdf(0, 1, 1), pdf(1, 2, 0))}
    no_tol = utterance_numerator(segs, 9, hmms, 3, 0, 0)  # phone 1: frames 0-1, phone 2: 1-2
    assert no_tol.pdf_sequences() == tol.pdf_sequences()
    segs = [(1, 0, 6), (2, 6, 3)]
    assert utterance_numerator(segs, 9, hmms, 3, 0, 0).pdf_sequences() == {(pdf(0, 1, 0), pdf(0, 1, 1), pdf(1, 2, 0))}
    with pytest.raises(ValueError, match="no numerator path"):
        utterance_numerator([(1, 0, 1), (2, 1, 1), (3, 2, 1)], 3, hmms, 3, 0, 0)


def test_phone_lm_sums_to_one_and_prunes():
    rng = np.random.default_rng(8)
    seqs = [list(rng.integers(1, 6, size=rng.integers(2, 9))) for _ in range(100)]
    for extra in (0, 5, 1000):
        lm = estimate_phone_lm(seqs, ngram_order=4, no_prune_ngram_order=3, num_extra_lm_states=extra)
        for h, pr in lm.probs.items():
            assert sum(pr.values()) == pytest.approx(1.0)
        n4 = sum(1 for h in lm.probs if len(h) == 3)
        assert n4 <= extra
        assert all(math.isfinite(lm.log_prob(s)) for s in seqs)
    # bigram, no pruning: ML bigram probabilities
    lm = estimate_phone_lm([[1, 2], [1, 3], [2]], ngram_order=2, no_prune_ngram_order=2)
    assert lm.probs[(0,)] == {1: pytest.approx(2 / 3), 2: pytest.approx(1 / 3)}
    assert lm.probs[(1,)] == {2: pytest.approx(0.5), 3: pytest.approx(0.5)}
    assert lm.probs[(2,)] == {EOS: pytest.approx(1.0)}


def test_den_fsa_from_phone_lm_and_numerator_inside_den():
    rng = np.random.default_rng(9)
    hmms, P = biphone_hmms(4)
    seqs = [list(rng.integers(1, 5, size=rng.integers(2, 7))) for _ in range(60)]
    lm = estimate_phone_lm(seqs, num_extra_lm_states=20)
    f_full = denominator_fsa(lm, hmms, do_minimize=False)
    f = denominator_fsa(lm, hmms)
    assert f.num_states <= f_full.num_states
    # the den FSA gives a phone sequence's pdf sequence the LM's probability (biphone pdfs
    # identify the phones, so one pdf sequence = one phone sequence with durations)
    seq = [int(p) for p in seqs[0]]
    pdfs = []
    for k, p in enumerate(seq):
        left = seq[k - 1] if k else 0
        pdfs += [(left * 4 + p - 1) * 2, (left * 4 + p - 1) * 2 + 1]  # 2 frames per phone
    ll = np.full((len(pdfs), P), -1e4)
    ll[np.arange(len(pdfs)), pdfs] = 0.0
    for g in (f, f_full):
        assert total_log_prob_reference(g, ll) == pytest.approx(lm.log_prob(seq), abs=1e-9)
    den = denominator_graph(f)
    # numerator from an alignment, composed with the den graph: objf <= 0, finite
    segs, t0 = [], 0
    for p in seq:
        n = int(rng.integers(3, 8))
        segs.append((p, t0, n))
        t0 += n
    chunks = alignment_chunks(segs, t0, hmms, den, chunk=4)
    assert chunks
    nb = batch_numerators([c.fsa for _, c in chunks], 4, [c.state_frames for _, c in chunks], dtype=torch.float64)
    g = prepare_den_graph(den, dtype=torch.float64, num_pdfs=P)
    x = torch.randn(len(chunks), 4, P, dtype=torch.float64, requires_grad=True)
    res = chain_objective(x, g, nb, ChainOptions(leaky_hmm_coefficient=0.0))
    assert res.ok and res.objf < 0
    # composition keeps exactly the numerator's pdf sequences that the den graph allows
    s, c = chunks[0]
    utt = utterance_numerator(segs, t0, hmms)
    assert c.pdf_sequences() == split_numerator(utt, s, 4).pdf_sequences()


@pytest.mark.parametrize("order", [1, 2])
def test_den_fsa_lm_shorter_than_left_context(order):
    """A phone unigram (or bigram, with a pruned history) is shorter than the biphone tree's left
    context: the den FSA tracks the left phone itself and still gives every phone sequence its LM
    probability."""
    rng = np.random.default_rng(10)
    hmms, P = biphone_hmms(4)
    seqs = [list(rng.integers(1, 5, size=rng.integers(2, 7))) for _ in range(40)]
    lm = estimate_phone_lm(seqs, ngram_order=order, no_prune_ngram_order=1, num_extra_lm_states=0)
    assert max(len(h) for h in lm.probs) <= order - 1
    f = denominator_fsa(lm, hmms)
    for seq in ([int(p) for p in seqs[0]], [3, 3, 1], [2]):
        pdfs = []
        for k, p in enumerate(seq):
            left = seq[k - 1] if k else 0
            pdfs += [(left * 4 + p - 1) * 2, (left * 4 + p - 1) * 2 + 1]
        ll = np.full((len(pdfs), P), -1e4)
        ll[np.arange(len(pdfs)), pdfs] = 0.0
        assert total_log_prob_reference(f, ll) == pytest.approx(lm.log_prob(seq), abs=1e-9)


def test_minimize_preserves_weights():
    den = random_graph(S=6, P=2, arcs_per_state=2, seed=10)
    # duplicate the graph's states: the copy must be merged back
    S = den.num_states
    arcs = den.arcs() + [(s + S, d + S, p, w) for s, d, p, w in den.arcs()]
    init = np.concatenate([den.initial.numpy(), den.initial.numpy()])
    f = fsa_from_arcs(2 * S, arcs, init, np.zeros(2 * S))
    m = minimize(connect(f))
    assert m.num_states <= S
    x = np.random.default_rng(0).normal(size=(5, 2))
    assert total_log_prob_reference(m, x) == pytest.approx(total_log_prob_reference(f, x), abs=1e-9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu():
    den = random_graph(S=40, P=10, arcs_per_state=5, seed=11)
    fsas, frames, T, _ = numerator_case()
    B, P = 2, 10
    x = torch.randn(B, T, P) * 3
    from hybrid.chain.loss import triton_usable
    methods = ["csr", "index_add", "ell"] + (["triton"] if triton_usable("cuda") else [])
    for method in methods:
        res = []
        for dev in ("cpu", "cuda"):
            g = prepare_den_graph(den, dev, num_pdfs=P, method="csr" if dev == "cpu" else method)
            nb = batch_numerators(fsas, T, frames, device=dev)
            y = x.detach().clone().to(dev).requires_grad_()
            r = chain_objective(y, g, nb, ChainOptions(max_objf_per_frame=1e9),
                                num_method="triton" if method == "triton" and dev == "cuda" else "torch")
            r.loss.backward()
            res.append((r.objf, y.grad.cpu()))
        assert res[1][0] == pytest.approx(res[0][0], rel=1e-4)
        assert torch.allclose(res[1][1], res[0][1], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ fast paths (ELL layouts, Triton kernels)
def test_build_ell_layout():
    from hybrid.chain.loss import build_ell

    rng = np.random.default_rng(12)
    rows = torch.from_numpy(rng.integers(0, 70, size=500))
    rows[rows == 5] = 6  # a row without arcs
    e = build_ell(rows, 75, tile=8)
    assert sorted(e.rows.tolist()) == list(range(75))
    arcs = e.arc[e.arc >= 0]
    assert sorted(arcs.tolist()) == list(range(500))  # every arc exactly once
    assert torch.equal(e.row_of_entry[e.arc >= 0], rows[arcs])  # in its row's lane
    deg = torch.bincount(rows, minlength=75)[e.rows.long()]
    assert (deg[:-1] >= deg[1:]).all()  # sorted by degree: padding stays small
    assert int((e.tdeg.long() * 8).sum()) == e.arc.numel() < 500 + 8 * 10


@pytest.mark.parametrize("c", [0.0, 0.1])
def test_den_ell_matches_dense_reference(c):
    den = random_graph(S=37, P=6, arcs_per_state=4, seed=13)  # 2 tiles, the last one partial
    B, T, P = 3, 6, 6
    x = torch.randn(B, T, P, dtype=torch.float64) * 3
    ref = denominator_forward_backward(x, prepare_den_graph(den, dtype=torch.float64, num_pdfs=P, method="csr"), c)
    g = prepare_den_graph(den, dtype=torch.float64, num_pdfs=P, method="ell")
    lp, post, ok = denominator_forward_backward(x, g, c)
    assert bool(ok.all())
    assert torch.allclose(lp, ref[0], atol=1e-10) and torch.allclose(post, ref[1], atol=1e-12)
    xb = x[1].clone().requires_grad_()
    d = dense_reference(den, xb, c)
    d.backward()
    assert float(lp[1]) == pytest.approx(float(d.detach()), abs=1e-9)
    assert torch.allclose(post[1], xb.grad, atol=1e-10)


def shuffled_numerators(B=3, T=5, P=4, k=3, seed=14):
    """Time-indexed numerator FSAs whose state ids are shuffled (not numbered by frame)."""
    rng = np.random.default_rng(seed)
    fsas, frames = [], []
    for _ in range(B):
        S = (T + 1) * k
        perm = rng.permutation(S)
        arcs = [(perm[t * k + i], perm[(t + 1) * k + j], int(rng.integers(P)), float(rng.normal()))
                for t in range(T) for i in range(k) for j in range(k) if rng.uniform() < 0.6]
        init = np.full(S, -np.inf)
        init[perm[:k]] = rng.normal(size=k)
        fin = np.full(S, -np.inf)
        fin[perm[T * k:]] = rng.normal(size=k)
        fr = np.empty(S, dtype=np.int64)
        fr[perm] = np.arange(S) // k
        fsas.append(fsa_from_arcs(S, arcs, init, fin))
        frames.append(torch.from_numpy(fr))
    return fsas, frames


def test_numerator_time_indexed_renumbered_matches_generic():
    fsas, frames = shuffled_numerators()
    B, T, P = 3, 5, 4
    x = torch.randn(B, T, P, dtype=torch.float64) * 2
    nb = batch_numerators(fsas, T, frames, dtype=torch.float64)
    fo = nb.frame_offsets
    assert fo[0] == 0 and fo[-1] == nb.num_states
    lp, post = numerator_forward_backward(x, nb, method="torch")
    lpg, postg = numerator_forward_backward(x, batch_numerators(fsas, T, None, dtype=torch.float64))
    for b, f in enumerate(fsas):
        assert float(lp[b]) == pytest.approx(total_log_prob_reference(f, x[b].numpy()), abs=1e-10)
    assert torch.allclose(post, postg, atol=1e-12)
    assert torch.allclose(post.sum(-1), torch.ones(B, T, dtype=torch.float64), atol=1e-10)
    with pytest.raises(ValueError, match="time index"):
        batch_numerators(fsas, T, [fr.flip(0) for fr in frames])


def test_numerator_log_space_extreme_scores():
    """Scores far apart (a path 1000 nats below the best one): log space keeps every posterior."""
    f = fsa_from_arcs(4, [(0, 1, 0, 0.0), (0, 2, 1, 0.0), (1, 3, 2, 0.0), (2, 3, 3, 0.0)], 0, {3: 0.0})
    x = torch.zeros(1, 2, 4)
    x[0, 0, 1] = -1000.0
    x[0, 1, 3] = 999.0  # path via pdf 1,3 is e^-1 relative to the path via 0,2
    nb = batch_numerators([f], 2, [torch.tensor([0, 1, 1, 2])])
    lp, post = numerator_forward_backward(x, nb, method="torch")
    p = 1 / (1 + math.e)
    assert float(lp[0]) == pytest.approx(-1.0 + math.log1p(math.e), abs=1e-4)
    assert float(post[0, 0, 1]) == pytest.approx(p, rel=1e-5) and float(post[0, 0, 0]) == pytest.approx(1 - p, rel=1e-5)


def test_triton_kernels_in_interpreter():
    """The Triton kernels, run by Triton's CPU interpreter, against the float64 csr method and
    the torch numerator. A subprocess: TRITON_INTERPRET must be set before Triton is imported."""
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("triton") is None:
        pytest.skip("Triton is not installed")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TRITON_INTERPRET="1", HYBRID_CHAIN_TRITON="1",
               PYTHONPATH=os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    r = subprocess.run([sys.executable, "-W", "ignore", __file__.replace(".pyc", ".py"), "--triton-interpreter"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "triton interpreter ok" in r.stdout


def _triton_interpreter_check():
    from hybrid.chain.loss import triton_usable

    assert triton_usable("cpu")
    torch.manual_seed(0)
    den = random_graph(S=37, P=6, arcs_per_state=4, seed=15)
    B, T, P = 3, 4, 6
    x = torch.randn(B, T, P) * 3
    for c in (0.0, 0.1):
        ref = denominator_forward_backward(x.double(), prepare_den_graph(den, dtype=torch.float64, num_pdfs=P,
                                                                         method="csr"), c)
        lp, post, ok = denominator_forward_backward(x, prepare_den_graph(den, num_pdfs=P, method="triton"), c)
        assert bool(ok.all())
        assert torch.allclose(lp.double(), ref[0], rtol=1e-6), (lp, ref[0])
        assert torch.allclose(post.double(), ref[1], atol=1e-5)
    fsas, frames = shuffled_numerators(B=B, T=T, P=P)
    nb = batch_numerators(fsas, T, frames)
    a = numerator_forward_backward(x, nb, method="torch")
    b = numerator_forward_backward(x, nb, method="triton")
    assert torch.allclose(a[0], b[0], atol=1e-5) and torch.allclose(a[1], b[1], atol=1e-5)
    print("triton interpreter ok")


if __name__ == "__main__" and "--triton-interpreter" in __import__("sys").argv:
    _triton_interpreter_check()
