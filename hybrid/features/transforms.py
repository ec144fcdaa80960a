"""Frame-level transforms as Kaldi's add-deltas, splice-feats and transform-feats."""

from __future__ import annotations

import numpy as np


def delta_scales(order: int = 2, window: int = 2) -> list[np.ndarray]:
    """Kaldi's DeltaFeatures filters: ``scales[i]`` (length ``2*i*window+1``) gives order-i deltas."""
    if order < 0 or window < 1:
        raise ValueError(f"bad delta options: order {order}, window {window}")
    scales = [np.array([1.0])]
    normalizer = sum(j * j for j in range(-window, window + 1))
    for i in range(1, order + 1):
        prev = scales[i - 1]
        prev_off = (len(prev) - 1) // 2
        cur = np.zeros(len(prev) + 2 * window)
        cur_off = prev_off + window
        for j in range(-window, window + 1):
            for k in range(-prev_off, prev_off + 1):
                cur[j + k + cur_off] += j * prev[k + prev_off]
        scales.append(cur / normalizer)
    return scales


def _edge_padded(feats: np.ndarray, left: int, right: int) -> np.ndarray:
    """Rows repeated at the edges: padded[t + left] = feats[clamp(t)]."""
    return np.concatenate([np.repeat(feats[:1], left, axis=0), feats, np.repeat(feats[-1:], right, axis=0)])


def add_deltas(feats: np.ndarray, order: int = 2, window: int = 2) -> np.ndarray:
    """Kaldi's add-deltas: ``[x, Δx, ΔΔx, ...]``, frames beyond the edges repeat the edge frames."""
    f = np.asarray(feats, dtype=np.float32)
    t, d = f.shape
    out = np.empty((t, d * (order + 1)), dtype=np.float32)
    out[:, :d] = f
    if t == 0:
        return out
    scales = delta_scales(order, window)
    for i in range(1, order + 1):
        sc = scales[i]
        off = (len(sc) - 1) // 2
        padded = _edge_padded(f, off, off).astype(np.float64)
        acc = np.zeros((t, d))
        for j, s in enumerate(sc):
            if s != 0.0:
                acc += s * padded[j:j + t]
        out[:, i * d:(i + 1) * d] = acc
    return out


def splice_feats(feats: np.ndarray, left: int = 3, right: int = 3) -> np.ndarray:
    """Kaldi's splice-feats: frame t becomes ``[x[t-left] ... x[t+right]]``, edge frames repeated."""
    f = np.asarray(feats, dtype=np.float32)
    t, d = f.shape
    if t == 0:
        return np.empty((0, d * (left + right + 1)), dtype=np.float32)
    padded = _edge_padded(f, left, right)
    return np.concatenate([padded[j:j + t] for j in range(left + right + 1)], axis=1)


def apply_transform(feats: np.ndarray, mat: np.ndarray, *, what: str = "") -> np.ndarray:
    """Kaldi's transform-feats: ``mat`` is ``d × D`` (linear) or ``d × (D+1)`` (affine, last column offset)."""
    f = np.asarray(feats)
    m = np.asarray(mat, dtype=np.float64)
    dim = f.shape[1]
    if m.ndim != 2 or m.shape[1] not in (dim, dim + 1):
        raise ValueError(f"{what + ': ' if what else ''}transform matrix has bad dimension "
                         f"{m.shape[0]} by {m.shape[1] if m.ndim == 2 else '?'} versus feature dim {dim}")
    out = f.astype(np.float64) @ m[:, :dim].T
    if m.shape[1] == dim + 1:
        out += m[:, dim]
    return out.astype(np.float32)
