"""LDA (Kaldi's acc-lda / est-lda, ``transform/lda-estimate.cc``).

Statistics per class (pdf): count, sum of features; plus the total scatter Σ w x xᵀ. The estimate
whitens the within-class covariance W (Cholesky W = C Cᵀ), diagonalises C⁻¹ B C⁻ᵀ for the
between-class covariance B, and keeps the rows of Uᵀ C⁻¹ for the ``dim`` largest eigenvalues: in the
projected space the within-class covariance is unit and the between-class one diagonal.

Accumulators are ``.npz`` archives (``zero_acc``, ``first_acc``, ``total_second_acc``), written
atomically; they are read only by our own ``est-lda``.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from hybrid.io.atomic import atomic_path

log = logging.getLogger("hybrid.transform")


@dataclass
class LdaStats:
    """Kaldi's LdaEstimate accumulators (float64)."""

    zero_acc: np.ndarray  # (C,)
    first_acc: np.ndarray  # (C, D)
    total_second_acc: np.ndarray  # (D, D)

    @classmethod
    def zeros(cls, num_classes: int, dim: int) -> "LdaStats":
        return cls(np.zeros(num_classes), np.zeros((num_classes, dim)), np.zeros((dim, dim)))

    @property
    def num_classes(self) -> int:
        return len(self.zero_acc)

    @property
    def dim(self) -> int:
        return self.first_acc.shape[1]

    def accumulate(self, feats: np.ndarray, classes: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add frames ``feats`` (T, D) with class ids (T,) and weights (T,) (weight 0 frames are skipped)."""
        x = np.asarray(feats, dtype=np.float64)
        c = np.asarray(classes, dtype=np.int64)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"features have shape {x.shape}, LDA stats have dimension {self.dim}")
        if not (len(c) == len(x) == len(w)):
            raise ValueError(f"{len(x)} frames of features, {len(c)} class ids, {len(w)} weights")
        keep = w != 0.0
        x, c, w = x[keep], c[keep], w[keep]
        if len(c) and (c.min() < 0 or c.max() >= self.num_classes):
            raise ValueError(f"class id outside [0, {self.num_classes})")
        np.add.at(self.zero_acc, c, w)
        np.add.at(self.first_acc, c, x * w[:, None])
        self.total_second_acc += (x * w[:, None]).T @ x

    def add(self, other: "LdaStats") -> None:
        if other.first_acc.shape != self.first_acc.shape:
            raise ValueError(f"cannot add LDA stats of shape {other.first_acc.shape} to {self.first_acc.shape}")
        self.zero_acc += other.zero_acc
        self.first_acc += other.first_acc
        self.total_second_acc += other.total_second_acc

    def write(self, path: str | os.PathLike) -> None:
        buf = io.BytesIO()
        np.savez(buf, zero_acc=self.zero_acc, first_acc=self.first_acc, total_second_acc=self.total_second_acc)
        with atomic_path(path) as tmp:
            tmp.write_bytes(buf.getvalue())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "LdaStats":
        try:
            with np.load(path) as z:
                return cls(z["zero_acc"].copy(), z["first_acc"].copy(), z["total_second_acc"].copy())
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path}: not an LDA accumulator file ({e})") from None


def sum_lda_stats(paths: list[str | os.PathLike]) -> LdaStats:
    """Read and add LDA accumulators (est-lda takes several)."""
    if not paths:
        raise ValueError("no LDA accumulators given")
    tot = LdaStats.read(paths[0])
    for p in paths[1:]:
        try:
            tot.add(LdaStats.read(p))
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None
    return tot


@dataclass
class LdaResult:
    mat: np.ndarray  # (dim, D) (or (dim, D+1) with remove_offset)
    full_mat: np.ndarray  # (D, D)
    singular_values: np.ndarray  # (D,) sorted, decreasing
    count: float
    messages: list[str] = field(default_factory=list)


def estimate_lda(stats: LdaStats, dim: int, *, allow_large_dim: bool = False, remove_offset: bool = False,
                 within_class_factor: float = 1.0) -> LdaResult:
    """Kaldi's est-lda (LdaEstimate::Estimate): the ``dim`` × D LDA matrix.

    Classes with zero count are ignored. ``within_class_factor`` scales the within-class variance
    of the output (Kaldi's option; 1.0 leaves it unit); ``remove_offset`` appends a column making
    the projected global mean zero.
    """
    d = stats.dim
    count = float(stats.zero_acc.sum())
    used = stats.zero_acc > 0
    num_used = int(used.sum())
    if dim <= 0 or dim > d:
        raise ValueError(f"LDA dimension {dim} must be in [1, {d}]")
    if not allow_large_dim and dim >= num_used:
        raise ValueError(f"LDA dimension {dim} must be smaller than the number of classes with data "
                         f"({num_used}) (use --allow-large-dim)")
    if count <= 0:
        raise ValueError("LDA statistics are empty")
    total_mean = stats.first_acc.sum(axis=0) / count
    total_covar = stats.total_second_acc / count - np.outer(total_mean, total_mean)
    cm = stats.first_acc[used] / stats.zero_acc[used, None]
    bc_covar = (cm * (stats.zero_acc[used, None] / count)).T @ cm - np.outer(total_mean, total_mean)
    wc_covar = total_covar - bc_covar
    wc_covar = 0.5 * (wc_covar + wc_covar.T)
    bc_covar = 0.5 * (bc_covar + bc_covar.T)
    try:
        chol = np.linalg.cholesky(wc_covar)
    except np.linalg.LinAlgError:
        raise ValueError("within-class covariance is not positive definite (too little data, or "
                         "linearly dependent features)") from None
    cinv = np.linalg.inv(chol)
    tmp = cinv @ bc_covar @ cinv.T
    tmp = 0.5 * (tmp + tmp.T)
    evals, evecs = np.linalg.eigh(tmp)  # symmetric PSD: SVD == eigendecomposition
    order = np.argsort(-evals, kind="stable")
    svals = evals[order]
    u = evecs[:, order]
    full = u.T @ cinv
    mat = full[:dim].copy()
    msgs = [f"Data count is {count:g}",
            "LDA singular values are [ " + " ".join(f"{v:.6g}" for v in svals) + " ]",
            f"Sum of all singular values is {svals.sum():.6g}",
            f"Sum of selected singular values is {svals[:dim].sum():.6g}"]
    if within_class_factor != 1.0:
        # within-class variance of output dim i becomes within_class_factor while the between-class
        # part (singular value s_i) is kept: scale row i by sqrt((f + s_i) / (1 + s_i)).
        s = np.maximum(svals[:dim], 0.0)
        mat *= np.sqrt((within_class_factor + s) / (1.0 + s))[:, None]
    if remove_offset:
        mat = np.concatenate([mat, -(mat @ total_mean)[:, None]], axis=1)
    return LdaResult(mat, full, svals, count, msgs)
