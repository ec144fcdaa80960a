"""Sufficient statistics for GMM + transition re-estimation (Kaldi's gmm-acc-stats-ali / gmm-sum-accs).

:class:`GmmAccs` holds, for the Gaussians of one model in its packed order (``offsets`` per pdf),
occupancies (G,), first-order (G, D) and second-order (G, D) sums in float64, plus the
transition-id counts (index 0 unused), the total Gaussian-only log-likelihood and frame count.

On disk an accumulator is a ``.npz`` (numpy archive) with exactly these arrays: ``offsets``,
``occ``, ``mean_acc``, ``var_acc``, ``transition_accs``, ``tot_like``, ``tot_t``; written
atomically. (Kaldi's ``.acc`` is a binary TransitionModel-vector + AccumAmDiagGmm; ours is only
read by our own gmm-sum-accs / gmm-est.)
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from hybrid.io.atomic import atomic_path


def __getattr__(name: str):
    if name == "_acc_viterbi":  # the kernel lives in hybrid.gmm.kernels (numba imported on first use)
        from hybrid.gmm.kernels import acc_viterbi

        return acc_viterbi
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class GmmAccs:
    offsets: np.ndarray  # (P+1,) int64
    occ: np.ndarray  # (G,)
    mean_acc: np.ndarray  # (G, D)
    var_acc: np.ndarray  # (G, D)
    transition_accs: np.ndarray  # (num_tids + 1,)
    tot_like: float = 0.0
    tot_t: float = 0.0

    @classmethod
    def zeros(cls, tm, am) -> "GmmAccs":
        offsets = am.packed()[0].copy()
        g, d = int(offsets[-1]), am.dim
        return cls(offsets, np.zeros(g), np.zeros((g, d)), np.zeros((g, d)),
                   np.zeros(tm.num_transition_ids + 1))

    @property
    def num_pdfs(self) -> int:
        return len(self.offsets) - 1

    def pdf_occs(self) -> np.ndarray:
        """Occupancy per pdf (Kaldi's ``--write-occs``)."""
        return np.add.reduceat(self.occ, self.offsets[:-1]) if len(self.occ) else np.zeros(self.num_pdfs)

    def accumulate_ali(self, tm, am, feats: np.ndarray, ali: np.ndarray) -> float:
        """Viterbi stats for one utterance: frame t counts fully to pdf(ali[t]) and tid ali[t]."""
        ali = np.asarray(ali, dtype=np.int64)
        feats = np.asarray(feats, dtype=np.float64)
        if len(ali) != len(feats):
            raise ValueError(f"alignment has {len(ali)} frames, features {len(feats)}")
        if len(ali) and (ali.min() < 1 or ali.max() > tm.num_transition_ids):
            raise ValueError("alignment contains transition-ids outside the model")
        offsets, gc, miv, iv = am.packed()
        if not np.array_equal(offsets, self.offsets):
            raise ValueError("accumulator and model have different Gaussian layouts")
        from hybrid.gmm.kernels import acc_viterbi

        pdfs = tm.tid2pdf[ali].astype(np.int64)
        like = acc_viterbi(np.ascontiguousarray(feats), pdfs, offsets, gc, miv, iv,
                            self.occ, self.mean_acc, self.var_acc)
        np.add.at(self.transition_accs, ali, 1.0)
        self.tot_like += like
        self.tot_t += len(ali)
        return float(like)

    def add(self, other: "GmmAccs") -> None:
        if not np.array_equal(self.offsets, other.offsets) or self.mean_acc.shape != other.mean_acc.shape:
            raise ValueError("cannot add accumulators of different models")
        if len(self.transition_accs) != len(other.transition_accs):
            raise ValueError("cannot add accumulators of different transition models")
        self.occ += other.occ
        self.mean_acc += other.mean_acc
        self.var_acc += other.var_acc
        self.transition_accs += other.transition_accs
        self.tot_like += other.tot_like
        self.tot_t += other.tot_t

    # ---------------------------------------------------------------- I/O
    def write(self, path: str | os.PathLike) -> None:
        buf = io.BytesIO()
        np.savez(buf, offsets=self.offsets, occ=self.occ, mean_acc=self.mean_acc, var_acc=self.var_acc,
                 transition_accs=self.transition_accs, tot_like=np.float64(self.tot_like),
                 tot_t=np.float64(self.tot_t))
        with atomic_path(path) as tmp:
            tmp.write_bytes(buf.getvalue())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "GmmAccs":
        try:
            with np.load(path) as z:
                return cls(z["offsets"], z["occ"], z["mean_acc"], z["var_acc"], z["transition_accs"],
                           float(z["tot_like"]), float(z["tot_t"]))
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path}: not a GMM accumulator file ({e})") from None


def sum_accs(paths: list[str | os.PathLike]) -> GmmAccs:
    """Kaldi's gmm-sum-accs."""
    if not paths:
        raise ValueError("no accumulators to sum")
    tot = GmmAccs.read(paths[0])
    for p in paths[1:]:
        try:
            tot.add(GmmAccs.read(p))
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None
    return tot
