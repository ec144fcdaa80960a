"""SAT helpers: two-feature statistics for the speaker-independent alignment model.

Kaldi's gmm-acc-stats-twofeats: Gaussian posteriors come from the (speaker-adapted) model on the
adapted features, the statistics are gathered from the speaker-independent features; a gmm-est
on them gives ``final.alimdl``, Gaussian-for-Gaussian the same as ``final.mdl``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hybrid.transform.common import gauss_posteriors


@njit(cache=True)
def _scatter_stats(gidx, post, x, occ, mean_acc, var_acc):
    t_max, gmax = gidx.shape
    d = x.shape[1]
    for t in range(t_max):
        for j in range(gmax):
            g = gidx[t, j]
            if g < 0:
                break
            p = post[t, j]
            occ[g] += p
            for k in range(d):
                mean_acc[g, k] += p * x[t, k]
                var_acc[g, k] += p * x[t, k] * x[t, k]


def accumulate_twofeats(accs, tm, am, feats1: np.ndarray, feats2: np.ndarray, ali: np.ndarray) -> float:
    """Add one utterance to a :class:`hybrid.gmm.GmmAccs`: posteriors from ``am`` on ``feats1``,
    statistics of ``feats2`` (same number of frames; may differ in dimension from the model only if
    the accumulator was made for that dimension). Returns Σ log p(feats1_t | pdf_t)."""
    ali = np.asarray(ali, dtype=np.int64)
    f1 = np.asarray(feats1, dtype=np.float64)
    f2 = np.ascontiguousarray(feats2, dtype=np.float64)
    if not (len(ali) == len(f1) == len(f2)):
        raise ValueError(f"alignment has {len(ali)} frames, features {len(f1)} and {len(f2)}")
    if len(ali) and (ali.min() < 1 or ali.max() > tm.num_transition_ids):
        raise ValueError("alignment contains transition-ids outside the model")
    if f2.shape[1] != accs.mean_acc.shape[1]:
        raise ValueError(f"second features have dimension {f2.shape[1]}, accumulator {accs.mean_acc.shape[1]}")
    pdfs = tm.tid2pdf[ali].astype(np.int64)
    gidx, post, loglike = gauss_posteriors(am, f1, pdfs)
    _scatter_stats(gidx, post, f2, accs.occ, accs.mean_acc, accs.var_acc)
    np.add.at(accs.transition_accs, ali, 1.0)
    like = float(loglike.sum())
    accs.tot_like += like
    accs.tot_t += len(ali)
    return like
