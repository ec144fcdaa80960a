"""pdf-level FSAs for LF-MMI: the denominator graph and the numerator FSAs.

An :class:`Fsa` is an epsilon-free acceptor whose every arc consumes one frame and carries a
pdf-id (0-based, *not* Kaldi's pdf-id + 1) and a log-probability. It has a log initial weight
and a log final weight per state (``-inf`` = not initial / not final). Arrays are torch
tensors (int64 / float64 on the CPU); :meth:`Fsa.to` moves them.

Kaldi's ``DenominatorGraph`` (chain-den-graph.cc) is reproduced by :func:`denominator_graph`:
the start state's mass is propagated through the graph for 100 iterations (each state's
outgoing weights normalised to sum to one, final-probs included), the average of those
distributions becomes the initial probabilities, and every state is final with weight one.
:func:`normalization_fsa` is the same graph as used to weight the numerator
(Kaldi's ``GetNormalizationFst``).

Only torch, numpy and the standard library are imported here; :mod:`hybrid.chain.kaldifst_io`
converts kaldifst graphs (imported lazily).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

NEG_INF = float("-inf")


@dataclass
class Fsa:
    """Acceptor over pdf-ids: arcs (src, dst, pdf, log_prob); per-state initial/final log weights."""

    num_states: int
    src: torch.Tensor  # (A,) int64
    dst: torch.Tensor  # (A,) int64
    pdf: torch.Tensor  # (A,) int64, 0-based pdf-id
    log_prob: torch.Tensor  # (A,) float
    initial: torch.Tensor  # (S,) float, log initial weight (-inf: not initial)
    final: torch.Tensor  # (S,) float, log final weight (-inf: not final)

    @property
    def num_arcs(self) -> int:
        return int(self.src.numel())

    @property
    def num_pdfs(self) -> int:
        """1 + the largest pdf-id on an arc."""
        return int(self.pdf.max()) + 1 if self.num_arcs else 0

    def to(self, device=None, dtype=None) -> "Fsa":
        f = lambda x: x.to(device=device)  # noqa: E731
        g = lambda x: x.to(device=device, dtype=dtype or x.dtype)  # noqa: E731
        return Fsa(self.num_states, f(self.src), f(self.dst), f(self.pdf), g(self.log_prob),
                   g(self.initial), g(self.final))

    def arcs(self) -> list[tuple[int, int, int, float]]:
        """Arcs as python tuples (src, dst, pdf, log_prob) (for tests and small graphs)."""
        return list(zip(self.src.tolist(), self.dst.tolist(), self.pdf.tolist(), self.log_prob.tolist()))

    def validate(self) -> None:
        """Raise ValueError when an index is out of range or a weight is NaN."""
        S = self.num_states
        if self.initial.numel() != S or self.final.numel() != S:
            raise ValueError(f"initial/final have {self.initial.numel()}/{self.final.numel()} entries, expected {S}")
        for name in ("src", "dst"):
            t = getattr(self, name)
            if t.numel() and (int(t.min()) < 0 or int(t.max()) >= S):
                raise ValueError(f"arc {name} out of range [0, {S})")
        if self.num_arcs and int(self.pdf.min()) < 0:
            raise ValueError("negative pdf-id on an arc")
        if torch.isnan(self.log_prob).any() or torch.isnan(self.initial).any() or torch.isnan(self.final).any():
            raise ValueError("NaN weight in FSA")


def fsa_from_arcs(num_states: int, arcs: Iterable[Sequence[float]], initial, final) -> Fsa:
    """Build an :class:`Fsa` from a list/array of ``(src, dst, pdf, log_prob)`` arcs.

    ``initial`` and ``final`` are either a dict ``state -> log weight`` (others -inf), a
    sequence/array of length ``num_states`` of log weights, or a single int (that state has
    weight 0, i.e. probability one).
    """
    a = np.asarray(list(arcs) if not isinstance(arcs, np.ndarray) else arcs, dtype=np.float64).reshape(-1, 4)
    fsa = Fsa(
        num_states=int(num_states),
        src=torch.from_numpy(a[:, 0].astype(np.int64)),
        dst=torch.from_numpy(a[:, 1].astype(np.int64)),
        pdf=torch.from_numpy(a[:, 2].astype(np.int64)),
        log_prob=torch.from_numpy(a[:, 3].copy()),
        initial=_weights(initial, num_states),
        final=_weights(final, num_states),
    )
    fsa.validate()
    return fsa


def fsa_from_openfst_arcs(num_states: int, start: int, arcs: Iterable[Sequence[float]],
                          finals: dict[int, float]) -> Fsa:
    """From OpenFst-style data: arcs ``(src, dst, label, cost)`` with label = pdf-id + 1 and
    tropical/log cost = -log prob; ``finals`` maps state -> final cost. Epsilon (label 0)
    arcs are not allowed (den.fst and normalization FSTs have none)."""
    out = []
    for s, d, lab, cost in arcs:
        if int(lab) == 0:
            raise ValueError(f"epsilon arc {s}->{d}: a den/num FST must be epsilon-free")
        out.append((int(s), int(d), int(lab) - 1, -float(cost)))
    return fsa_from_arcs(num_states, out, {int(start): 0.0}, {int(s): -float(c) for s, c in finals.items()})


def _weights(w, n: int) -> torch.Tensor:
    if isinstance(w, (int, np.integer)) and not isinstance(w, bool):
        out = torch.full((n,), NEG_INF, dtype=torch.float64)
        out[int(w)] = 0.0
        return out
    if isinstance(w, dict):
        out = torch.full((n,), NEG_INF, dtype=torch.float64)
        for k, v in w.items():
            out[int(k)] = float(v)
        return out
    out = torch.as_tensor(np.asarray(w, dtype=np.float64)).clone()
    if out.numel() != n:
        raise ValueError(f"weight vector has {out.numel()} entries, expected {n}")
    return out


# ------------------------------------------------------------------ denominator graph
def initial_probs(fsa: Fsa, num_iters: int = 100) -> np.ndarray:
    """Kaldi's DenominatorGraph::SetInitialProbs: average state distribution over ``num_iters``
    steps of the HMM started in the start state, each state's outgoing weights (with its
    final weight) normalised to one, the distribution renormalised after each step."""
    S = fsa.num_states
    starts = torch.nonzero(torch.isfinite(fsa.initial)).flatten().tolist()
    if not starts:
        raise ValueError("FSA has no initial state")
    src = fsa.src.numpy()
    dst = fsa.dst.numpy()
    p = np.exp(fsa.log_prob.numpy().astype(np.float64))
    tot = np.exp(fsa.final.numpy().astype(np.float64))
    np.add.at(tot, src, p)
    if np.any(tot <= 0.0) or np.any(tot >= 100.0):
        bad = int(np.nonzero((tot <= 0.0) | (tot >= 100.0))[0][0])
        raise ValueError(f"state {bad} has total outgoing probability {tot[bad]} (must be in (0, 100))")
    pn = p / tot[src]
    cur = np.zeros(S)
    w0 = np.exp(fsa.initial.numpy()[starts])
    cur[starts] = w0 / w0.sum()
    avg = np.zeros(S)
    for _ in range(num_iters):
        avg += cur / num_iters
        nxt = np.zeros(S)
        np.add.at(nxt, dst, cur[src] * pn)
        s = nxt.sum()
        if not s > 0:
            raise ValueError("HMM propagation lost all probability mass (no arcs out of reachable states?)")
        cur = nxt / s
    return avg


def denominator_graph(fsa: Fsa, num_iters: int = 100) -> Fsa:
    """The graph LF-MMI's denominator uses (Kaldi's DenominatorGraph): same arcs, initial
    log-probs from :func:`initial_probs`, every state final with log weight 0."""
    init = initial_probs(fsa, num_iters)
    with np.errstate(divide="ignore"):
        log_init = torch.from_numpy(np.log(init))
    return Fsa(fsa.num_states, fsa.src.clone(), fsa.dst.clone(), fsa.pdf.clone(), fsa.log_prob.clone(),
               log_init, torch.zeros(fsa.num_states, dtype=torch.float64))


def normalization_fsa(den: Fsa) -> Fsa:
    """Kaldi's GetNormalizationFst: the denominator graph with its initial probabilities and all
    final weights one. With our per-state initial weights this is the den graph itself."""
    return den


def connect(fsa: Fsa) -> Fsa:
    """Keep only states on some initial→final path (accessible and co-accessible), renumbered."""
    S = fsa.num_states
    src, dst = fsa.src.numpy(), fsa.dst.numpy()
    acc = _reach(S, np.isfinite(fsa.initial.numpy()), src, dst)
    coacc = _reach(S, np.isfinite(fsa.final.numpy()), dst, src)
    keep = acc & coacc
    return subset_states(fsa, keep)


def _reach(S: int, seeds: np.ndarray, frm: np.ndarray, to: np.ndarray) -> np.ndarray:
    seen = seeds.copy()
    order = np.argsort(frm, kind="stable")
    frm_s, to_s = frm[order], to[order]
    starts = np.searchsorted(frm_s, np.arange(S + 1))
    stack = list(np.nonzero(seen)[0])
    while stack:
        s = stack.pop()
        for d in to_s[starts[s]:starts[s + 1]]:
            if not seen[d]:
                seen[d] = True
                stack.append(d)
    return seen


def subset_states(fsa: Fsa, keep: np.ndarray) -> Fsa:
    """The sub-FSA on states where ``keep`` is true (renumbered in order)."""
    keep = np.asarray(keep, dtype=bool)
    new_id = np.cumsum(keep) - 1
    src, dst = fsa.src.numpy(), fsa.dst.numpy()
    m = keep[src] & keep[dst]
    kt = torch.from_numpy(keep)
    return Fsa(int(keep.sum()), torch.from_numpy(new_id[src[m]]), torch.from_numpy(new_id[dst[m]]),
               fsa.pdf[torch.from_numpy(m)].clone(), fsa.log_prob[torch.from_numpy(m)].clone(),
               fsa.initial[kt].clone(), fsa.final[kt].clone())


def minimize(fsa: Fsa, max_rounds: int = 100, decimals: int = 6) -> Fsa:
    """Merge equivalent states until nothing changes (a cheap, exact partial minimisation).

    Two rules, both preserving the sum over paths of every pdf sequence: states with identical
    final weight and identical outgoing arcs (pdf, weight, destination) are merged (suffix
    sharing); states with identical initial weight and identical incoming arcs (source, pdf,
    weight) are merged, their outgoing arcs united (prefix sharing). Weights are compared
    rounded to ``decimals``.
    """
    cur = fsa
    for _ in range(max_rounds):
        n0 = cur.num_states
        cur = _merge(cur, outgoing=True, decimals=decimals)
        cur = _merge(cur, outgoing=False, decimals=decimals)
        if cur.num_states == n0:
            break
    return cur


def _merge(fsa: Fsa, outgoing: bool, decimals: int) -> Fsa:
    S = fsa.num_states
    src, dst, pdf = fsa.src.numpy(), fsa.dst.numpy(), fsa.pdf.numpy()
    lp = np.round(fsa.log_prob.numpy(), decimals)
    own = np.round((fsa.final if outgoing else fsa.initial).numpy(), decimals)
    key_state, other = (src, dst) if outgoing else (dst, src)
    # partition refinement (coarsest bisimulation): start from the own weight, split by the
    # multiset of (pdf, weight, class of the other end) until stable
    _, rep = np.unique(own, return_inverse=True)
    rep = rep.astype(np.int64)
    n_cls = int(rep.max()) + 1 if S else 0
    kl, ol, pl, wl = key_state.tolist(), other.tolist(), pdf.tolist(), lp.tolist()
    while True:
        sig: list[list] = [[] for _ in range(S)]
        for k, o, p_, w in zip(kl, ol, pl, wl):
            sig[k].append((p_, w, int(rep[o])))
        classes: dict = {}
        new = np.empty(S, dtype=np.int64)
        for st in range(S):
            new[st] = classes.setdefault((int(rep[st]), tuple(sorted(sig[st]))), len(classes))
        rep = new
        if len(classes) == n_cls:
            break
        n_cls = len(classes)
    if len(classes) == S:
        return fsa
    n = len(classes)
    first_of = np.full(n, -1)
    for s in range(S):
        if first_of[rep[s]] < 0:
            first_of[rep[s]] = s
    is_first = first_of[rep] == np.arange(S)
    # outgoing-merge: members' outgoing arcs coincide, keep the first member's; arcs into
    # members all stay (parallel arcs keep the path sum). Incoming-merge: the mirror image.
    idx = np.nonzero(is_first[key_state])[0]
    order = np.argsort(rep, kind="stable")
    bounds = np.searchsorted(rep[order], np.arange(n))
    init_src = fsa.initial.numpy()
    fin_src = fsa.final.numpy()
    if outgoing:  # initial weights add up over merged states; finals are identical
        init = np.logaddexp.reduceat(init_src[order], bounds)
        fin = fin_src[first_of]
    else:  # finals add up; initials identical
        fin = np.logaddexp.reduceat(fin_src[order], bounds)
        init = init_src[first_of]
    ti = torch.from_numpy(idx)
    return Fsa(n, torch.from_numpy(rep[src[idx]]), torch.from_numpy(rep[dst[idx]]), fsa.pdf[ti].clone(),
               fsa.log_prob[ti].clone(), torch.from_numpy(init), torch.from_numpy(fin))


def total_log_prob_reference(fsa: Fsa, log_likes: np.ndarray) -> float:
    """Plain float64 forward algorithm (log semiring) over ``log_likes`` (T, num_pdfs): the sum
    over all paths of initial · Π (arc · likelihood) · final. For tests and small checks."""
    alpha = fsa.initial.numpy().astype(np.float64).copy()
    arcs = fsa.arcs()
    for t in range(log_likes.shape[0]):
        nxt = np.full(fsa.num_states, NEG_INF)
        for s, d, p, w in arcs:
            nxt[d] = np.logaddexp(nxt[d], alpha[s] + w + log_likes[t, p])
        alpha = nxt
    v = np.logaddexp.reduce(alpha + fsa.final.numpy())
    return float(v) if math.isfinite(v) else NEG_INF
