"""M-step (Kaldi's MleDiagGmmUpdate / MleAmDiagGmmUpdate), mixing up (SplitByCount), gmm-init-mono."""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from hybrid.gmm.accs import GmmAccs
from hybrid.gmm.model import AmDiagGmm, DiagGmm

log = logging.getLogger("hybrid.gmm")


@dataclass
class MleDiagGmmOptions:
    """Kaldi's MleDiagGmmOptions (same option names and defaults)."""

    min_gaussian_weight: float = 1e-5
    min_gaussian_occupancy: float = 10.0
    min_variance: float = 0.001
    remove_low_count_gaussians: bool = True


@dataclass
class UpdateStats:
    objf_change: float = 0.0
    count: float = 0.0
    elements_floored: int = 0
    gaussians_floored: int = 0
    gaussians_removed: int = 0
    messages: list[str] = field(default_factory=list)


def _ml_objective(gmm: DiagGmm, occ: np.ndarray, mean_acc: np.ndarray, var_acc: np.ndarray) -> float:
    """Kaldi's MlObjective: Σ occ·gconst + tr(mean_acc·miv ᵀ) − ½ tr(var_acc·ivᵀ)."""
    with np.errstate(invalid="ignore"):
        gterm = np.where(occ != 0, occ * gmm.gconsts, 0.0)
    return float(gterm.sum() + np.sum(mean_acc * gmm.means_invvars) - 0.5 * np.sum(var_acc * gmm.inv_vars))


def mle_diag_gmm_update(opts: MleDiagGmmOptions, occ: np.ndarray, mean_acc: np.ndarray, var_acc: np.ndarray,
                        gmm: DiagGmm, stats: UpdateStats, pdf: int = -1) -> None:
    """Kaldi's MleDiagGmmUpdate (flags mvw) of one GMM in place; adds to ``stats``."""
    n = gmm.num_gauss
    occ_sum = float(occ.sum())
    gmm.compute_gconsts()
    obj_old = _ml_objective(gmm, occ, mean_acc, var_acc)
    weights = gmm.weights.copy()
    means = gmm.means.copy()
    variances = gmm.vars.copy()
    to_remove: list[int] = []
    for i in range(n):
        o = float(occ[i])
        prob = o / occ_sum if occ_sum > 0.0 else 1.0 / n
        if o > opts.min_gaussian_occupancy and prob > opts.min_gaussian_weight:
            weights[i] = prob
            mean = mean_acc[i] / o
            var = var_acc[i] / o - mean * mean
            floored = int(np.sum(var < opts.min_variance))
            if floored:
                var = np.maximum(var, opts.min_variance)
                stats.elements_floored += floored
                stats.gaussians_floored += 1
            means[i] = mean
            variances[i] = var
        elif opts.remove_low_count_gaussians and len(to_remove) < n - 1:
            stats.messages.append(f"Too little data - removing Gaussian (weight {prob:.6f}, occupation count "
                                  f"{o:.6f}, vector size {gmm.dim}) [pdf {pdf}]")
            to_remove.append(i)
        else:
            stats.messages.append(f"Gaussian has too little data but not removing it because it is the last "
                                  f"Gaussian: i = {i}, occ = {o}, weight = {prob} [pdf {pdf}]")
            weights[i] = max(prob, opts.min_gaussian_weight)
    gmm.weights = weights
    gmm.inv_vars = 1.0 / variances
    gmm.means_invvars = means * gmm.inv_vars
    gmm.compute_gconsts()
    obj_new = _ml_objective(gmm, occ, mean_acc, var_acc)
    stats.objf_change += obj_new - obj_old
    stats.count += occ_sum
    if to_remove:
        gmm.remove_components(to_remove, renorm=True)
        stats.gaussians_removed += len(to_remove)


def mle_am_diag_gmm_update(opts: MleDiagGmmOptions, accs: GmmAccs, am: AmDiagGmm) -> UpdateStats:
    """Kaldi's MleAmDiagGmmUpdate: every pdf in place; logs the floored/removed summary."""
    if accs.num_pdfs != am.num_pdfs:
        raise ValueError(f"accumulator has {accs.num_pdfs} pdfs, the model {am.num_pdfs}")
    stats = UpdateStats()
    o = accs.offsets
    for p, gmm in enumerate(am.pdfs):
        a, b = int(o[p]), int(o[p + 1])
        if b - a != gmm.num_gauss:
            raise ValueError(f"pdf {p}: accumulator has {b - a} Gaussians, the model {gmm.num_gauss}")
        mle_diag_gmm_update(opts, accs.occ[a:b], accs.mean_acc[a:b], accs.var_acc[a:b], gmm, stats, p)
    am.invalidate()
    for m in stats.messages:
        log.warning(m)
    log.info("Floored %d variance elements in %d Gaussians, out of %d", stats.elements_floored,
             stats.gaussians_floored, am.num_gauss)
    log.info("Removed %d Gaussians due to counts < --min-gaussian-occupancy=%g and --remove-low-count-gaussians=%s",
             stats.gaussians_removed, opts.min_gaussian_occupancy,
             "true" if opts.remove_low_count_gaussians else "false")
    return stats


def get_split_targets(state_occs: np.ndarray, target_components: int, power: float, min_count: float) -> list[int]:
    """Kaldi's GetSplitTargets: Gaussians per pdf ∝ occ^power (priority queue on occ^power / n)."""
    occs = np.asarray(state_occs, dtype=np.float64)
    num_pdfs = len(occs)
    # max-heap on occ/(n + 1e-10); ties broken by pdf index (smaller first)
    heap = [(-(float(occs[p]) ** power) / (1 + 1e-10), p, 1, float(occs[p]) ** power) for p in range(num_pdfs)]
    heapq.heapify(heap)
    num_gauss = num_pdfs
    while num_gauss < target_components and heap:
        key, p, n, occ = heap[0]
        if occ == 0:
            log.warning("Could not split up to %d due to min-count = %g (or no counts at all)",
                        target_components, min_count)
            break
        heapq.heappop(heap)
        if (n + 1) * min_count >= occs[p]:
            occ = 0.0  # min-count active: never split this pdf again
        else:
            n += 1
            num_gauss += 1
        heapq.heappush(heap, (-occ / (n + 1e-10), p, n, occ))
    targets = [1] * num_pdfs
    for _, p, n, _ in heap:
        targets[p] = n
    return targets


def split_by_count(am: AmDiagGmm, state_occs: np.ndarray, target_components: int, perturb_factor: float,
                   power: float, min_count: float, rng: np.random.Generator) -> None:
    """Kaldi's AmDiagGmm::SplitByCount with a seeded random generator."""
    at_start = am.num_gauss
    targets = get_split_targets(state_occs, target_components, power, min_count)
    for p, gmm in enumerate(am.pdfs):
        if gmm.num_gauss < targets[p]:
            gmm.split(targets[p], perturb_factor, rng)
    am.invalidate()
    log.info("Split %d states with target = %d, power = %g, perturb_factor = %g and min_count = %g, "
             "split #Gauss from %d to %d", am.num_pdfs, target_components, power, perturb_factor, min_count,
             at_start, am.num_gauss)


def global_mean_var(feats: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """Global mean and variance of all frames (gmm-init-mono --train-feats)."""
    count = 0
    s1 = s2 = None
    for x in feats:
        x = np.asarray(x, dtype=np.float64)
        if s1 is None:
            s1, s2 = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        s1 += x.sum(0)
        s2 += (x * x).sum(0)
        count += len(x)
    if count == 0:
        raise ValueError("no features were seen")
    mean = s1 / count
    var = s2 / count - mean * mean
    if var.min() <= 0.0:
        raise ValueError(f"bad variance (min {var.min()})")
    return mean, var, count


def init_mono(topo, dim: int, phone_sets: list[list[int]] | None = None,
              mean: np.ndarray | None = None, var: np.ndarray | None = None):
    """Kaldi's gmm-init-mono: (ContextDependency, TransitionModel, AmDiagGmm).

    The tree shares pdfs between the phones of each set of ``phone_sets`` (``phones/sets.int``);
    every pdf is one Gaussian with the global mean/variance (zero mean, unit variance without).
    """
    from hybrid.hmm import TransitionModel
    from hybrid.tree import monophone_context_dependency, monophone_context_dependency_shared

    nclass = {p: topo.num_pdf_classes(p) for p in topo.phones}
    if phone_sets:
        ctx = monophone_context_dependency_shared(phone_sets, nclass)
    else:
        ctx = monophone_context_dependency(topo.phones, nclass)
    tm = TransitionModel.from_context_dependency(topo, ctx)
    mean = np.zeros(dim) if mean is None else np.asarray(mean, dtype=np.float64)
    var = np.ones(dim) if var is None else np.asarray(var, dtype=np.float64)
    if len(mean) != dim:
        raise ValueError(f"features have dimension {len(mean)}, expected {dim}")
    proto = DiagGmm.from_means_vars(np.ones(1), mean[None], var[None])
    # Kaldi stores float32 parameters; round so a fresh model equals a re-read one
    proto = DiagGmm(proto.weights, proto.means_invvars.astype(np.float32), proto.inv_vars.astype(np.float32))
    am = AmDiagGmm([proto.copy() for _ in range(ctx.num_pdfs)])
    return ctx, tm, am


@dataclass
class EstOptions:
    """gmm-est options (Kaldi's names; ``seed`` is ours: Kaldi's splitting is unseeded)."""

    mix_up: int = 0
    power: float = 0.2
    min_count: float = 20.0
    perturb_factor: float = 0.01
    transition_floor: float = 0.01
    transition_min_count: float = 5.0
    seed: int = 777
    update_transitions: bool = True
    gmm: MleDiagGmmOptions = field(default_factory=MleDiagGmmOptions)


def gmm_est(tm, am: AmDiagGmm, accs: GmmAccs, opts: EstOptions) -> np.ndarray:
    """Kaldi's gmm-est: transition update, GMM update, then mixing up. Returns the pdf occupancies."""
    if opts.update_transitions:
        impr, count = tm.mle_update(accs.transition_accs, floor=opts.transition_floor,
                                    mincount=opts.transition_min_count)
        log.info("Transition model update: Overall %g log-like improvement per frame over %g frames.",
                 impr / count if count else 0.0, count)
    pdf_occs = accs.pdf_occs()
    st = mle_am_diag_gmm_update(opts.gmm, accs, am)
    log.info("GMM update: Overall %g objective function improvement per frame over %g frames",
             st.objf_change / st.count if st.count else 0.0, st.count)
    log.info("GMM update: Overall avg like per frame = %g over %g frames.",
             accs.tot_like / accs.tot_t if accs.tot_t else 0.0, accs.tot_t)
    if opts.mix_up:
        split_by_count(am, pdf_occs, opts.mix_up, opts.perturb_factor, opts.power, opts.min_count,
                       np.random.default_rng(opts.seed))
    return pdf_occs
