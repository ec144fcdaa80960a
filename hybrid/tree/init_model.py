"""Triphone model initialisation and alignment conversion.

- :func:`gmm_init_model` is Kaldi's ``gmm-init-model`` (InitAmGmm): one Gaussian per pdf of the
  new tree, from the pooled tree statistics of the events that map to it (variances floored at
  ``var_floor``); a pdf without statistics gets the average of all statistics (Kaldi warns and
  does the same). The transition model is built from the topology and the tree.
- :func:`convert_alignment` is Kaldi's ConvertAlignment (``convert-ali``): the same phones,
  HMM states and transitions, renumbered into the new model's transition-ids with the new tree's
  pdfs for each phone's context window.

These functions reuse ``hybrid.gmm`` (DiagGmm/AmDiagGmm); they could move there later.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from hybrid.tree.build import map_events
from hybrid.tree.context_dependency import ContextDependency
from hybrid.tree.stats import TreeStats

log = logging.getLogger("hybrid.tree")


def gmm_init_model(ctx: ContextDependency, stats: TreeStats, topo, var_floor: float = 0.01):
    """(TransitionModel, AmDiagGmm, occs) as Kaldi's gmm-init-model with one Gaussian per pdf."""
    from hybrid.gmm import AmDiagGmm, DiagGmm
    from hybrid.hmm import TransitionModel

    if (stats.context_width, stats.central_position) != (ctx.context_width, ctx.central_position):
        raise ValueError(f"tree has N={ctx.context_width} P={ctx.central_position}, stats "
                         f"N={stats.context_width} P={stats.central_position}")
    tm = TransitionModel.from_context_dependency(topo, ctx)
    num_pdfs = ctx.num_pdfs
    pdf = map_events(ctx.to_pdf, stats.events)
    if (pdf < 0).any():
        bad = stats.events[np.argmax(pdf < 0)]
        raise ValueError(f"tree gives no pdf for event {bad.tolist()}")
    count = np.bincount(pdf, weights=stats.count, minlength=num_pdfs)
    x = np.zeros((num_pdfs, stats.dim))
    x2 = np.zeros((num_pdfs, stats.dim))
    np.add.at(x, pdf, stats.x)
    np.add.at(x2, pdf, stats.x2)
    tot_c, tot_x, tot_x2 = count.sum(), x.sum(0), x2.sum(0)
    if tot_c <= 0:
        raise ValueError("No stats available in gmm-init-model.")
    pdfs = []
    occs = np.zeros(num_pdfs)
    for j in range(num_pdfs):
        c, sx, sx2 = count[j], x[j], x2[j]
        if c <= 0:
            phones = sorted({t.phone for t in tm.tuples if t.forward_pdf == j or t.self_loop_pdf == j})
            log.warning("Tree has pdf-id %d with no stats; corresponding phone list: %s", j,
                        " ".join(map(str, phones)))
            c, sx, sx2 = tot_c, tot_x, tot_x2
        mean = sx / c
        var = np.maximum(sx2 / c - mean * mean, var_floor)
        g = DiagGmm.from_means_vars(np.ones(1), mean[None], var[None])
        # Kaldi stores float32 parameters; round so a fresh model equals a re-read one
        pdfs.append(DiagGmm(g.weights, g.means_invvars.astype(np.float32), g.inv_vars.astype(np.float32)))
        occs[j] = c
    return tm, AmDiagGmm(pdfs), occs


def phone_windows(phones: Sequence[int], N: int, P: int) -> np.ndarray:
    """(len(phones), N) context windows of a phone sequence, 0 outside the utterance."""
    phones = np.asarray(phones, dtype=np.int32)
    n = len(phones)
    padded = np.concatenate([np.zeros(P, np.int32), phones, np.zeros(N - 1 - P, np.int32)])
    return np.stack([padded[j:j + n] for j in range(N)], axis=1) if n else np.zeros((0, N), np.int32)


def convert_alignment(old_tm, new_tm, new_ctx: ContextDependency, ali: Sequence[int]) -> np.ndarray | None:
    """Kaldi's ConvertAlignment; None when the old alignment cannot be split into phones or a
    phone/HMM state/pdf combination is missing from the new model."""
    from hybrid.hmm.alignment import split_to_phones

    ali = np.asarray(ali, dtype=np.int64)
    if len(ali) and (ali.min() < 1 or ali.max() > old_tm.num_transition_ids):
        return None
    pieces, ok = split_to_phones(old_tm, ali)
    if not ok:
        return None
    phones = [int(old_tm.tid2phone[p[0]]) for p in pieces]
    windows = phone_windows(phones, new_ctx.context_width, new_ctx.central_position)
    out = np.empty(len(ali), dtype=np.int32)
    t = 0
    cache: dict[tuple, int] = {}
    for piece, win in zip(pieces, windows):
        wkey = tuple(int(v) for v in win)
        for tid in piece:
            ts = int(old_tm.tid2tstate[tid])
            trans_idx = tid - int(old_tm.state2id[ts])
            phone = int(old_tm.tid2phone[tid])
            hs = int(old_tm.tid2hmm_state[tid])
            key = (wkey, hs, trans_idx)
            new = cache.get(key)
            if new is None:
                st = new_tm.topo.entry(phone)[hs]
                fwd = new_ctx.compute(wkey, st.forward_pdf_class)
                slf = fwd if st.self_loop_pdf_class == st.forward_pdf_class else new_ctx.compute(
                    wkey, st.self_loop_pdf_class)
                if fwd < 0 or slf < 0:
                    return None
                try:
                    new_ts = new_tm.tstate_of(phone, hs, fwd, slf)
                except KeyError:
                    return None
                new = new_tm.pair_to_tid(new_ts, trans_idx)
                cache[key] = new
            out[t] = new
            t += 1
    return out
