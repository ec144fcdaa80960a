"""numba kernels of the GMM code, in a module of their own so that ``import hybrid.gmm`` does not
import numba (gmm-est, gmm-info and gmm-sum-accs never run a kernel; numba's import and first
dispatch cost ~0.5 s of CPU per process). Imported on first use by :mod:`hybrid.gmm.model` and
:mod:`hybrid.gmm.accs`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def segment_logsumexp(ll: np.ndarray, gconsts: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    """out[t, p] = log Σ_{g in pdf p} exp(ll[t, g] + gconsts[g]), in float64."""
    t_max, n_pdf = out.shape
    buf = np.empty(ll.shape[1])
    for t in range(t_max):
        for g in range(ll.shape[1]):
            buf[g] = ll[t, g] + gconsts[g]
        for p in range(n_pdf):
            a, b = offsets[p], offsets[p + 1]
            m = -np.inf
            for g in range(a, b):
                if buf[g] > m:
                    m = buf[g]
            if m == -np.inf:
                out[t, p] = -np.inf
                continue
            s = 0.0
            for g in range(a, b):
                s += np.exp(buf[g] - m)
            out[t, p] = m + np.log(s)


@njit(cache=True)
def acc_viterbi(feats, pdfs, offsets, gconsts, miv, iv, occ, mean_acc, var_acc):
    """Accumulate stats for frames each assigned fully to one pdf; returns Σ log p(x_t | pdf_t)."""
    t_max, d = feats.shape
    tot = 0.0
    buf = np.empty(np.max(offsets[1:] - offsets[:-1]))
    for t in range(t_max):
        p = pdfs[t]
        a, b = offsets[p], offsets[p + 1]
        x = feats[t]
        m = -np.inf
        for g in range(a, b):
            s = gconsts[g]
            for k in range(d):
                s += x[k] * (miv[g, k] - 0.5 * iv[g, k] * x[k])
            buf[g - a] = s
            if s > m:
                m = s
        z = 0.0
        for g in range(a, b):
            z += np.exp(buf[g - a] - m)
        lse = m + np.log(z)
        tot += lse
        for g in range(a, b):
            post = np.exp(buf[g - a] - lse)
            occ[g] += post
            for k in range(d):
                mean_acc[g, k] += post * x[k]
                var_acc[g, k] += post * x[k] * x[k]
    return tot
