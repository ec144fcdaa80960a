"""Tree statistics (Kaldi's ``acc-tree-stats`` / ``sum-tree-stats``) and Gaussian objective functions.

For every *event* — a phone context window of N phones (central position P; 0 = no phone, at
utterance edges) plus the pdf-class of the frame's HMM state — we accumulate a single diagonal
Gaussian's sufficient statistics (Kaldi's ``GaussClusterable``): count, Σx, Σx².

As in Kaldi's AccumulateTreeStats, the context positions of a context-independent phone
(``--ci-phones``) are left out of its events, so no tree can ever ask about them.

On disk (``*.treeacc``) the statistics are a ``.npz`` archive with arrays:

- ``events`` int32 (E, 1+N): column 0 the pdf-class (Kaldi's key -1), columns 1..N the phone at
  positions 0..N-1, -1 where the key is absent (contexts of context-independent phones);
- ``count`` float64 (E,), ``x`` float64 (E, D) (Σx), ``x2`` float64 (E, D) (Σx²);
- ``context_width``, ``central_position`` (int), ``var_floor`` (float).

Events are sorted (lexicographically by key -1, 0, ..., N-1, as Kaldi's sorted EventType).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from hybrid.io.atomic import atomic_path

log = logging.getLogger("hybrid.tree")

LOG_2PI = float(np.log(2.0 * np.pi))
ABSENT = -1  # value of an event key that is not present


def gauss_objf(count: np.ndarray, x: np.ndarray, x2: np.ndarray, var_floor: float) -> np.ndarray:
    """Kaldi's GaussClusterable::Objf, vectorised over leading axes.

    Log-likelihood of the data under its own ML diagonal Gaussian with variances floored at
    ``var_floor``: count · Σ_d −½ (var/floored_var + log floored_var + log 2π); 0 where count ≤ 0.
    """
    count = np.asarray(count, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    x2 = np.asarray(x2, dtype=np.float64)
    pos = count > 0
    c = np.where(pos, count, 1.0)[..., None]
    mean = x / c
    var = x2 / c - mean * mean
    fv = np.maximum(var, var_floor)
    per_frame = -0.5 * np.sum(var / fv + np.log(fv) + LOG_2PI, axis=-1)
    return np.where(pos, per_frame * count, 0.0)


def pdf_class_of_tids(tm) -> np.ndarray:
    """Kaldi's TransitionIdToPdfClass for every transition-id (index 0 unused, -1)."""
    out = np.full(tm.num_transition_ids + 1, -1, dtype=np.int32)
    for tid in range(1, tm.num_transition_ids + 1):
        st = tm.topo.entry(int(tm.tid2phone[tid]))[int(tm.tid2hmm_state[tid])]
        out[tid] = st.self_loop_pdf_class if tm.tid_is_self_loop[tid] else st.forward_pdf_class
    return out


@dataclass
class TreeStats:
    """Per-event Gaussian statistics (see the module docstring for the layout)."""

    events: np.ndarray  # (E, 1+N) int32
    count: np.ndarray  # (E,)
    x: np.ndarray  # (E, D)
    x2: np.ndarray  # (E, D)
    context_width: int = 3
    central_position: int = 1
    var_floor: float = 0.01

    @property
    def num_events(self) -> int:
        return len(self.count)

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    def column(self, key: int) -> int:
        """Column of ``events`` holding ``key`` (-1 = pdf-class, 0..N-1 = context positions)."""
        if not -1 <= key < self.context_width:
            raise KeyError(f"no event key {key} with context width {self.context_width}")
        return key + 1

    def objf(self) -> np.ndarray:
        return gauss_objf(self.count, self.x, self.x2, self.var_floor)

    def total_objf(self, idx: np.ndarray | None = None) -> float:
        """Objective of the pooled statistics of the events ``idx`` (all when None)."""
        if idx is None:
            idx = slice(None)
        return float(gauss_objf(self.count[idx].sum(), self.x[idx].sum(0), self.x2[idx].sum(0), self.var_floor))

    def subset(self, mask: np.ndarray) -> "TreeStats":
        return TreeStats(self.events[mask], self.count[mask], self.x[mask], self.x2[mask],
                         self.context_width, self.central_position, self.var_floor)

    # ---------------------------------------------------------------- I/O
    def write(self, path: str | os.PathLike) -> None:
        buf = io.BytesIO()
        np.savez(buf, events=self.events.astype(np.int32), count=self.count, x=self.x, x2=self.x2,
                 context_width=np.int32(self.context_width), central_position=np.int32(self.central_position),
                 var_floor=np.float64(self.var_floor))
        with atomic_path(path) as tmp:
            tmp.write_bytes(buf.getvalue())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "TreeStats":
        try:
            with np.load(path) as z:
                return cls(z["events"].astype(np.int32), z["count"], z["x"], z["x2"], int(z["context_width"]),
                           int(z["central_position"]), float(z["var_floor"]))
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path}: not a tree-statistics file ({e})") from None


class TreeStatsAccumulator:
    """Accumulates :class:`TreeStats` utterance by utterance (Kaldi's AccumulateTreeStats)."""

    def __init__(self, tm, context_width: int = 3, central_position: int = 1,
                 ci_phones: Iterable[int] = (), var_floor: float = 0.01) -> None:
        if not 0 <= central_position < context_width:
            raise ValueError(f"central position {central_position} outside context width {context_width}")
        self.tm = tm
        self.N, self.P = context_width, central_position
        self.ci = np.zeros(max(tm.phones) + 1, dtype=bool)
        for p in ci_phones:
            if 0 <= p < len(self.ci):
                self.ci[p] = True
        self.var_floor = var_floor
        self.tid2class = pdf_class_of_tids(tm)
        self._index: dict[bytes, int] = {}
        self._events: list[np.ndarray] = []
        self._count = np.zeros(0)
        self._x: np.ndarray | None = None
        self._x2: np.ndarray | None = None
        self.num_done = 0
        self.num_frames = 0

    def _grow(self, n: int, dim: int) -> None:
        if self._x is None:
            self._x = np.zeros((0, dim))
            self._x2 = np.zeros((0, dim))
        cap = len(self._count)
        if n <= cap:
            return
        new = max(n, 2 * cap, 1024)
        self._count = np.concatenate([self._count, np.zeros(new - cap)])
        self._x = np.concatenate([self._x, np.zeros((new - cap, dim))])
        self._x2 = np.concatenate([self._x2, np.zeros((new - cap, dim))])

    def accumulate(self, feats: np.ndarray, ali: Sequence[int], utt: str = "") -> bool:
        """Add one utterance; returns False (and logs a warning) when the alignment is unusable."""
        from hybrid.hmm.alignment import split_to_phones

        ali = np.asarray(ali, dtype=np.int64)
        feats = np.asarray(feats, dtype=np.float64)
        if len(ali) != len(feats):
            log.warning("Alignment has wrong size %d vs. %d for utterance %s", len(ali), len(feats), utt)
            return False
        if len(ali) and (ali.min() < 1 or ali.max() > self.tm.num_transition_ids):
            log.warning("Alignment of utterance %s has transition-ids outside the model", utt)
            return False
        pieces, ok = split_to_phones(self.tm, ali)
        if not ok:
            log.warning("AccumulateTreeStats: alignment appears to be bad, not using it (utterance %s)", utt)
            return False
        n_ph = len(pieces)
        if n_ph == 0:
            return True
        N, P = self.N, self.P
        phones = np.array([self.tm.tid2phone[p[0]] for p in pieces], dtype=np.int32)
        padded = np.concatenate([np.zeros(P, np.int32), phones, np.zeros(N - 1 - P, np.int32)])
        windows = np.stack([padded[j:j + n_ph] for j in range(N)], axis=1)  # (n_ph, N)
        ci = self.ci[phones]
        if ci.any():
            ctx_cols = [j for j in range(N) if j != P]
            windows[np.ix_(ci, ctx_cols)] = ABSENT
        lengths = np.array([len(p) for p in pieces])
        frame_phone = np.repeat(np.arange(n_ph), lengths)
        ev = np.empty((len(ali), N + 1), dtype=np.int32)
        ev[:, 0] = self.tid2class[ali]
        ev[:, 1:] = windows[frame_phone]
        uniq, inv = np.unique(ev, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        gidx = np.empty(len(uniq), dtype=np.int64)
        for i, row in enumerate(uniq):
            key = row.tobytes()
            g = self._index.get(key)
            if g is None:
                g = len(self._events)
                self._index[key] = g
                self._events.append(row.copy())
            gidx[i] = g
        self._grow(len(self._events), feats.shape[1])
        if self._x.shape[1] != feats.shape[1]:
            raise ValueError(f"utterance {utt}: feature dimension {feats.shape[1]}, expected {self._x.shape[1]}")
        rows = gidx[inv]
        np.add.at(self._count, rows, 1.0)
        np.add.at(self._x, rows, feats)
        np.add.at(self._x2, rows, feats * feats)
        self.num_done += 1
        self.num_frames += len(ali)
        return True

    def result(self) -> TreeStats:
        n = len(self._events)
        dim = 0 if self._x is None else self._x.shape[1]
        events = np.array(self._events, dtype=np.int32).reshape(n, self.N + 1)
        st = TreeStats(events, self._count[:n].copy(),
                       (self._x[:n] if self._x is not None else np.zeros((0, dim))).copy(),
                       (self._x2[:n] if self._x2 is not None else np.zeros((0, dim))).copy(),
                       self.N, self.P, self.var_floor)
        return sort_stats(st)


def sort_stats(st: TreeStats) -> TreeStats:
    """Sort events lexicographically (key -1 first), as Kaldi keeps them."""
    if st.num_events == 0:
        return st
    order = np.lexsort(st.events.T[::-1])
    return TreeStats(st.events[order], st.count[order], st.x[order], st.x2[order], st.context_width,
                     st.central_position, st.var_floor)


def sum_tree_stats(stats: Sequence[TreeStats]) -> TreeStats:
    """Kaldi's sum-tree-stats: add statistics of identical events."""
    stats = [s for s in stats if s is not None]
    if not stats:
        raise ValueError("no tree statistics to sum")
    n, p = stats[0].context_width, stats[0].central_position
    dims = {s.dim for s in stats if s.num_events}
    if len(dims) > 1:
        raise ValueError(f"tree statistics of different feature dimensions {sorted(dims)}")
    for s in stats:
        if (s.context_width, s.central_position) != (n, p):
            raise ValueError("tree statistics with different --context-width/--central-position")
    dim = dims.pop() if dims else 0
    events = np.concatenate([s.events.reshape(-1, n + 1) for s in stats])
    if len(events) == 0:
        return TreeStats(events.astype(np.int32), np.zeros(0), np.zeros((0, dim)), np.zeros((0, dim)), n, p,
                         stats[0].var_floor)
    uniq, inv = np.unique(events, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    count = np.bincount(inv, weights=np.concatenate([s.count for s in stats]), minlength=len(uniq))
    x = np.zeros((len(uniq), dim))
    x2 = np.zeros((len(uniq), dim))
    np.add.at(x, inv, np.concatenate([s.x.reshape(-1, dim) for s in stats]))
    np.add.at(x2, inv, np.concatenate([s.x2.reshape(-1, dim) for s in stats]))
    return sort_stats(TreeStats(uniq.astype(np.int32), count, x, x2, n, p, stats[0].var_floor))


def acc_tree_stats(tm, utterances: Iterable[tuple[str, np.ndarray, np.ndarray]], context_width: int = 3,
                   central_position: int = 1, ci_phones: Iterable[int] = (), var_floor: float = 0.01
                   ) -> tuple[TreeStats, int, int]:
    """acc-tree-stats over ``(utt, feats, ali)``; returns (stats, num_done, num_failed)."""
    acc = TreeStatsAccumulator(tm, context_width, central_position, ci_phones, var_floor)
    failed = 0
    for utt, feats, ali in utterances:
        if not acc.accumulate(feats, ali, utt):
            failed += 1
    return acc.result(), acc.num_done, failed
