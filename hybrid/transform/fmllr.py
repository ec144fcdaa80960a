"""fMLLR / constrained MLLR (Kaldi's gmm-est-fmllr, ``transform/fmllr-diag-gmm.cc``).

A speaker's transform W = [A b] (d × (d+1)) maps x to A x + b. Statistics over the speaker's
frames with Gaussian posteriors γ_tg (within the aligned pdf, times the frame weight), x⁺ = [x; 1]:
β = Σ γ, K = Σ γ σ⁻²_g μ_g x⁺ᵀ (d × (d+1)), G_i = Σ γ σ⁻²_gi x⁺ x⁺ᵀ ((d+1) × (d+1)).
Auxiliary function: β log|det A| + tr(W Kᵀ) − ½ Σ_i w_iᵀ G_i w_i. The "full" update visits the rows
in turn: w_i = G_i⁻¹(α c_i + k_i), c_i the extended cofactor row, α the root of
α² c_iᵀG_i⁻¹c_i + α c_iᵀG_i⁻¹k_i − β = 0 with the larger auxf; ``num_iters`` (40) passes from
the identity. Speakers with β ≤ ``min_count`` (20) keep the identity (a warning).

Stats may be accumulated with posteriors from another model on other features
(gmm-post-to-gpost + gmm-est-fmllr-gpost: the SI alignment model on SI features) as long as it
has the same Gaussians.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from hybrid.transform.common import gauss_posteriors, weighted_gauss_sums

log = logging.getLogger("hybrid.transform")

UPDATE_TYPES = ("full", "diag", "offset", "none")


@dataclass
class FmllrOptions:
    """Kaldi's FmllrOptions (``--fmllr-update-type``, ``--fmllr-min-count``, ``--fmllr-num-iters``)."""

    update_type: str = "full"
    min_count: float = 20.0
    num_iters: int = 40


@dataclass
class FmllrStats:
    beta: float
    K: np.ndarray  # (d, d+1)
    G: np.ndarray  # (d, d+1, d+1)

    @classmethod
    def zeros(cls, dim: int) -> "FmllrStats":
        return cls(0.0, np.zeros((dim, dim + 1)), np.zeros((dim, dim + 1, dim + 1)))

    @property
    def dim(self) -> int:
        return self.K.shape[0]

    def add(self, other: "FmllrStats") -> None:
        self.beta += other.beta
        self.K += other.K
        self.G += other.G


class FmllrAccumulator:
    """Accumulates :class:`FmllrStats` for one speaker (FmllrDiagGmmAccs)."""

    def __init__(self, am, post_am=None) -> None:
        self.am = am
        self.post_am = am if post_am is None else post_am
        offsets, _, miv, iv = am.packed()
        if self.post_am is not am and not np.array_equal(self.post_am.packed()[0], offsets):
            raise ValueError("the model for Gaussian posteriors and the model for fMLLR stats differ in "
                             "their Gaussians (numbers per pdf)")
        self.miv, self.iv = miv, iv
        self._occ = np.zeros(int(offsets[-1]))
        self.stats = FmllrStats.zeros(am.dim)
        self.tot_like = 0.0

    def reset(self) -> None:
        self.stats = FmllrStats.zeros(self.am.dim)

    def accumulate(self, feats: np.ndarray, pdfs: np.ndarray, weights: np.ndarray,
                   post_feats: np.ndarray | None = None) -> float:
        """Add one utterance; posteriors come from ``post_am`` on ``post_feats`` (default: the same).

        Returns Σ_t w_t log p(x_t | pdf_t) under the posterior model.
        """
        x = np.asarray(feats, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        pdfs = np.asarray(pdfs)
        px = x if post_feats is None else np.asarray(post_feats, dtype=np.float64)
        if px.shape[0] != x.shape[0]:
            raise ValueError(f"{len(px)} frames of posterior features versus {len(x)}")
        keep = w != 0.0
        x, px, w, pdfs = x[keep], px[keep], w[keep], pdfs[keep]
        if len(x) == 0:
            return 0.0
        if x.shape[1] != self.am.dim:
            raise ValueError(f"features have dimension {x.shape[1]}, the model {self.am.dim}")
        gidx, post, loglike = gauss_posteriors(self.post_am, px, pdfs)
        a = weighted_gauss_sums(gidx, post, w, self.iv, self._occ)  # (T, d)
        m = weighted_gauss_sums(gidx, post, w, self.miv, self._occ)  # (T, d)
        d = x.shape[1]
        xe = np.concatenate([x, np.ones((len(x), 1))], axis=1)
        st = self.stats
        st.beta += float(w.sum())
        st.K += m.T @ xe
        ax = (a[:, :, None] * xe[:, None, :]).reshape(len(x), d * (d + 1))
        st.G += (ax.T @ xe).reshape(d, d + 1, d + 1)
        like = float(np.dot(w, loglike))
        self.tot_like += like
        return like


def fmllr_auxf(W: np.ndarray, stats: FmllrStats) -> float:
    """Kaldi's FmllrAuxFuncDiagGmm: β log|det A| + tr(W Kᵀ) − ½ Σ_i w_iᵀ G_i w_i."""
    d = stats.dim
    _, logdet = np.linalg.slogdet(W[:, :d])
    return float(stats.beta * logdet + np.sum(W * stats.K) - 0.5 * np.einsum("ij,ijk,ik->", W, stats.G, W))


@dataclass
class FmllrResult:
    mat: np.ndarray  # (d, d+1)
    objf_impr: float  # total
    count: float
    messages: list[str] = field(default_factory=list)
    auxf_per_pass: list[float] = field(default_factory=list)


def _full_update(W: np.ndarray, stats: FmllrStats, num_iters: int, auxf: list[float]) -> np.ndarray:
    d = stats.dim
    beta = stats.beta
    ginv = np.linalg.inv(stats.G)
    W = W.copy()
    for _ in range(num_iters):
        for i in range(d):
            cof = np.zeros(d + 1)
            cof[:d] = np.linalg.inv(W[:, :d]).T[i]  # cofactor row / det
            k = stats.K[i]
            gc = ginv[i] @ cof
            e1 = float(cof @ gc)
            e2 = float(k @ gc)
            discr = np.sqrt(e2 * e2 + 4.0 * e1 * beta)
            a1 = (-e2 + discr) / (2.0 * e1)
            a2 = (-e2 - discr) / (2.0 * e1)
            f1 = beta * np.log(abs(a1 * e1 + e2)) - 0.5 * a1 * a1 * e1
            f2 = beta * np.log(abs(a2 * e1 + e2)) - 0.5 * a2 * a2 * e1
            alpha = a1 if f1 > f2 else a2
            W[i] = ginv[i] @ (alpha * cof + k)
        auxf.append(fmllr_auxf(W, stats))
    return W


def _diag_update(W: np.ndarray, stats: FmllrStats) -> np.ndarray:
    d = stats.dim
    W = W.copy()
    for i in range(d):
        g = stats.G[i]
        k_ii, k_id = stats.K[i, i], stats.K[i, d]
        g_iii, g_idd, g_idi = g[i, i], g[d, d], g[d, i]
        a = g_idi * g_idi / g_idd - g_iii
        b = k_ii - g_idi * k_id / g_idd
        s = (-b - np.sqrt(b * b - 4 * a * stats.beta)) / (2 * a)
        W[i, :d] = 0.0
        W[i, i] = s
        W[i, d] = (k_id - s * g_idi) / g_idd
    return W


def _offset_update(W: np.ndarray, stats: FmllrStats) -> np.ndarray:
    d = stats.dim
    W = W.copy()
    for i in range(d):
        W[i, d] = (stats.K[i, d] - stats.G[i][i, d]) / stats.G[i][d, d]
    return W


def estimate_fmllr(stats: FmllrStats, opts: FmllrOptions | None = None, init: np.ndarray | None = None,
                   ) -> FmllrResult:
    """Kaldi's FmllrDiagGmmAccs::Update from ``init`` (default [I 0]); returns the d × (d+1) transform."""
    opts = opts or FmllrOptions()
    if opts.update_type not in UPDATE_TYPES:
        raise ValueError(f"Unknown fMLLR update type {opts.update_type}, fmllr-update-type must be one of "
                         + "|".join(f'"{u}"' for u in UPDATE_TYPES))
    d = stats.dim
    W0 = np.concatenate([np.eye(d), np.zeros((d, 1))], axis=1) if init is None else np.array(init, np.float64)
    msgs: list[str] = []
    if stats.beta <= opts.min_count:
        msgs.append(f"WARNING: Not updating fMLLR since below min-count: count is {stats.beta:g}")
        return FmllrResult(W0, 0.0, stats.beta, msgs)
    old = fmllr_auxf(W0, stats)
    auxf = [old]
    try:
        if opts.update_type == "full":
            W = _full_update(W0, stats, opts.num_iters, auxf)
        elif opts.update_type == "diag":
            W = _diag_update(W0, stats)
        elif opts.update_type == "offset":
            W = _offset_update(W0, stats)
        else:
            W = W0.copy()
    except np.linalg.LinAlgError as e:
        msgs.append(f"WARNING: fMLLR estimation failed ({e}); using the initial transform")
        return FmllrResult(W0, 0.0, stats.beta, msgs)
    new = fmllr_auxf(W, stats)
    impr = new - old
    msgs.append(f"fMLLR objf improvement is {impr / (stats.beta + 1e-10):.6g} per frame over {stats.beta:g} frames.")
    if not np.isfinite(new) or (impr < 0.0 and not np.isclose(new, old, rtol=1e-5)):
        msgs.append("WARNING: No applying fMLLR transform change because objective function did not increase.")
        return FmllrResult(W0, 0.0, stats.beta, msgs, auxf)
    return FmllrResult(W, impr, stats.beta, msgs, auxf)
