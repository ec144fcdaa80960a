"""The LF-MMI (chain) objective: denominator and numerator forward-backward in torch.

Objective of a minibatch (Kaldi's chain-training.cc)::

    objf = sum_b [ log p_num(b) - log p_den(b) ]          (≤ 0 up to rounding)
    l2   = -0.5 * l2_regularize * ||y||^2
    d objf / d y[b,t,p] = num_post[b,t,p] - den_post[b,t,p]

``y = nnet_output`` (B, T, num_pdfs) holds log-likelihood-like scores (no softmax).

Denominator (Kaldi's chain-denominator.cc): all B sequences share one graph of S states and A
arcs. Forward-backward runs in the probability domain with per-frame rescaling (alpha is
renormalised to sum to one every frame; the log of the scales is the log-likelihood), in the
nnet output's dtype. Before exponentiation the per-frame maximum over pdfs is subtracted (a
constant per frame: posteriors are unchanged, it is added back to the log-likelihood), so
``exp`` never overflows; the leaky HMM keeps every state alive, so the rescaled alphas never
underflow to zero. Each frame is a gather over arcs, an elementwise product and a sparse
matrix × dense product (CSR over arcs, rows = destination states; cuSPARSE on CUDA), with
batch B as the fast dimension as in Kaldi.

Leaky HMM (coefficient c, Kaldi's ``--leaky-hmm-coefficient``): after every frame, each
sequence may jump from any state to any state i with weight c·init(i); with alpha summing to
one this is ``alpha'(t) = alpha(t) + c·init``; the total is ``sum_i alpha'(T, i)``.

Numerator: a batch of per-sequence FSAs (block-diagonal, every arc reads the output of its own
sequence), forward-backward in log space (numerator graphs are small and sparse in time; log
space never underflows however unlikely the supervision). When every numerator FSA is
time-indexed (each state belongs to one frame, as :mod:`hybrid.chain.numerator` builds
them), each frame only touches that frame's arcs.

Anomalies (non-finite objective, failed forward/backward consistency check, objective > 0
beyond rounding) make the minibatch "skipped": the returned loss has zero gradient and the
``info`` dict says why (Kaldi sets the objective to -10 per frame and the derivative to zero).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field

import torch

from hybrid.chain.graph import Fsa

log = logging.getLogger(__name__)


@dataclass
class ChainOptions:
    """Kaldi's ChainTrainingOptions (values of the mini_librispeech tdnn_1k recipe)."""

    leaky_hmm_coefficient: float = 0.1
    l2_regularize: float = 0.0005  # l2 term = -0.5 * l2_regularize * ||y||^2
    xent_regularize: float = 0.1  # the caller's weight on the xent head (see xent_objective)
    check_tolerance: float = 0.01  # |sum alpha(0)·beta(0) - 1| allowed (Kaldi's den 'ok' check)
    max_objf_per_frame: float = 1e-3  # objf/frame above this is an anomaly (num ⊂ den => ≤ 0)


# ------------------------------------------------------------------ denominator
@dataclass
class DenGraph:
    """A denominator graph laid out for the forward-backward on one device."""

    num_states: int
    num_pdfs: int
    src: torch.Tensor  # (A,) int64, arcs sorted by destination
    dst: torch.Tensor
    pdf: torch.Tensor
    init: torch.Tensor  # (S,) initial probabilities (sum to one)
    fwd: torch.Tensor  # sparse CSR (S, A): row = dst, value = arc probability
    bwd: torch.Tensor  # sparse CSR (S, A): row = src
    pdf_mat: torch.Tensor  # sparse CSR (P, A): row = pdf
    method: str = "csr"
    w: torch.Tensor | None = None  # (A,) arc probabilities (index_add method)

    @property
    def device(self) -> torch.device:
        return self.init.device


def _csr(rows: torch.Tensor, nrows: int, vals: torch.Tensor, ncols: int) -> torch.Tensor:
    order = torch.argsort(rows, stable=True)
    crow = torch.zeros(nrows + 1, dtype=torch.int64, device=rows.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=nrows), 0)
    cols = torch.arange(ncols, device=rows.device)[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(crow, cols, vals[order], (nrows, ncols), check_invariants=False)


def prepare_den_graph(den: Fsa, device="cpu", dtype=torch.float32, num_pdfs: int | None = None,
                      method: str = "csr") -> DenGraph:
    """Lay out a denominator graph (from :func:`hybrid.chain.graph.denominator_graph`) for
    :func:`denominator_forward_backward`. ``method`` is ``"csr"`` (sparse matrix products) or
    ``"index_add"`` (scatter-add over arcs)."""
    if method not in ("csr", "index_add"):
        raise ValueError(f"unknown method {method!r}")
    device = torch.device(device)
    init = torch.exp(den.initial.to(torch.float64))
    if not torch.isfinite(den.final).all() or (den.final != 0).any():
        raise ValueError("a denominator graph has every state final with weight one (use denominator_graph())")
    if abs(float(init.sum()) - 1.0) > 1e-4:
        raise ValueError(f"initial probabilities sum to {float(init.sum())}, expected 1")
    order = torch.argsort(den.dst, stable=True)
    src, dst, pdf = den.src[order], den.dst[order], den.pdf[order]
    w = torch.exp(den.log_prob[order].to(torch.float64))
    S, A = den.num_states, den.num_arcs
    P = int(num_pdfs) if num_pdfs is not None else den.num_pdfs
    if den.num_pdfs > P:
        raise ValueError(f"graph uses pdf {den.num_pdfs - 1} but the network has {P} outputs")
    dev = lambda t: t.to(device)  # noqa: E731
    wd = w.to(device=device, dtype=dtype)
    src, dst, pdf = dev(src), dev(dst), dev(pdf)
    return DenGraph(S, P, src, dst, pdf, init.to(device=device, dtype=dtype),
                    _csr(dst, S, wd, A), _csr(src, S, wd, A), _csr(pdf, P, wd, A), method, wd)


def _spmm(mat: torch.Tensor, rows: torch.Tensor, n: int, vals: torch.Tensor, w: torch.Tensor | None,
          method: str) -> torch.Tensor:
    """out[r, :] = sum over arcs a with rows[a] == r of w[a] * vals[a, :]."""
    if method == "csr":
        return torch.sparse.mm(mat, vals)
    out = torch.zeros((n, vals.shape[1]), dtype=vals.dtype, device=vals.device)
    return out.index_add_(0, rows, vals * w[:, None])


def denominator_forward_backward(nnet_output: torch.Tensor, g: DenGraph, leaky_hmm_coefficient: float = 0.1,
                                 compute_posteriors: bool = True, check_tolerance: float = 0.01
                                 ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Denominator log-likelihood of each sequence and its pdf posteriors.

    ``nnet_output``: (B, T, P) (no gradient taken). Returns ``(logprob (B,), post (B,T,P) or
    None, ok (B,) bool)``; ``ok`` is False where the forward-backward consistency check
    (sum_i alpha(0,i) beta(0,i) = 1) fails or a value is not finite.
    """
    x = nnet_output.detach()
    B, T, P = x.shape
    if P != g.num_pdfs:
        raise ValueError(f"nnet output has {P} pdfs, den graph expects {g.num_pdfs}")
    dtype = g.init.dtype
    c = float(leaky_hmm_coefficient)
    with torch.no_grad():
        m = x.max(dim=2, keepdim=True).values  # (B, T, 1)
        ex = torch.exp((x - m).to(dtype)).permute(1, 2, 0).contiguous()  # (T, P, B)
        S = g.num_states
        init = g.init[:, None]
        alpha_dash = torch.empty((T, S, B), dtype=dtype, device=x.device)
        scales = torch.empty((T, B), dtype=dtype, device=x.device)
        alpha = init.expand(S, B)
        for t in range(T):
            ad = alpha + c * init if c != 0.0 else alpha
            alpha_dash[t] = ad
            prod = ad.index_select(0, g.src) * ex[t].index_select(0, g.pdf)
            nxt = _spmm(g.fwd, g.dst, S, prod, g.w, g.method)
            s = nxt.sum(0)
            scales[t] = s
            alpha = nxt / s
        logprob = torch.log(scales.to(torch.float64)).sum(0) + math.log1p(c) + m.squeeze(2).to(torch.float64).sum(1)
        ok = torch.isfinite(logprob)
        if not compute_posteriors:
            return logprob, None, ok
        post = torch.empty((T, P, B), dtype=dtype, device=x.device)
        beta = torch.ones((S, B), dtype=dtype, device=x.device)
        for t in range(T - 1, -1, -1):
            q = ex[t].index_select(0, g.pdf) * (beta / scales[t]).index_select(0, g.dst)
            post[t] = _spmm(g.pdf_mat, g.pdf, P, alpha_dash[t].index_select(0, g.src) * q, g.w, g.method)
            bd = _spmm(g.bwd, g.src, S, q, g.w, g.method)
            beta = bd + c * (g.init @ bd)[None, :] if c != 0.0 else bd
        check = (g.init[:, None] * beta).sum(0)
        ok = ok & torch.isfinite(check) & ((check - 1.0).abs() < check_tolerance)
        return logprob, post.permute(2, 0, 1), ok


# ------------------------------------------------------------------ numerator
@dataclass
class NumeratorBatch:
    """B numerator FSAs as one block-diagonal FSA on a device (every arc reads its sequence)."""

    num_sequences: int
    num_frames: int
    num_states: int
    src: torch.Tensor
    dst: torch.Tensor
    pdf: torch.Tensor
    seq: torch.Tensor  # (A,) sequence of each arc
    log_prob: torch.Tensor
    initial: torch.Tensor  # (N,)
    final: torch.Tensor  # (N,)
    state_seq: torch.Tensor  # (N,)
    frame_bounds: list[int] | None = None  # arcs sorted by frame: arcs of frame t are [b[t], b[t+1])

    def to(self, device) -> "NumeratorBatch":
        f = lambda t: t.to(device)  # noqa: E731
        return NumeratorBatch(self.num_sequences, self.num_frames, self.num_states, f(self.src), f(self.dst),
                              f(self.pdf), f(self.seq), f(self.log_prob), f(self.initial), f(self.final),
                              f(self.state_seq), self.frame_bounds)


def batch_numerators(fsas: list[Fsa], num_frames: int, state_frames: list[torch.Tensor] | None = None,
                     device="cpu", dtype=torch.float32) -> NumeratorBatch:
    """Stack per-sequence numerator FSAs into a :class:`NumeratorBatch`.

    ``state_frames`` (optional, one per FSA): the frame index (0..T) of every state of a
    time-indexed FSA; arcs then run from frame t to t+1 and are grouped by frame.
    """
    offs, srcs, dsts, pdfs, seqs, lps, inits, fins, sseq, frames = 0, [], [], [], [], [], [], [], [], []
    for b, f in enumerate(fsas):
        srcs.append(f.src + offs)
        dsts.append(f.dst + offs)
        pdfs.append(f.pdf)
        seqs.append(torch.full((f.num_arcs,), b, dtype=torch.int64))
        lps.append(f.log_prob.to(torch.float64))
        inits.append(f.initial.to(torch.float64))
        fins.append(f.final.to(torch.float64))
        sseq.append(torch.full((f.num_states,), b, dtype=torch.int64))
        if state_frames is not None:
            sf = torch.as_tensor(state_frames[b], dtype=torch.int64)
            af = sf[f.src]
            if not torch.equal(sf[f.dst], af + 1):
                raise ValueError(f"numerator {b}: state_frames is not a time index (arc not from t to t+1)")
            frames.append(af)
        offs += f.num_states
    cat = lambda xs, dt=torch.int64: torch.cat(xs) if xs else torch.zeros(0, dtype=dt)  # noqa: E731
    src, dst, pdf, seq, lp = cat(srcs), cat(dsts), cat(pdfs), cat(seqs), cat(lps, torch.float64)
    bounds = None
    if state_frames is not None:
        fr = cat(frames)
        if fr.numel() and (int(fr.min()) < 0 or int(fr.max()) >= num_frames):
            raise ValueError(f"numerator arcs outside frames [0, {num_frames})")
        order = torch.argsort(fr, stable=True)
        src, dst, pdf, seq, lp = src[order], dst[order], pdf[order], seq[order], lp[order]
        bounds = [0] + torch.cumsum(torch.bincount(fr, minlength=num_frames), 0).tolist()
    nb = NumeratorBatch(len(fsas), num_frames, offs, src, dst, pdf, seq, lp.to(dtype), cat(inits, torch.float64).to(dtype),
                        cat(fins, torch.float64).to(dtype), cat(sseq), bounds)
    return nb.to(device)


def _scatter_logsumexp(vals: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    m = torch.full((n,), float("-inf"), dtype=vals.dtype, device=vals.device)
    m = m.scatter_reduce(0, index, vals, reduce="amax", include_self=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    s = torch.zeros((n,), dtype=vals.dtype, device=vals.device).index_add_(0, index, torch.exp(vals - m[index]))
    return torch.log(s) + m


def numerator_forward_backward(nnet_output: torch.Tensor, num: NumeratorBatch,
                               compute_posteriors: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Numerator log-likelihood of each sequence (B,) and pdf posteriors (B, T, P), log space."""
    x = nnet_output.detach()
    B, T, P = x.shape
    if B != num.num_sequences or T != num.num_frames:
        raise ValueError(f"nnet output is {B}x{T}, numerator batch is {num.num_sequences}x{num.num_frames}")
    dtype = num.log_prob.dtype
    N = num.num_states
    with torch.no_grad():
        xf = x.to(dtype).reshape(-1)
        base = num.seq * (T * P) + num.pdf
        fb = num.frame_bounds

        def arcs(t):
            if fb is None:
                return slice(None)
            return slice(fb[t], fb[t + 1])

        alphas = []
        alpha = num.initial
        for t in range(T):
            sl = arcs(t)
            alphas.append(alpha)
            sc = alpha[num.src[sl]] + num.log_prob[sl] + xf[base[sl] + t * P]
            if fb is None:
                alpha = _scatter_logsumexp(sc, num.dst, N)
            else:  # states of other frames keep -inf; only this frame's destinations get mass
                alpha = _scatter_logsumexp(sc, num.dst[sl], N)
        tot = _scatter_logsumexp(alpha + num.final, num.state_seq, B)
        if not compute_posteriors:
            return tot.to(torch.float64), None
        post = torch.zeros(B * T * P, dtype=dtype, device=x.device)
        beta = num.final
        for t in range(T - 1, -1, -1):
            sl = arcs(t)
            idx = base[sl] + t * P
            sc = num.log_prob[sl] + xf[idx] + beta[num.dst[sl]]
            arc_post = torch.exp(alphas[t][num.src[sl]] + sc - tot[num.seq[sl]])
            post.index_add_(0, idx, torch.where(torch.isfinite(arc_post), arc_post, torch.zeros_like(arc_post)))
            beta = _scatter_logsumexp(sc, num.src[sl], N)
        return tot.to(torch.float64), post.reshape(B, T, P)


# ------------------------------------------------------------------ objective
@dataclass
class ChainResult:
    """What :func:`chain_objective` returns. ``loss`` is what to minimise (per frame)."""

    loss: torch.Tensor
    objf: float  # sum over the minibatch of num - den (nats); 0 when skipped
    l2_term: float
    num_logprob: float
    den_logprob: float
    frames: int
    num_post: torch.Tensor | None  # (B, T, P) numerator posteriors: the xent head's target
    ok: bool
    info: dict = field(default_factory=dict)

    @property
    def objf_per_frame(self) -> float:
        return self.objf / max(self.frames, 1)


class _LfMmi(torch.autograd.Function):
    """objf = sum(num) - sum(den) with d/dy = num_post - den_post (computed in forward)."""

    @staticmethod
    def forward(ctx, nnet_output, grad):  # noqa: D401
        ctx.save_for_backward(grad)
        return nnet_output.new_zeros(())

    @staticmethod
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad_out * grad, None


def chain_objective(nnet_output: torch.Tensor, den: DenGraph, num: NumeratorBatch,
                    opts: ChainOptions | None = None, supervision_weight: float = 1.0) -> ChainResult:
    """LF-MMI objective of a minibatch, with its gradient attached to ``result.loss``.

    ``result.loss = -(objf + l2_term) / frames`` (a scalar to minimise; its gradient w.r.t.
    ``nnet_output`` is ``-(num_post - den_post - l2_regularize·y) / frames``). The xent head is
    the caller's: add ``opts.xent_regularize * xent_objective(xent_output, result.num_post)``.
    """
    opts = opts or ChainOptions()
    B, T, P = nnet_output.shape
    frames = B * T
    info: dict = {}
    den_lp, den_post, den_ok = denominator_forward_backward(nnet_output, den, opts.leaky_hmm_coefficient,
                                                           check_tolerance=opts.check_tolerance)
    num_lp, num_post = numerator_forward_backward(nnet_output, num)
    num_sum, den_sum = float(num_lp.sum()), float(den_lp.sum())
    objf = supervision_weight * (num_sum - den_sum)
    reason = None
    if not bool(den_ok.all()):
        reason = f"denominator forward-backward failed for sequences {torch.nonzero(~den_ok).flatten().tolist()}"
    elif not torch.isfinite(num_lp).all():
        reason = f"numerator has no path for sequences {torch.nonzero(~torch.isfinite(num_lp)).flatten().tolist()}"
    elif not math.isfinite(objf):
        reason = f"objective is {objf}"
    elif objf / frames > opts.max_objf_per_frame:
        reason = f"objective {objf / frames:.4g} per frame is > 0 (numerator not within denominator?)"
    else:
        g = (num_post.to(den_post.dtype) - den_post)
        if not torch.isfinite(g).all():
            reason = "non-finite derivative"
    y = nnet_output
    if reason is not None:
        log.warning("chain: skipping minibatch: %s", reason)
        info["skipped"] = reason
        return ChainResult(y.sum() * 0.0, 0.0, 0.0, num_sum, den_sum, frames, None, False, info)
    grad = (supervision_weight * g).to(y.dtype)
    chain = _LfMmi.apply(y, grad) + objf
    l2 = -0.5 * opts.l2_regularize * supervision_weight * (y * y).sum() if opts.l2_regularize else y.new_zeros(())
    loss = -(chain + l2) / frames
    return ChainResult(loss, objf, float(l2.detach()), num_sum, den_sum, frames, num_post.to(y.dtype), True, info)


def xent_objective(xent_output: torch.Tensor, num_post: torch.Tensor) -> torch.Tensor:
    """Cross-entropy regulariser's loss per frame: -sum num_post · log_softmax(xent_output)."""
    B, T, _ = xent_output.shape
    return -(num_post.detach() * torch.log_softmax(xent_output, dim=-1)).sum() / (B * T)
