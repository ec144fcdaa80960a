"""Diagonal-covariance GMMs (Kaldi's ``DiagGmm`` / ``AmDiagGmm``) and ``.mdl`` files.

A :class:`DiagGmm` stores, as Kaldi does, ``weights`` (G,), ``inv_vars`` (G, D) and
``means_invvars`` (G, D) (float64 here), with ``gconsts`` = log w − ½(D log 2π + Σ log σ² + Σ μ²/σ²).
An :class:`AmDiagGmm` is one DiagGmm per pdf; for scoring it packs all Gaussians into one matrix so
that :meth:`AmDiagGmm.log_likelihoods` is one BLAS call per utterance followed by a log-sum-exp per
pdf.

``N.mdl`` files are Kaldi's text format: ``TransitionModel.to_text()`` followed by the AmDiagGmm
(``<DIMENSION> d <NUMPDFS> n`` and one ``<DiagGMM> ... </DiagGMM>`` per pdf), readable by Kaldi.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from hybrid.hmm import TransitionModel
from hybrid.io.atomic import atomic_write
from hybrid.io.kaldi_text import KaldiTextReader, format_matrix, format_vector

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass
class DiagGmm:
    """One mixture of diagonal Gaussians in Kaldi's natural-parameter form."""

    weights: np.ndarray  # (G,)
    means_invvars: np.ndarray  # (G, D)
    inv_vars: np.ndarray  # (G, D)
    gconsts: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64).copy()
        self.means_invvars = np.atleast_2d(np.asarray(self.means_invvars, dtype=np.float64)).copy()
        self.inv_vars = np.atleast_2d(np.asarray(self.inv_vars, dtype=np.float64)).copy()
        if self.means_invvars.shape != self.inv_vars.shape or len(self.weights) != len(self.inv_vars):
            raise ValueError("DiagGmm: inconsistent shapes of weights/means/inv_vars")
        self.compute_gconsts()

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_means_vars(cls, weights: np.ndarray, means: np.ndarray, variances: np.ndarray) -> "DiagGmm":
        iv = 1.0 / np.atleast_2d(np.asarray(variances, dtype=np.float64))
        return cls(weights, np.atleast_2d(means) * iv, iv)

    @property
    def num_gauss(self) -> int:
        return len(self.weights)

    @property
    def dim(self) -> int:
        return self.inv_vars.shape[1]

    @property
    def means(self) -> np.ndarray:
        return self.means_invvars / self.inv_vars

    @property
    def vars(self) -> np.ndarray:
        return 1.0 / self.inv_vars

    def compute_gconsts(self) -> int:
        """Kaldi's ComputeGconsts; returns the number of infinite gconsts (made −inf)."""
        with np.errstate(divide="ignore"):
            gc = (np.log(self.weights) - 0.5 * LOG_2PI * self.dim
                  + 0.5 * np.sum(np.log(self.inv_vars), axis=1)
                  - 0.5 * np.sum(self.means_invvars ** 2 / self.inv_vars, axis=1))
        if np.any(np.isnan(gc)):
            raise FloatingPointError("not a number in gconst computation")
        bad = np.isinf(gc)
        gc[bad] = -np.abs(gc[bad])
        self.gconsts = gc
        return int(bad.sum())

    def copy(self) -> "DiagGmm":
        return DiagGmm(self.weights, self.means_invvars, self.inv_vars)

    # ---------------------------------------------------------------- scoring
    def component_log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """(T, G) log w_g + log N(x_t; μ_g, σ²_g) (or (G,) for one frame)."""
        x = np.asarray(feats, dtype=np.float64)
        return (self.gconsts + x @ self.means_invvars.T - 0.5 * (x * x) @ self.inv_vars.T)

    def log_likelihood(self, feats: np.ndarray) -> np.ndarray:
        """log p(x) per frame (a scalar for one frame)."""
        ll = self.component_log_likelihoods(feats)
        m = np.max(ll, axis=-1, keepdims=True)
        return (m + np.log(np.sum(np.exp(ll - m), axis=-1, keepdims=True)))[..., 0]

    def component_posteriors(self, feats: np.ndarray) -> np.ndarray:
        ll = self.component_log_likelihoods(feats)
        ll = ll - np.max(ll, axis=-1, keepdims=True)
        p = np.exp(ll)
        return p / p.sum(axis=-1, keepdims=True)

    # ---------------------------------------------------------------- edits
    def remove_components(self, idx: list[int], renorm: bool = True) -> None:
        keep = np.setdiff1d(np.arange(self.num_gauss), np.asarray(idx, dtype=np.int64))
        self.weights = self.weights[keep]
        self.means_invvars = self.means_invvars[keep]
        self.inv_vars = self.inv_vars[keep]
        if renorm:
            self.weights = self.weights / self.weights.sum()
        self.compute_gconsts()

    def split(self, target: int, perturb_factor: float, rng: np.random.Generator) -> list[int]:
        """Kaldi's DiagGmm::Split: split the heaviest component until ``target`` components.

        The new mean is perturbed by +perturb_factor·σ·n and the old one by −perturb_factor·σ·n,
        n ~ N(0, I) from the seeded ``rng``. Returns the indices that were split (history).
        """
        cur = self.num_gauss
        if target < cur or cur == 0:
            raise ValueError(f"cannot split from {cur} to {target} components")
        if target == cur:
            return []
        d = self.dim
        w = np.zeros(target)
        w[:cur] = self.weights
        miv = np.zeros((target, d))
        miv[:cur] = self.means_invvars
        iv = np.zeros((target, d))
        iv[:cur] = self.inv_vars
        history = []
        while cur < target:
            j = int(np.argmax(w[:cur]))  # first maximum, as Kaldi's strict '>' scan
            history.append(j)
            w[j] /= 2
            w[cur] = w[j]
            r = rng.standard_normal(d) * np.sqrt(iv[j])
            iv[cur] = iv[j]
            miv[cur] = miv[j] + perturb_factor * r
            miv[j] = miv[j] - perturb_factor * r
            cur += 1
        self.weights, self.means_invvars, self.inv_vars = w, miv, iv
        self.compute_gconsts()
        return history

    # ---------------------------------------------------------------- text I/O
    def to_text(self) -> str:
        return ("<DiagGMM> \n<GCONSTS>  " + format_vector(self.gconsts.astype(np.float32)) + "\n"
                "<WEIGHTS>  " + format_vector(self.weights.astype(np.float32)) + "\n"
                "<MEANS_INVVARS>  " + format_matrix(self.means_invvars.astype(np.float32)) + "\n"
                "<INV_VARS>  " + format_matrix(self.inv_vars.astype(np.float32)) + "\n"
                "</DiagGMM> \n")

    @classmethod
    def parse_reader(cls, r: KaldiTextReader) -> "DiagGmm":
        r.expect("<DiagGMM>")
        if r.maybe("<GCONSTS>"):
            r.vector()  # recomputed
        r.expect("<WEIGHTS>")
        w = r.vector()
        r.expect("<MEANS_INVVARS>")
        miv = r.matrix()
        r.expect("<INV_VARS>")
        iv = r.matrix()
        r.expect("</DiagGMM>")
        return cls(w, miv, iv)


class AmDiagGmm:
    """The acoustic model: one :class:`DiagGmm` per pdf."""

    def __init__(self, pdfs: list[DiagGmm] | None = None) -> None:
        self.pdfs: list[DiagGmm] = list(pdfs or [])
        self._packed = None

    @property
    def num_pdfs(self) -> int:
        return len(self.pdfs)

    @property
    def dim(self) -> int:
        return self.pdfs[0].dim if self.pdfs else 0

    @property
    def num_gauss(self) -> int:
        return sum(g.num_gauss for g in self.pdfs)

    def invalidate(self) -> None:
        """Call after editing a pdf in place (the packed scoring matrices are rebuilt lazily)."""
        self._packed = None

    def copy(self) -> "AmDiagGmm":
        return AmDiagGmm([g.copy() for g in self.pdfs])

    def packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(offsets (P+1,), gconsts (G,), means_invvars (G, D), inv_vars (G, D)) over all pdfs."""
        if self._packed is None:
            counts = np.array([g.num_gauss for g in self.pdfs], dtype=np.int64)
            offsets = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            gc = np.concatenate([g.gconsts for g in self.pdfs])
            miv = np.concatenate([g.means_invvars for g in self.pdfs])
            iv = np.concatenate([g.inv_vars for g in self.pdfs])
            # one BLAS call: [x, x²] @ [miv; -½ iv]ᵀ
            proj = np.ascontiguousarray(np.concatenate([miv, -0.5 * iv], axis=1).T)
            self._packed = (offsets, gc, miv, iv, proj, proj.astype(np.float32))
        return self._packed[:4]

    def gaussian_log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """(T, G) per-Gaussian log w + log N for every Gaussian of every pdf (float64)."""
        self.packed()
        _, gc, _, _, proj, _ = self._packed
        x = np.asarray(feats, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"features have shape {x.shape}, the model has dimension {self.dim}")
        return np.concatenate([x, x * x], axis=1) @ proj + gc

    def gaussian_terms32(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The float32 data terms of all Gaussians: ``(ll, gconsts, offsets)``.

        ``ll`` (T, G) float32 = [x, x²] @ [μ/σ²; −½/σ²]ᵀ (one BLAS call, as Kaldi computes in
        float); the log-likelihood of pdf p is the float64 log-sum-exp over
        ``ll[t, g] + gconsts[g]`` for g in ``offsets[p]:offsets[p+1]``. (The GEMM is always over all
        Gaussians and all frames of the utterance: BLAS results differ in the last bit when the
        matrix shapes change, so a subset would not reproduce :meth:`log_likelihoods` exactly.)
        """
        self.packed()
        offsets, gc, _, _, _, proj32 = self._packed
        x = np.asarray(feats, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"features have shape {x.shape}, the model has dimension {self.dim}")
        return np.concatenate([x, x * x], axis=1) @ proj32, gc, offsets

    def log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """(T, num_pdfs) float32 log-likelihood of every pdf for every frame.

        The data term is one float32 BLAS call (:meth:`gaussian_terms32`); gconsts are added and
        the log-sum-exp per pdf is taken in float64. Forced alignment computes only the entries its
        search visits, from the same terms (:func:`hybrid.align.viterbi_align_gmm`).
        """
        from hybrid.gmm.kernels import segment_logsumexp

        ll, gc, offsets = self.gaussian_terms32(feats)
        out = np.empty((ll.shape[0], self.num_pdfs), dtype=np.float64)
        segment_logsumexp(ll, gc, offsets, out)
        return out.astype(np.float32)

    def posteriors(self, feats: np.ndarray, pdf: int) -> np.ndarray:
        """(T, G_pdf) component posteriors of one pdf."""
        return self.pdfs[pdf].component_posteriors(feats)

    # ---------------------------------------------------------------- text I/O
    def to_text(self) -> str:
        parts = [f"<DIMENSION> {self.dim} <NUMPDFS> {self.num_pdfs} "]
        parts += [g.to_text() for g in self.pdfs]
        return "".join(parts)

    @classmethod
    def parse_reader(cls, r: KaldiTextReader) -> "AmDiagGmm":
        r.expect("<DIMENSION>")
        dim = r.int()
        r.expect("<NUMPDFS>")
        n = r.int()
        pdfs = [DiagGmm.parse_reader(r) for _ in range(n)]
        for i, g in enumerate(pdfs):
            if g.dim != dim:
                raise r.error(f"pdf {i} has dimension {g.dim}, expected {dim}")
        return cls(pdfs)


def read_model(path: str | os.PathLike) -> tuple[TransitionModel, AmDiagGmm]:
    """Read a text ``.mdl`` (TransitionModel + AmDiagGmm)."""
    r = KaldiTextReader.from_file(path)
    tm = TransitionModel.parse_reader(r)
    am = AmDiagGmm.parse_reader(r)
    if am.num_pdfs != tm.num_pdfs:
        raise ValueError(f"{path}: transition model has {tm.num_pdfs} pdfs, the GMM model {am.num_pdfs}")
    return tm, am


def check_model_finite(tm: TransitionModel, am: AmDiagGmm) -> None:
    """Raise ``ValueError`` naming the first bad entries if the model holds NaN or ±inf as it would
    be written (float32: a finite float64 beyond ~3.4e38 counts as inf).

    Checked: transition log-probabilities and every pdf's gconsts, weights, means·inv-vars and
    inverse variances. (Kaldi would write a −inf gconst of a zero-weight Gaussian; our text writer
    cannot, and gmm-est removes such Gaussians, so −inf is refused too.)
    """
    problems = []
    arrays = [("transition <LogProbs>", tm.log_probs)]  # index = transition-id
    for p, g in enumerate(am.pdfs):
        arrays += [(f"pdf {p} <GCONSTS>", g.gconsts), (f"pdf {p} <WEIGHTS>", g.weights),
                   (f"pdf {p} <MEANS_INVVARS>", g.means_invvars), (f"pdf {p} <INV_VARS>", g.inv_vars)]
    for name, values in arrays:
        with np.errstate(over="ignore", invalid="ignore"):
            v = np.asarray(values, dtype=np.float64).astype(np.float32)
        bad = ~np.isfinite(v)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            problems.append(f"{name} has {int(bad.sum())} non-finite value(s), first {v[idx]} at index {idx}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError("; ".join(problems[:3]) + more)


def write_model(path: str | os.PathLike, tm: TransitionModel, am: AmDiagGmm) -> None:
    """Write a text ``.mdl`` atomically; a model holding NaN/inf is refused (``ValueError``) and
    ``path`` is left as it was (see :func:`check_model_finite`)."""
    try:
        check_model_finite(tm, am)
    except ValueError as e:
        raise ValueError(f"{path}: refusing to write a model with NaN/inf: {e}") from None
    with atomic_write(path) as f:
        f.write(tm.to_text())
        f.write(am.to_text())


def model_info(tm: TransitionModel, am: AmDiagGmm) -> str:
    """Kaldi's ``gmm-info`` output."""
    return (f"number of phones {len(tm.phones)}\n"
            f"number of pdfs {am.num_pdfs}\n"
            f"number of transition-ids {tm.num_transition_ids}\n"
            f"number of transition-states {tm.num_transition_states}\n"
            f"feature dimension {am.dim}\n"
            f"number of gaussians {am.num_gauss}\n")


def boost_silence(tm: TransitionModel, am: AmDiagGmm, silence_phones: list[int], boost: float) -> int:
    """Kaldi's ``gmm-boost-silence``: scale the weights of the silence phones' pdfs by ``boost``.

    Weights are not renormalised (as Kaldi); only gconsts change. Returns the number of pdfs
    boosted. Apply to the model used for alignment only.
    """
    if boost == 1.0:
        return 0
    sil = set(silence_phones)
    pdfs = sorted({int(tm.tid2pdf[t]) for t in range(1, tm.num_transition_ids + 1) if int(tm.tid2phone[t]) in sil})
    for p in pdfs:
        g = am.pdfs[p]
        g.weights = g.weights * boost
        g.compute_gconsts()
    am.invalidate()
    return len(pdfs)
