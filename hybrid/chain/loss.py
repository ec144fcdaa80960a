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
batch B as the fast dimension as in Kaldi. Methods (:func:`prepare_den_graph`): ``csr``,
``index_add``, ``triton`` (default on CUDA: Kaldi's fused per-frame kernel, one Triton launch per
frame over an ELL layout of the arcs, posteriors of all frames in one launch; see
:mod:`hybrid.chain.kernels`) and ``ell`` (the Triton algorithm in torch, for CPU tests).

Leaky HMM (coefficient c, Kaldi's ``--leaky-hmm-coefficient``): after every frame, each
sequence may jump from any state to any state i with weight c·init(i); with alpha summing to
one this is ``alpha'(t) = alpha(t) + c·init``; the total is ``sum_i alpha'(T, i)``.

Numerator: a batch of per-sequence FSAs (block-diagonal, every arc reads the output of its own
sequence), forward-backward in log space (numerator graphs are small and sparse in time; log
space never underflows however unlikely the supervision). When every numerator FSA is
time-indexed (each state belongs to one frame, as :mod:`hybrid.chain.numerator` builds
them), states are numbered by frame, arc scores are gathered once for all frames, each
frame is one padded logsumexp over the incoming (forward) or outgoing (backward) arcs of that
frame's states (torch, or one Triton launch on CUDA), and posteriors are one scatter-add.

Anomalies (non-finite objective, failed forward/backward consistency check, objective > 0
beyond rounding) make the minibatch "skipped": the returned loss has zero gradient and the
``info`` dict says why (Kaldi sets the objective to -10 per frame and the derivative to zero).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field, replace

import torch

from hybrid.chain.graph import Fsa
from hybrid.chain.kernels import interpreting, kernels, triton_available

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
ELL_TILE = 32  # rows (states / pdfs) per tile of the ELL layouts (Triton kernels' BS)


@dataclass
class Ell:
    """Rows (states or pdfs) in tiles of ``ELL_TILE``, each tile padded to its largest degree.

    Entry ``toff[i] + k*ELL_TILE + lane`` is the k-th arc of row ``rows[i*ELL_TILE + lane]``
    (``arc`` = -1 and weight 0 for padding). Rows are sorted by degree, so padding is small.
    """

    rows: torch.Tensor  # (R,) int32, row ids in tile order
    tdeg: torch.Tensor  # (NT,) int32, degree of each tile
    toff: torch.Tensor  # (NT,) int32, first entry of each tile
    arc: torch.Tensor  # (E,) int64, arc of each entry (-1: padding)
    row_of_entry: torch.Tensor  # (E,) int64 (padding: 0)

    @property
    def num_tiles(self) -> int:
        return int(self.tdeg.numel())

    def take(self, values: torch.Tensor, fill=0) -> torch.Tensor:
        """Per-entry values of a per-arc array (``fill`` at padding)."""
        ok = self.arc >= 0
        out = values[self.arc.clamp(min=0)]
        return torch.where(ok, out, torch.full_like(out, fill))


def build_ell(row_of_arc: torch.Tensor, num_rows: int, tile: int = ELL_TILE) -> Ell:
    """ELL layout of arcs grouped by ``row_of_arc`` (CPU tensors in, CPU tensors out)."""
    row_of_arc = row_of_arc.to(torch.int64).cpu()
    A = int(row_of_arc.numel())
    counts = torch.bincount(row_of_arc, minlength=num_rows)
    perm = torch.argsort(-counts, stable=True)  # descending degree
    NT = max((num_rows + tile - 1) // tile, 1)
    padded = torch.zeros(NT * tile, dtype=torch.int64)
    padded[:num_rows] = counts[perm]
    tdeg = padded.view(NT, tile).max(1).values
    toff = torch.cumsum(tdeg * tile, 0) - tdeg * tile
    E = int((tdeg * tile).sum())
    pos = torch.empty(num_rows, dtype=torch.int64)
    pos[perm] = torch.arange(num_rows)
    order = torch.argsort(row_of_arc, stable=True)
    r = row_of_arc[order]
    start = torch.cumsum(counts, 0) - counts
    k = torch.arange(A) - start[r]
    p = pos[r]
    entry = toff[p // tile] + k * tile + p % tile
    arc = torch.full((E,), -1, dtype=torch.int64)
    arc[entry] = order
    rows_padded = torch.zeros(NT * tile, dtype=torch.int64)
    rows_padded[:num_rows] = perm
    e = torch.arange(E)
    tile_of_entry = torch.searchsorted(toff, e, right=True) - 1
    lane = (e - toff[tile_of_entry]) % tile
    row_of_entry = rows_padded[tile_of_entry * tile + lane]
    return Ell(perm.to(torch.int32), tdeg.to(torch.int32), toff.to(torch.int32), arc, row_of_entry)


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
    ell: dict | None = None  # "fwd"/"bwd"/"post" -> (rows, tdeg, toff, idx1, idx2, w, row_of_entry) (ell, triton)

    @property
    def device(self) -> torch.device:
        return self.init.device


METHODS = ("auto", "csr", "index_add", "ell", "triton")


def _csr(rows: torch.Tensor, nrows: int, vals: torch.Tensor, ncols: int) -> torch.Tensor:
    order = torch.argsort(rows, stable=True)
    crow = torch.zeros(nrows + 1, dtype=torch.int64, device=rows.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=nrows), 0)
    cols = torch.arange(ncols, device=rows.device)[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(crow, cols, vals[order], (nrows, ncols), check_invariants=False)


def triton_usable(device, dtype=torch.float32) -> bool:
    """Whether the Triton kernels can run for tensors on ``device`` of ``dtype`` (CUDA float32,
    or any float32 device under TRITON_INTERPRET=1)."""
    device = torch.device(device)
    if dtype != torch.float32 or not triton_available():
        return False
    return device.type == "cuda" or (interpreting() and device.type == "cpu")


def prepare_den_graph(den: Fsa, device="cpu", dtype=torch.float32, num_pdfs: int | None = None,
                      method: str = "auto") -> DenGraph:
    """Lay out a denominator graph (from :func:`hybrid.chain.graph.denominator_graph`) for
    :func:`denominator_forward_backward`. ``method``: ``"csr"`` (sparse matrix products),
    ``"index_add"`` (scatter-add over arcs), ``"ell"`` (torch over the Triton kernels' ELL
    layout, a CPU check of it), ``"triton"`` (fused Triton kernels, CUDA float32) or
    ``"auto"`` (triton where usable, else csr)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    device = torch.device(device)
    if method == "auto":
        method = "triton" if device.type == "cuda" and triton_usable(device, dtype) else "csr"
    if method == "triton" and not triton_usable(device, dtype):
        raise ValueError(f"method 'triton' needs Triton and float32 on CUDA (got {device}, {dtype})")
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
    ell = None
    if method in ("ell", "triton"):
        ell = {}
        wf = w.to(dtype)
        i32 = lambda t: t.to(device=device, dtype=torch.int32)  # noqa: E731
        for name, rows, n, a1, a2 in (("fwd", dst, S, src, pdf), ("bwd", src, S, dst, pdf), ("post", pdf, P, src, dst)):
            e = build_ell(rows, n)
            ell[name] = (e.rows.to(device), e.tdeg.to(device), e.toff.to(device), i32(e.take(a1)), i32(e.take(a2)),
                         e.take(wf, 0.0).to(device), e.row_of_entry.to(device))
    dev = lambda t: t.to(device)  # noqa: E731
    wd = w.to(device=device, dtype=dtype)
    src, dst, pdf = dev(src), dev(dst), dev(pdf)
    return DenGraph(S, P, src, dst, pdf, init.to(device=device, dtype=dtype),
                    _csr(dst, S, wd, A), _csr(src, S, wd, A), _csr(pdf, P, wd, A), method, wd, ell)


def _spmm(mat: torch.Tensor, rows: torch.Tensor, n: int, vals: torch.Tensor, w: torch.Tensor | None,
          method: str) -> torch.Tensor:
    """out[r, :] = sum over arcs a with rows[a] == r of w[a] * vals[a, :]."""
    if method == "csr":
        return torch.sparse.mm(mat, vals)
    out = torch.zeros((n, vals.shape[1]), dtype=vals.dtype, device=vals.device)
    return out.index_add_(0, rows, vals * w[:, None])


def _next_pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


def _den_ell_torch(ex: torch.Tensor, g: DenGraph, c: float, compute_posteriors: bool):
    """The Triton kernels' algorithm in torch (index_add over the ELL entries): a CPU check of
    the ELL layouts and of the scale / leaky bookkeeping. Returns (scales_ext, check, post)."""
    T, P, B = ex.shape
    S = g.num_states
    init = g.init
    _r, _d, _o, src, pdf, w, row = g.ell["fwd"]
    src, pdf = src.long(), pdf.long()
    alpha = torch.empty((T + 1, S, B), dtype=ex.dtype, device=ex.device)
    alpha[0] = init[:, None]
    scales = torch.ones((T + 1, B), dtype=ex.dtype, device=ex.device)  # scales[t+1] = scale of frame t
    for t in range(T):
        ad = alpha[t][src] / scales[t] + c * init[src][:, None]
        alpha[t + 1] = torch.zeros((S, B), dtype=ex.dtype, device=ex.device).index_add_(
            0, row, (w[:, None] * ex[t][pdf]) * ad)
        scales[t + 1] = alpha[t + 1].sum(0)
    if not compute_posteriors:
        return scales, None, None
    _r, _d, _o, dst, pdfb, wb, rowb = g.ell["bwd"]
    dst, pdfb = dst.long(), pdfb.long()
    bd = torch.empty((T + 1, S, B), dtype=ex.dtype, device=ex.device)
    bd[T] = 1.0
    dots = torch.zeros((T + 1, B), dtype=ex.dtype, device=ex.device)
    for t in range(T - 1, -1, -1):
        bn = bd[t + 1][dst] + c * dots[t + 1]
        bd[t] = torch.zeros((S, B), dtype=ex.dtype, device=ex.device).index_add_(
            0, rowb, (wb[:, None] * ex[t][pdfb]) * bn) / scales[t + 1]
        dots[t] = init @ bd[t]
    _r, _d, _o, ps, pd, wp, rowp = g.ell["post"]
    ps, pd = ps.long(), pd.long()
    post = torch.empty((T, P, B), dtype=ex.dtype, device=ex.device)
    for t in range(T):
        ad = alpha[t][ps] / scales[t] + c * init[ps][:, None]
        bn = bd[t + 1][pd] + c * dots[t + 1]
        acc = torch.zeros((P, B), dtype=ex.dtype, device=ex.device).index_add_(0, rowp, wp[:, None] * ad * bn)
        post[t] = acc * ex[t] / scales[t + 1]
    return scales, (1.0 + c) * dots[0], post


def _den_triton(ex: torch.Tensor, g: DenGraph, c: float, compute_posteriors: bool):
    """Fused Triton kernels: one launch per frame forward and backward, one for all posteriors."""
    K = kernels(interpreting())
    T, P, B = ex.shape
    S = g.num_states
    BS, BB = ELL_TILE, min(64, _next_pow2(B))
    nb = (B + BB - 1) // BB
    rows, tdeg, toff, src, pdf, w, _ = g.ell["fwd"]
    NT = int(tdeg.numel())
    alpha = torch.empty((T + 1, S, B), dtype=ex.dtype, device=ex.device)
    alpha[0] = g.init[:, None]
    part = torch.zeros((T + 1, NT, B), dtype=ex.dtype, device=ex.device)
    part[0, 0] = 1.0
    for t in range(T):
        K["den_fwd"][(NT, nb)](alpha[t], alpha[t + 1], part[t], part[t + 1], ex[t], g.init, rows, src, pdf, w,
                               tdeg, toff, S, B, NT, c, BS=BS, BB=BB, NTP=_next_pow2(NT))
    scales = part.sum(1)  # (T+1, B): scales[t+1] = scale of frame t, scales[0] = 1
    if not compute_posteriors:
        return scales, None, None
    rows, tdeg, toff, dst, pdf, w, _ = g.ell["bwd"]
    NTb = int(tdeg.numel())
    bd = torch.empty((T + 1, S, B), dtype=ex.dtype, device=ex.device)
    bd[T] = 1.0
    partb = torch.zeros((T + 1, NTb, B), dtype=ex.dtype, device=ex.device)
    for t in range(T - 1, -1, -1):
        K["den_bwd"][(NTb, nb)](bd[t], bd[t + 1], partb[t], partb[t + 1], ex[t], scales[t + 1], g.init, rows, dst,
                                pdf, w, tdeg, toff, S, B, NTb, c, BS=BS, BB=BB, NTP=_next_pow2(NTb))
    dots = partb.sum(1)  # (T+1, B): init · bd(t); dots[T] = 0
    rows, tdeg, toff, src, dst, w, _ = g.ell["post"]
    post = torch.empty((T, P, B), dtype=ex.dtype, device=ex.device)
    K["den_post"][(int(tdeg.numel()), nb, T)](post, alpha, scales, bd, dots, ex, g.init, rows, src, dst, w, tdeg,
                                              toff, S, B, P, c, BS=BS, BB=BB)
    return scales, (1.0 + c) * dots[0], post


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
        msum = m.squeeze(2).to(torch.float64).sum(1) + math.log1p(c)
        if g.method in ("ell", "triton"):
            fb = _den_triton if g.method == "triton" else _den_ell_torch
            scales, check, post = fb(ex, g, c, compute_posteriors)
            logprob = torch.log(scales[1:].to(torch.float64)).sum(0) + msum
            ok = torch.isfinite(logprob)
            if not compute_posteriors:
                return logprob, None, ok
            ok = ok & torch.isfinite(check) & ((check - 1.0).abs() < check_tolerance)
            return logprob, post.permute(2, 0, 1), ok
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
        logprob = torch.log(scales.to(torch.float64)).sum(0) + msum
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
_NUM_TENSORS = ("src", "dst", "pdf", "seq", "log_prob", "initial", "final", "state_seq", "seqframe",
                "in_arc", "in_nbr", "out_arc", "out_nbr")


@dataclass
class NumeratorBatch:
    """B numerator FSAs as one block-diagonal FSA on a device (every arc reads its sequence).

    Time-indexed batches (``frame_offsets`` set) have their states numbered by frame: the states
    of frame f (all sequences) are ``frame_offsets[f] : frame_offsets[f+1]``, and carry ELL
    tables of incoming (``in_arc``/``in_nbr``: arc and its source) and outgoing arcs
    (``out_arc``/``out_nbr``: arc and its destination), one row per state, -1 = padding.
    """

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
    frame_offsets: list[int] | None = None  # (T+2,) states of frame f: [o[f], o[f+1])
    seqframe: torch.Tensor | None = None  # (A,) seq * T + frame of each arc
    in_arc: torch.Tensor | None = None  # (N, D_in) int64
    in_nbr: torch.Tensor | None = None
    out_arc: torch.Tensor | None = None  # (N, D_out) int64
    out_nbr: torch.Tensor | None = None

    def to(self, device) -> "NumeratorBatch":
        moved = {k: getattr(self, k).to(device) for k in _NUM_TENSORS if getattr(self, k) is not None}
        return replace(self, **moved)


def _ell_table(rows: torch.Tensor, nbr: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, D) tables of the arcs grouped by ``rows`` and their ``nbr`` (-1 / 0 = padding)."""
    A = int(rows.numel())
    counts = torch.bincount(rows, minlength=n)
    D = max(int(counts.max()) if n else 0, 1)
    order = torch.argsort(rows, stable=True)
    r = rows[order]
    k = torch.arange(A) - (torch.cumsum(counts, 0) - counts)[r]
    arc = torch.full((n, D), -1, dtype=torch.int64)
    nb = torch.zeros((n, D), dtype=torch.int64)
    arc[r, k] = order
    nb[r, k] = nbr[order]
    return arc, nb


def batch_numerators(fsas: list[Fsa], num_frames: int, state_frames: list[torch.Tensor] | None = None,
                     device="cpu", dtype=torch.float32) -> NumeratorBatch:
    """Stack per-sequence numerator FSAs into a :class:`NumeratorBatch`.

    ``state_frames`` (optional, one per FSA): the frame index (0..T) of every state of a
    time-indexed FSA; arcs then run from frame t to t+1, states are renumbered by frame and
    the ELL tables of the frame-by-frame forward-backward are built (on the CPU, vectorised).
    """
    T = int(num_frames)
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
            if sf.numel() != f.num_states:
                raise ValueError(f"numerator {b}: {sf.numel()} state frames for {f.num_states} states")
            if sf.numel() and (int(sf.min()) < 0 or int(sf.max()) > T):
                raise ValueError(f"numerator {b}: state frames outside [0, {T}]")
            if not torch.equal(sf[f.dst], sf[f.src] + 1):
                raise ValueError(f"numerator {b}: state_frames is not a time index (arc not from t to t+1)")
            frames.append(sf)
        offs += f.num_states
    cat = lambda xs, dt=torch.int64: torch.cat(xs) if xs else torch.zeros(0, dtype=dt)  # noqa: E731
    src, dst, pdf, seq, lp = cat(srcs), cat(dsts), cat(pdfs), cat(seqs), cat(lps, torch.float64)
    init, fin, ss = cat(inits, torch.float64), cat(fins, torch.float64), cat(sseq)
    N = offs
    extra: dict = {}
    bounds = None
    if state_frames is not None:
        sf = cat(frames)
        # renumber states by (frame, sequence): each frame's states are contiguous
        perm = torch.argsort(sf * max(N, 1) + torch.arange(N), stable=True)
        new_id = torch.empty(N, dtype=torch.int64)
        new_id[perm] = torch.arange(N)
        src, dst = new_id[src], new_id[dst]
        init, fin, ss, sf = init[perm], fin[perm], ss[perm], sf[perm]
        fr = sf[src]
        order = torch.argsort(fr, stable=True)
        src, dst, pdf, seq, lp, fr = src[order], dst[order], pdf[order], seq[order], lp[order], fr[order]
        bounds = [0] + torch.cumsum(torch.bincount(fr, minlength=T), 0).tolist()
        extra["frame_offsets"] = [0] + torch.cumsum(torch.bincount(sf, minlength=T + 1), 0).tolist()
        extra["seqframe"] = seq * T + fr
        extra["in_arc"], extra["in_nbr"] = _ell_table(dst, src, N)
        extra["out_arc"], extra["out_nbr"] = _ell_table(src, dst, N)
    nb = NumeratorBatch(len(fsas), T, N, src, dst, pdf, seq, lp.to(dtype), init.to(dtype), fin.to(dtype), ss,
                        bounds, **extra)
    return nb.to(device)


def _scatter_logsumexp(vals: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    m = torch.full((n,), float("-inf"), dtype=vals.dtype, device=vals.device)
    m = m.scatter_reduce(0, index, vals, reduce="amax", include_self=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    s = torch.zeros((n,), dtype=vals.dtype, device=vals.device).index_add_(0, index, torch.exp(vals - m[index]))
    return torch.log(s) + m


def _num_layers(val: torch.Tensor, arc: torch.Tensor, nbr: torch.Tensor, score: torch.Tensor,
                ranges: list[tuple[int, int]], use_triton: bool) -> None:
    """For each (lo, hi) in order: val[lo:hi] = logsumexp_k(score[arc[j,k]] + val[nbr[j,k]])."""
    if use_triton:
        K = kernels(interpreting())["num_layer"]
        D = int(arc.shape[1])
        BD = min(_next_pow2(D), 16)
        BN = max(16, 512 // BD)
        for lo, hi in ranges:
            if hi > lo:
                K[((hi - lo + BN - 1) // BN,)](val, nbr, arc, score, lo, hi, D, BN=BN, BD=BD)
        return
    pad = torch.cat([score, score.new_full((1,), float("-inf"))])  # arc -1 -> -inf
    for lo, hi in ranges:
        if hi > lo:
            val[lo:hi] = torch.logsumexp(pad[arc[lo:hi]] + val[nbr[lo:hi]], dim=1)


def numerator_forward_backward(nnet_output: torch.Tensor, num: NumeratorBatch, compute_posteriors: bool = True,
                               method: str = "auto") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Numerator log-likelihood of each sequence (B,) and pdf posteriors (B, T, P), log space.

    Time-indexed batches run frame by frame over the ELL tables (``method``: ``"torch"``,
    ``"triton"`` (one fused kernel per frame), ``"auto"``: triton on CUDA float32 where
    usable); arc scores are gathered once and posteriors scattered once for all frames.
    """
    x = nnet_output.detach()
    B, T, P = x.shape
    if B != num.num_sequences or T != num.num_frames:
        raise ValueError(f"nnet output is {B}x{T}, numerator batch is {num.num_sequences}x{num.num_frames}")
    if method not in ("auto", "torch", "triton"):
        raise ValueError(f"unknown method {method!r}")
    dtype = num.log_prob.dtype
    if num.frame_offsets is None:
        return _numerator_generic(x, num, compute_posteriors)
    use_triton = method == "triton" or (method == "auto" and x.device.type == "cuda" and triton_usable(x.device, dtype))
    if use_triton and not triton_usable(x.device, dtype):
        raise ValueError(f"method 'triton' needs Triton and float32 on CUDA (got {x.device}, {dtype})")
    fo = num.frame_offsets
    N = num.num_states
    with torch.no_grad():
        xf = x.to(dtype).reshape(-1)
        xidx = num.seqframe * P + num.pdf
        score = (num.log_prob + xf[xidx]).contiguous()
        alpha = torch.full((N,), float("-inf"), dtype=dtype, device=x.device)
        alpha[:fo[1]] = num.initial[:fo[1]]
        _num_layers(alpha, num.in_arc, num.in_nbr, score, [(fo[t + 1], fo[t + 2]) for t in range(T)], use_triton)
        lo, hi = fo[T], fo[T + 1]
        tot = _scatter_logsumexp(alpha[lo:hi] + num.final[lo:hi], num.state_seq[lo:hi], B)
        if not compute_posteriors:
            return tot.to(torch.float64), None
        beta = torch.full((N,), float("-inf"), dtype=dtype, device=x.device)
        beta[lo:hi] = num.final[lo:hi]
        _num_layers(beta, num.out_arc, num.out_nbr, score, [(fo[t], fo[t + 1]) for t in range(T - 1, -1, -1)],
                    use_triton)
        arc_post = torch.exp(alpha[num.src] + score + beta[num.dst] - tot[num.seq])
        arc_post = torch.where(torch.isfinite(arc_post), arc_post, torch.zeros_like(arc_post))
        post = torch.zeros(B * T * P, dtype=dtype, device=x.device).index_add_(0, xidx, arc_post)
        return tot.to(torch.float64), post.reshape(B, T, P)


def _numerator_generic(x: torch.Tensor, num: NumeratorBatch, compute_posteriors: bool
                       ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Any (not time-indexed) numerator FSAs: T scatter-logsumexp steps over all arcs."""
    B, T, P = x.shape
    dtype = num.log_prob.dtype
    N = num.num_states
    with torch.no_grad():
        xf = x.to(dtype).reshape(-1)
        base = num.seq * (T * P) + num.pdf
        alphas = []
        alpha = num.initial
        for t in range(T):
            alphas.append(alpha)
            sc = alpha[num.src] + num.log_prob + xf[base + t * P]
            alpha = _scatter_logsumexp(sc, num.dst, N)
        tot = _scatter_logsumexp(alpha + num.final, num.state_seq, B)
        if not compute_posteriors:
            return tot.to(torch.float64), None
        post = torch.zeros(B * T * P, dtype=dtype, device=x.device)
        beta = num.final
        for t in range(T - 1, -1, -1):
            idx = base + t * P
            sc = num.log_prob + xf[idx] + beta[num.dst]
            arc_post = torch.exp(alphas[t][num.src] + sc - tot[num.seq])
            post.index_add_(0, idx, torch.where(torch.isfinite(arc_post), arc_post, torch.zeros_like(arc_post)))
            beta = _scatter_logsumexp(sc, num.src, N)
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
                    opts: ChainOptions | None = None, supervision_weight: float = 1.0,
                    num_method: str = "auto") -> ChainResult:
    """LF-MMI objective of a minibatch, with its gradient attached to ``result.loss``.

    ``result.loss = -(objf + l2_term) / frames`` (a scalar to minimise; its gradient w.r.t.
    ``nnet_output`` is ``-(num_post - den_post - l2_regularize·y) / frames``). The xent head is
    the caller's: add ``opts.xent_regularize * xent_objective(xent_output, result.num_post)``.
    The denominator runs with ``den.method``, the numerator with ``num_method`` (see
    :func:`numerator_forward_backward`).
    """
    opts = opts or ChainOptions()
    B, T, P = nnet_output.shape
    frames = B * T
    info: dict = {}
    den_lp, den_post, den_ok = denominator_forward_backward(nnet_output, den, opts.leaky_hmm_coefficient,
                                                           check_tolerance=opts.check_tolerance)
    num_lp, num_post = numerator_forward_backward(nnet_output, num, method=num_method)
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
