"""Cepstral mean (and variance) normalisation with Kaldi's statistics format.

Stats are a ``2 × (dim+1)`` float64 matrix: row 0 holds the sums of the features and the frame
count in the last column, row 1 the sums of squares (last column 0), as compute-cmvn-stats writes.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping

import numpy as np

log = logging.getLogger(__name__)


def acc_cmvn_stats(feats: np.ndarray, stats: np.ndarray | None = None, weight: float = 1.0) -> np.ndarray:
    """Add a ``(frames, dim)`` matrix to CMVN stats (new ``2 × (dim+1)`` stats when ``stats`` is None)."""
    f = np.asarray(feats, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"expected a feature matrix, got shape {f.shape}")
    if stats is None:
        stats = np.zeros((2, f.shape[1] + 1), dtype=np.float64)
    elif stats.shape != (2, f.shape[1] + 1):
        raise ValueError(f"feature dim {f.shape[1]} does not match CMVN stats of shape {stats.shape}")
    stats[0, :-1] += weight * f.sum(axis=0)
    stats[1, :-1] += weight * np.einsum("td,td->d", f, f)
    stats[0, -1] += weight * f.shape[0]
    return stats


def compute_cmvn_stats(feats_iter: Iterable[tuple[str, np.ndarray]] | Mapping[str, np.ndarray],
                       spk2utt: Mapping[str, Iterable[str]] | None = None) -> dict[str, np.ndarray]:
    """Per-speaker CMVN stats (per utterance when ``spk2utt`` is None), keyed in ``spk2utt`` order.

    Features of utterances no speaker lists are ignored; utterances listed without features and
    speakers left without any features are logged (as compute-cmvn-stats warns) and skipped.
    """
    items = feats_iter.items() if isinstance(feats_iter, Mapping) else feats_iter
    if spk2utt is None:
        return {utt: acc_cmvn_stats(f) for utt, f in items}
    utt2spk = {u: s for s, utts in spk2utt.items() for u in utts}
    stats: dict[str, np.ndarray] = {}
    seen: set[str] = set()
    for utt, f in items:
        spk = utt2spk.get(utt)
        if spk is None:
            continue
        seen.add(utt)
        stats[spk] = acc_cmvn_stats(f, stats.get(spk))
    missing = [u for u in utt2spk if u not in seen]
    if missing:
        log.warning("no features for %d utterance(s) listed in spk2utt, e.g. %s", len(missing), missing[0])
    out = {}
    for spk in spk2utt:
        if spk in stats:
            out[spk] = stats[spk]
        else:
            log.warning("No stats accumulated for speaker %s", spk)
    return out


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False, *, what: str = "") -> np.ndarray:
    """Kaldi's apply-cmvn: subtract the mean (and scale to unit variance when ``norm_vars``)."""
    stats = np.asarray(stats, dtype=np.float64)
    f = np.asarray(feats)
    dim = f.shape[1]
    if stats.shape[0] != 2 or stats.shape[1] != dim + 1:
        raise ValueError(f"{what + ': ' if what else ''}CMVN stats of shape {stats.shape} do not fit "
                         f"features of dim {dim}")
    count = stats[0, dim]
    if count < 1.0:
        raise ValueError(f"{what + ': ' if what else ''}Insufficient stats for cepstral mean and variance "
                         f"normalization: count = {count}")
    mean = stats[0, :dim] / count
    if not norm_vars:
        return (f - mean.astype(np.float32)).astype(np.float32)
    var = stats[1, :dim] / count - mean * mean
    if (var < 1e-20).any():
        log.warning("%sflooring CMVN variance to 1e-20", what + ": " if what else "")
        var = np.maximum(var, 1e-20)
    scale = 1.0 / np.sqrt(var)
    return (f * scale.astype(np.float32) + (-mean * scale).astype(np.float32)).astype(np.float32)
