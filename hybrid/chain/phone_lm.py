"""Phone n-gram LM for the chain denominator, and the den graph (Kaldi's chain-est-phone-lm and
CreateDenominatorFst).

Estimation (after Kaldi's language-model.cc): no smoothing, since the LM only has to give
probability to training sequences. Every training position (history, next phone or
end-of-sentence) is counted in an *LM state*: the longest suffix of its history (up to
``ngram_order - 1`` phones, sentence start marked by phone 0) that is kept. All histories
shorter than ``no_prune_ngram_order`` are kept; of the full-length histories the
``num_extra_lm_states`` with the largest log-likelihood gain over their backoff state are kept
(a simple greedy version of Kaldi's pruning). A state's probabilities are its counts,
normalised, so they sum to one per history (end-of-sentence included).

As an FSA (:func:`phone_lm_arcs`): one state per LM state; an arc per seen (state, phone)
going to the longest kept suffix of history + phone; the end-of-sentence probability is the
final weight. The den graph (:func:`denominator_fsa`) composes it with the reordered phone HMMs
of a left-context tree (the LM state determines the left phone of every state except the start
state, so composition is a direct product), then merges equivalent states (:func:`~hybrid.chain.
graph.minimize`) and keeps connected states.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from hybrid.chain.graph import NEG_INF, Fsa, connect, fsa_from_arcs, minimize
from hybrid.chain.hmm import PhoneHmms

EOS = -1  # end-of-sentence in count tables


@dataclass
class PhoneLm:
    """States are histories (tuples of phones, 0 = sentence start); probs[h][p] (p = EOS: end)."""

    ngram_order: int
    probs: dict[tuple[int, ...], dict[int, float]]

    @property
    def start(self) -> tuple[int, ...]:
        """The sentence-start history, or the empty one when it was pruned (a unigram LM)."""
        return (0,) if (0,) in self.probs else ()

    def next_state(self, h: tuple[int, ...], phone: int) -> tuple[int, ...]:
        """Longest kept suffix of ``h + (phone,)`` (at most ngram_order - 1 long)."""
        full = (h + (phone,))[-(self.ngram_order - 1):] if self.ngram_order > 1 else ()
        for i in range(len(full) + 1):
            if full[i:] in self.probs:
                return full[i:]
        raise KeyError(f"no LM state for history {full}")

    def log_prob(self, seq: Sequence[int]) -> float:
        """log P(seq, end) under the LM (-inf if unseen)."""
        h, lp = self.start, 0.0
        for p in list(seq) + [EOS]:
            pr = self.probs[h].get(p, 0.0)
            if pr <= 0:
                return NEG_INF
            lp += math.log(pr)
            if p != EOS:
                h = self.next_state(h, p)
        return lp

    def to_text(self) -> str:
        """One line per (state, phone, prob), for inspection."""
        lines = []
        for h in sorted(self.probs):
            for p, pr in sorted(self.probs[h].items()):
                lines.append(f"{' '.join(map(str, h))}\t{p if p != EOS else '</s>'}\t{pr:.6g}")
        return "\n".join(lines) + "\n"


def estimate_phone_lm(sequences: Iterable[Sequence[int]], ngram_order: int = 4, no_prune_ngram_order: int = 3,
                      num_extra_lm_states: int = 2000) -> PhoneLm:
    """Estimate the phone LM (chain-est-phone-lm's defaults: --ngram-order 4
    --no-prune-ngram-order 3; recipes pass --num-extra-lm-states 2000)."""
    if ngram_order < 1 or no_prune_ngram_order < 1:
        raise ValueError("orders must be >= 1")
    H = ngram_order - 1
    positions: list[tuple[tuple[int, ...], int]] = []
    for seq in sequences:
        seq = [int(p) for p in seq]
        if any(p <= 0 for p in seq):
            raise ValueError(f"phone ids must be > 0: {seq}")
        hist = [0] + seq
        for i, p in enumerate(seq + [EOS]):
            h = tuple(hist[max(0, i + 1 - H):i + 1]) if H > 0 else ()
            positions.append((h, p))
    if not positions:
        raise ValueError("no phone sequences")
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for h, p in positions:
        counts[h][p] += 1
    kept = {h[len(h) - k:] if k else () for h in counts for k in range(min(len(h), no_prune_ngram_order - 1) + 1)}
    kept.add(())
    # candidates: longer histories; score by gain over their longest kept proper suffix
    cands = [h for h in counts if h not in kept]

    def parent(h):
        for i in range(1, len(h) + 1):
            if h[i:] in kept:
                return h[i:]
        return ()

    # counts of each kept state if no candidate were kept
    base: dict[tuple, Counter] = defaultdict(Counter)
    for h, c in counts.items():
        base[h if h in kept else parent(h)].update(c)
    gains = []
    for h in cands:
        c, pc = counts[h], base[parent(h)]
        n, pn = sum(c.values()), sum(pc.values())
        g = sum(v * (math.log(v / n) - math.log(pc[p] / pn)) for p, v in c.items())
        gains.append((-g, h))
    gains.sort()
    for _g, h in gains[:max(0, num_extra_lm_states)]:
        kept.add(h)
    state_counts: dict[tuple, Counter] = defaultdict(Counter)
    for h, c in counts.items():
        state_counts[h if h in kept else parent(h)].update(c)
    probs = {}
    for h, c in state_counts.items():
        n = sum(c.values())
        probs[h] = {p: v / n for p, v in c.items()}
    # every kept history that is reachable must exist as a state (possibly with no counts:
    # cannot happen, a kept history always comes from a counted one); drop empty
    return PhoneLm(ngram_order, probs)


def phone_lm_arcs(lm: PhoneLm) -> tuple[list[tuple[int, ...]], list[tuple[int, int, int, float]], dict[int, float]]:
    """The LM as an acceptor over phones: (states, arcs (src, dst, phone, log_prob), finals)."""
    states = sorted(lm.probs, key=lambda h: (h != lm.start, len(h), h))
    sid = {h: i for i, h in enumerate(states)}
    arcs, finals = [], {}
    for h in states:
        for p, pr in lm.probs[h].items():
            if p == EOS:
                finals[sid[h]] = math.log(pr)
            else:
                arcs.append((sid[h], sid[lm.next_state(h, p)], p, math.log(pr)))
    return states, arcs, finals


def denominator_fsa(lm: PhoneLm, hmms: PhoneHmms, do_minimize: bool = True) -> Fsa:
    """pdf-level den FSA: phone LM ∘ left-context tree ∘ reordered chain HMMs (Kaldi's
    CreateDenominatorFst; transition probabilities not used). States are (LM state, left
    phones, node of the current phone); the start state is the LM start. Final weights are the
    LM's end-of-sentence probabilities (they only matter for the initial-probability iteration:
    the den graph makes every state final, see :func:`hybrid.chain.graph.denominator_graph`)."""
    N = hmms.N
    _lm_states, lm_arcs, lm_finals = phone_lm_arcs(lm)
    out_by_state: dict[int, list] = defaultdict(list)
    for s, d, p, w in lm_arcs:
        out_by_state[s].append((d, p, w))
    ids: dict = {}

    def sid(key):
        if key not in ids:
            ids[key] = len(ids)
        return ids[key]

    # The left context is tracked next to the LM state (an LM state may be shorter than the tree's
    # left context: a unigram or bigram LM with a wider tree, or a pruned history), as Kaldi gets by
    # composing the LM with the context FST.
    # graph keys: ("lm", lm_state, left) is the start; ("in", lm_after, window, node) is inside a phone's
    # HMM, window = the N-1 left phones + the phone (0 = sentence start).
    left0 = (0,) * (N - 1)
    start = sid(("lm", 0, left0))
    arcs = []
    finals: dict[int, float] = {}
    todo = [("lm", 0, left0)]
    seen = {("lm", 0, left0)}
    while todo:
        key = todo.pop()
        s = ids[key]
        if key[0] == "lm":
            _, lm_s, left = key
            if lm_s in lm_finals:
                finals[s] = lm_finals[lm_s]
            nexts = out_by_state[lm_s]
        else:
            _, lm_s, window, node = key
            internal, _entry, F = hmms.arcs(window)
            for a, b, pdf in internal:
                if a == node:
                    k2 = ("in", lm_s, window, b)
                    arcs.append((s, sid(k2), pdf, 0.0))
                    if k2 not in seen:
                        seen.add(k2)
                        todo.append(k2)
            if node[0] != F:
                continue
            if lm_s in lm_finals:
                finals[s] = lm_finals[lm_s]
            nexts = out_by_state[lm_s]
            left = window[1:]
        for d, p, w in nexts:
            window = left + (p,)
            _internal, entry_arcs, _F = hmms.arcs(window)
            for b, pdf in entry_arcs:
                k2 = ("in", d, window, b)
                arcs.append((s, sid(k2), pdf, w))
                if k2 not in seen:
                    seen.add(k2)
                    todo.append(k2)
    fsa = fsa_from_arcs(len(ids), arcs, start, finals)
    fsa = connect(fsa)
    if do_minimize:
        fsa = minimize(fsa)
    return fsa
