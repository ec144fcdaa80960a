"""Shared pieces of the feature-space transforms: matrix files, frame→pdf weights, Gaussian posteriors.

Matrices (``0.mat``, ``final.mat``) are Kaldi matrices, binary (``\\0B``) by default or Kaldi text;
both are read by :func:`read_matrix` (kaldiio) and by Kaldi's own tools.
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np
from numba import njit

from hybrid.io.atomic import atomic_path, atomic_write
from hybrid.io.kaldi_text import format_matrix


# ---------------------------------------------------------------------------------------------- matrix files
def read_matrix(path: str | os.PathLike) -> np.ndarray:
    """A Kaldi matrix file (binary or text) as float64."""
    import kaldiio

    try:
        return np.asarray(kaldiio.load_mat(str(path)), dtype=np.float64)
    except Exception as e:  # kaldiio raises several kinds
        raise ValueError(f"{path}: cannot read a Kaldi matrix: {e}") from None


def write_matrix(path: str | os.PathLike, mat: np.ndarray, binary: bool = True) -> None:
    """Write a Kaldi matrix (float32) atomically: binary (``--binary=true``) or Kaldi text."""
    m = np.asarray(mat, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"{path}: expected a matrix, got shape {m.shape}")
    if binary:
        import kaldiio

        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                kaldiio.save_mat(f, m)
    else:
        with atomic_write(path) as f:
            f.write(" " + format_matrix(m) + "\n")


def compose_transforms(a: np.ndarray, b: np.ndarray, b_is_affine: bool = False) -> np.ndarray:
    """Kaldi's compose-transforms: the transform "apply ``b``, then ``a``" (``c = a·b``).

    ``a`` is ``n×m`` (linear) or ``n×(m+1)`` (affine); ``b`` is ``m×k`` or ``m×(k+1)``. With
    ``b_is_affine`` ``b``'s last column is its offset; the result is affine when either is.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    m = b.shape[0]
    if a.shape[1] == m:  # a linear
        return a @ b
    if a.shape[1] != m + 1:
        raise ValueError(f"compose-transforms: dimension mismatch, a is {a.shape[0]}x{a.shape[1]}, "
                         f"b is {b.shape[0]}x{b.shape[1]}")
    a_lin, a_off = a[:, :m], a[:, m]
    if b_is_affine:
        c = a_lin @ b
        c[:, -1] += a_off
        return c
    return np.concatenate([a_lin @ b, a_off[:, None]], axis=1)


def transform_means(am, mat: np.ndarray) -> None:
    """Kaldi's gmm-transform-means: μ ← A μ (+ b) for every Gaussian; variances unchanged.

    ``mat`` is ``d×d`` or ``d×(d+1)`` (square part must match the model dimension).
    """
    m = np.asarray(mat, dtype=np.float64)
    d = am.dim
    if m.shape[0] != d or m.shape[1] not in (d, d + 1):
        raise ValueError(f"transform is {m.shape[0]}x{m.shape[1]}, model dimension is {d}")
    for g in am.pdfs:
        means = g.means @ m[:, :d].T
        if m.shape[1] == d + 1:
            means += m[:, d]
        g.means_invvars = means * g.inv_vars
        g.compute_gconsts()
    am.invalidate()


# ---------------------------------------------------------------------------------------------- posteriors
def ali_to_pdf_weights(tm, ali: np.ndarray, silence_phones: Iterable[int] = (), silence_weight: float = 1.0,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """ali-to-post | weight-silence-post: per-frame (pdf, weight); frames of silence phones get ``silence_weight``."""
    ali = np.asarray(ali, dtype=np.int64)
    _, pdfs, w = post_to_pdf_weights(tm, np.arange(len(ali)), ali, np.ones(len(ali)), silence_phones,
                                     silence_weight, merge=False)
    return pdfs, w


def post_to_pdf_weights(tm, frames: np.ndarray, tids: np.ndarray, weights: np.ndarray,
                        silence_phones: Iterable[int] = (), silence_weight: float = 1.0, merge: bool = True,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """weight-silence-post | post-to-pdf-post: transition-id posteriors (parallel arrays frame, tid,
    weight) to (frames, pdfs, weights), silence phones' entries scaled by ``silence_weight`` and, with
    ``merge``, equal (frame, pdf) pairs summed; entries of weight 0 are dropped."""
    tids = np.asarray(tids, dtype=np.int64)
    if len(tids) and (tids.min() < 1 or tids.max() > tm.num_transition_ids):
        raise ValueError("alignment contains transition-ids outside the model")
    frames = np.asarray(frames, dtype=np.int64)
    pdfs = tm.tid2pdf[tids].astype(np.int64)
    w = np.array(weights, dtype=np.float64)
    sil = np.asarray(sorted(set(int(p) for p in silence_phones)), dtype=np.int64)
    if len(sil) and silence_weight != 1.0:
        w[np.isin(tm.tid2phone[tids], sil)] *= silence_weight
    if merge and len(tids):
        key = frames * (int(pdfs.max()) + 1) + pdfs
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        summed = np.zeros(len(uniq))
        np.add.at(summed, inv, w)
        frames, pdfs, w = frames[first], pdfs[first], summed
        keep = w != 0.0
        frames, pdfs, w = frames[keep], pdfs[keep], w[keep]
    return frames, pdfs, w


@njit(cache=True)
def _gauss_posteriors(feats, pdfs, offsets, gconsts, miv, iv, gidx, post, loglike):
    t_max, d = feats.shape
    for t in range(t_max):
        p = pdfs[t]
        a, b = offsets[p], offsets[p + 1]
        x = feats[t]
        m = -np.inf
        for g in range(a, b):
            s = gconsts[g]
            for k in range(d):
                s += x[k] * (miv[g, k] - 0.5 * iv[g, k] * x[k])
            post[t, g - a] = s
            gidx[t, g - a] = g
            if s > m:
                m = s
        z = 0.0
        for g in range(a, b):
            z += np.exp(post[t, g - a] - m)
        lse = m + np.log(z)
        loglike[t] = lse
        for g in range(a, b):
            post[t, g - a] = np.exp(post[t, g - a] - lse)


def gauss_posteriors(am, feats: np.ndarray, pdfs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame Gaussian posteriors within the frame's pdf (DiagGmm::ComponentPosteriors).

    Returns ``gidx`` (T, Gmax) global Gaussian indices in the model's packed order (−1 = padding),
    ``post`` (T, Gmax) posteriors (0 on padding) and ``loglike`` (T,) = log p(x_t | pdf_t).
    """
    offsets, gc, miv, iv = am.packed()
    x = np.ascontiguousarray(feats, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != am.dim:
        raise ValueError(f"features have shape {x.shape}, the model has dimension {am.dim}")
    pdfs = np.asarray(pdfs, dtype=np.int64)
    if len(pdfs) != len(x):
        raise ValueError(f"{len(pdfs)} frames of pdfs versus {len(x)} frames of features")
    if len(pdfs) and (pdfs.min() < 0 or pdfs.max() >= am.num_pdfs):
        raise ValueError("pdf index outside the model")
    gmax = int(np.max(offsets[1:] - offsets[:-1])) if am.num_pdfs else 0
    gidx = np.full((len(x), gmax), -1, dtype=np.int64)
    post = np.zeros((len(x), gmax))
    loglike = np.zeros(len(x))
    _gauss_posteriors(x, pdfs, offsets, gc, miv, iv, gidx, post, loglike)
    return gidx, post, loglike


@njit(cache=True)
def _weighted_sums(gidx, post, weights, table, occ):
    """out[t] = Σ_g w_t γ_tg table[g]; occ[g] += w_t γ_tg."""
    t_max, gmax = gidx.shape
    out = np.zeros((t_max, table.shape[1]))
    for t in range(t_max):
        w = weights[t]
        if w == 0.0:
            continue
        for j in range(gmax):
            g = gidx[t, j]
            if g < 0:
                break
            p = w * post[t, j]
            occ[g] += p
            for k in range(table.shape[1]):
                out[t, k] += p * table[g, k]
    return out


def weighted_gauss_sums(gidx: np.ndarray, post: np.ndarray, weights: np.ndarray, table: np.ndarray,
                        occ: np.ndarray) -> np.ndarray:
    """(T, K) Σ_g w_t·γ_tg·table[g] for a (G, K) per-Gaussian table; adds w_t·γ_tg to ``occ``[g]."""
    return _weighted_sums(gidx, post, np.asarray(weights, dtype=np.float64),
                          np.ascontiguousarray(table, dtype=np.float64), occ)
