"""MLLT / semi-tied covariance (Kaldi's gmm-acc-mllt, est-mllt, ``transform/mllt.cc``).

Statistics: β = Σ γ and, per output dimension i, G_i = Σ_{t,g} γ_tg σ⁻²_gi (μ_g − x_t)(μ_g − x_t)ᵀ,
with Gaussian posteriors γ within the aligned pdf. The update (Gales 1999, eq. 22) optimises
β log|det A| − ½ Σ_i a_iᵀ G_i a_i row by row: a_i = G_i⁻¹ c_i √(β / c_iᵀ G_i⁻¹ c_i), c_i the
i-th cofactor row, 200 passes from A = I. The result is composed with the previous LDA/MLLT
matrix (compose-transforms) and applied to the model means (gmm-transform-means).

Accumulation is exact and BLAS-based: with a_t = Σ_g γ_tg σ⁻²_g and C_t[i] = Σ_g γ_tg σ⁻²_gi μ_g,
G_i = Σ_t a_ti x_t x_tᵀ − Σ_t (x_t C_t[i]ᵀ + C_t[i] x_tᵀ) + Σ_g n_g σ⁻²_gi μ_g μ_gᵀ.
Accumulators are ``.npz`` (``beta``, ``G``), read by our est-mllt.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from hybrid.io.atomic import atomic_path
from hybrid.transform.common import gauss_posteriors, weighted_gauss_sums

log = logging.getLogger("hybrid.transform")


@njit(cache=True)
def _ivmu_sums(gidx, post, weights, iv, means):
    """C[t, i, j] = Σ_g w_t γ_tg σ⁻²_gi μ_gj."""
    t_max, gmax = gidx.shape
    d = iv.shape[1]
    out = np.zeros((t_max, d, d))
    for t in range(t_max):
        w = weights[t]
        if w == 0.0:
            continue
        for jj in range(gmax):
            g = gidx[t, jj]
            if g < 0:
                break
            p = w * post[t, jj]
            for i in range(d):
                s = p * iv[g, i]
                for j in range(d):
                    out[t, i, j] += s * means[g, j]
    return out


@dataclass
class MlltStats:
    beta: float
    G: np.ndarray  # (D, D, D): G[i] for output row i

    @classmethod
    def zeros(cls, dim: int) -> "MlltStats":
        return cls(0.0, np.zeros((dim, dim, dim)))

    @property
    def dim(self) -> int:
        return self.G.shape[0]

    def add(self, other: "MlltStats") -> None:
        if other.G.shape != self.G.shape:
            raise ValueError(f"cannot add MLLT stats of dimension {other.dim} to {self.dim}")
        self.beta += other.beta
        self.G += other.G

    def write(self, path: str | os.PathLike) -> None:
        buf = io.BytesIO()
        np.savez(buf, beta=np.float64(self.beta), G=self.G)
        with atomic_path(path) as tmp:
            tmp.write_bytes(buf.getvalue())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "MlltStats":
        try:
            with np.load(path) as z:
                return cls(float(z["beta"]), z["G"].copy())
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path}: not an MLLT accumulator file ({e})") from None


def sum_mllt_stats(paths: list[str | os.PathLike]) -> MlltStats:
    if not paths:
        raise ValueError("no MLLT accumulators given")
    tot = MlltStats.read(paths[0])
    for p in paths[1:]:
        try:
            tot.add(MlltStats.read(p))
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None
    return tot


class MlltAccumulator:
    """Accumulates :class:`MlltStats` for one model over many utterances (gmm-acc-mllt)."""

    def __init__(self, am) -> None:
        self.am = am
        offsets, _, miv, iv = am.packed()
        self.iv = iv
        self.means = miv / iv
        d = am.dim
        self.occ = np.zeros(int(offsets[-1]))
        self.g_data = np.zeros((d, d, d))  # Σ a_ti x xᵀ − cross terms
        self.tot_like = 0.0
        self.tot_t = 0.0

    def accumulate(self, feats: np.ndarray, pdfs: np.ndarray, weights: np.ndarray) -> float:
        """Add one utterance (frames with their pdf and weight); returns Σ_t w_t log p(x_t|pdf_t)."""
        x = np.asarray(feats, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        keep = w != 0.0
        x, w, pdfs = x[keep], w[keep], np.asarray(pdfs)[keep]
        if len(x) == 0:
            return 0.0
        d = self.am.dim
        gidx, post, loglike = gauss_posteriors(self.am, x, pdfs)
        a = weighted_gauss_sums(gidx, post, w, self.iv, self.occ)  # (T, D)
        c = _ivmu_sums(gidx, post, w, self.iv, self.means)  # (T, i, j)
        # Σ_t a_ti x_t x_tᵀ  → (i, j, k)
        ax = (a[:, :, None] * x[:, None, :]).reshape(len(x), d * d)  # (T, i*j)
        g1 = (ax.T @ x).reshape(d, d, d)
        # Σ_t x_t C_t[i]ᵀ → [i, j, k] = Σ_t x_tj C_t[i, k]
        g2 = np.einsum("tj,tik->ijk", x, c, optimize=True)
        self.g_data += g1 - g2 - g2.transpose(0, 2, 1)
        like = float(np.dot(w, loglike))
        self.tot_like += like
        self.tot_t += float(w.sum())
        return like

    def stats(self) -> MlltStats:
        """The accumulated β and G_i (adds the per-Gaussian Σ_g n_g σ⁻²_gi μ_g μ_gᵀ term)."""
        mu_w = self.means * self.occ[:, None]  # (G, D)
        g4 = np.einsum("gi,gj,gk->ijk", self.iv, mu_w, self.means, optimize=True)
        G = self.g_data + g4
        G = 0.5 * (G + G.transpose(0, 2, 1))
        return MlltStats(float(self.occ.sum()), G)


def mllt_auxf(M: np.ndarray, stats: MlltStats) -> float:
    """β log|det M| − ½ Σ_i m_iᵀ G_i m_i (the MLLT auxiliary function, without constants)."""
    _, logdet = np.linalg.slogdet(M)
    return float(stats.beta * logdet - 0.5 * np.einsum("ij,ijk,ik->", M, stats.G, M))


@dataclass
class MlltResult:
    mat: np.ndarray
    objf_impr: float  # total (not per frame)
    count: float
    messages: list[str] = field(default_factory=list)
    auxf_per_pass: list[float] = field(default_factory=list)


def estimate_mllt(stats: MlltStats, num_iters: int = 200, init: np.ndarray | None = None) -> MlltResult:
    """Kaldi's MlltAccs::Update: row-by-row semi-tied update from ``init`` (identity)."""
    d = stats.dim
    beta = stats.beta
    msgs: list[str] = []
    if beta < 10 * d:
        msgs.append(f"WARNING: Mllt:Update, {'very small' if beta > 2 * d else 'insufficient'} count {beta:g}")
    M = np.eye(d) if init is None else np.array(init, dtype=np.float64)
    try:
        ginv = np.linalg.inv(stats.G)
    except np.linalg.LinAlgError:
        raise ValueError("MLLT statistics are singular (too little data)") from None
    tot = 0.0
    auxf = [mllt_auxf(M, stats)]
    for p in range(num_iters):
        for i in range(d):
            row = M[i]
            cof = np.linalg.inv(M).T[i]  # cofactor row up to a constant
            before = beta * np.log(abs(row @ cof)) - 0.5 * row @ stats.G[i] @ row
            gc = ginv[i] @ cof
            new = gc * np.sqrt(beta / (cof @ gc))
            after = beta * np.log(abs(new @ cof)) - 0.5 * new @ stats.G[i] @ new
            if after < before - abs(before) * 1e-5:
                raise ArithmeticError("Objective decrease in MLLT update.")
            M[i] = new
            tot += after - before
        auxf.append(mllt_auxf(M, stats))
        if p < 10 or p % 10 == 0:
            msgs.append(f"MLLT objective improvement per frame by {p}'th iteration is {tot / beta:.6g} per "
                        f"frame over {beta:g} frames.")
    return MlltResult(M, tot, beta, msgs, auxf)
