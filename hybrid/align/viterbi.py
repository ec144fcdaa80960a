"""Viterbi forced alignment over a :class:`~hybrid.align.graph.TrainingGraph` (numba).

Kaldi's gmm-align-compiled / AlignUtteranceWrapper: FasterDecoder-style beam pruning (cutoff =
best + beam, but never fewer than ``min_active`` = 20 tokens kept), success only when a final node
is active after the last frame; on failure the utterance is retried at ``retry_beam``. Costs:
arcs' lexicon cost + transition cost (from the current model, transition-scale 1.0,
self-loop-scale 0.1) − acoustic_scale · log p(x_t | pdf(tid)). The reported log-likelihood is
−(total cost) / acoustic_scale, as Kaldi's.

:func:`viterbi_align` takes a precomputed (T, num_pdfs) log-likelihood matrix;
:func:`viterbi_align_gmm` takes the GMM and the features and computes a pdf's log-likelihood for
a frame only when the search reaches it (same values, a fraction of the cost: the exps of the
log-sum-exp over all Gaussians were most of the alignment time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybrid.align.graph import TrainingGraph, careful_graph


@dataclass
class AlignResult:
    alignment: np.ndarray | None
    log_like: float  # −cost / acoustic_scale (Kaldi's "like"), nan on failure
    retried: bool


def _check_beams(beam: float, retry_beam: float) -> None:
    if retry_beam != 0 and retry_beam <= beam or beam <= 0:
        raise ValueError(f"Beams do not make sense: beam {beam}, retry-beam {retry_beam}")


def _search(g: TrainingGraph, tid2pdf: np.ndarray, tcost: np.ndarray, ll, gconsts, offsets, cache, lazy: bool,
            acoustic_scale: float, beam: float, retry_beam: float, careful: bool, min_active: int) -> AlignResult:
    from hybrid.align.kernels import viterbi

    if careful:
        g = careful_graph(g)
    args = (g.self_tid, g.final.astype(np.float64), g.arc_start, g.arc_dst, g.arc_tid,
            g.arc_cost.astype(np.float64), np.asarray(tcost, dtype=np.float64), np.asarray(tid2pdf, dtype=np.int32),
            ll, gconsts, offsets, cache, lazy, float(acoustic_scale))
    ali, cost, ok = viterbi(*args, float(beam), int(min_active))
    retried = False
    if not ok and retry_beam:
        retried = True
        ali, cost, ok = viterbi(*args, float(retry_beam), int(min_active))
    if not ok:
        return AlignResult(None, float("nan"), retried)
    return AlignResult(ali, -cost / acoustic_scale, retried)


def viterbi_align(g: TrainingGraph, loglik: np.ndarray, tid2pdf: np.ndarray, tcost: np.ndarray, *,
                  acoustic_scale: float = 0.1, beam: float = 10.0, retry_beam: float = 40.0,
                  careful: bool = False, min_active: int = 20) -> AlignResult:
    """Align one utterance (``loglik``: (T, num_pdfs) pdf log-likelihoods)."""
    _check_beams(beam, retry_beam)
    cache = np.ascontiguousarray(loglik, dtype=np.float64)
    dummy = np.zeros((1, 1), dtype=np.float32)
    return _search(g, tid2pdf, tcost, dummy, np.zeros(1), np.zeros(2, dtype=np.int64), cache, False,
                   acoustic_scale, beam, retry_beam, careful, min_active)


def viterbi_align_gmm(g: TrainingGraph, am, feats: np.ndarray, tid2pdf: np.ndarray, tcost: np.ndarray, *,
                      acoustic_scale: float = 0.1, beam: float = 10.0, retry_beam: float = 40.0,
                      careful: bool = False, min_active: int = 20) -> AlignResult:
    """Align one utterance with a GMM (:class:`hybrid.gmm.AmDiagGmm`) on its features.

    Identical to ``viterbi_align(g, am.log_likelihoods(feats), ...)``: the Gaussians' data terms
    are one BLAS call over the whole utterance as there, and each (frame, pdf) log-sum-exp that
    the search needs is computed once, exactly as there.
    """
    _check_beams(beam, retry_beam)
    ll, gconsts, offsets = am.gaussian_terms32(feats)
    cache = np.full((ll.shape[0], am.num_pdfs), np.nan)
    return _search(g, tid2pdf, tcost, ll, gconsts, offsets, cache, True, acoustic_scale, beam, retry_beam,
                   careful, min_active)
