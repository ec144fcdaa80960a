"""Interpolated modified Kneser-Ney n-gram estimation (Chen & Goodman 1998), any order.

Counts follow KenLM/SRILM: the highest order and n-grams starting with ``<s>`` use raw
counts; other lower orders use continuation counts (number of distinct left extensions).
Each order n has three discounts D1, D2, D3+ from its count-of-counts n1..n4:
``Y = n1/(n1+2 n2)``, ``Dk = k - (k+1) Y n_{k+1}/n_k``. The unigram level interpolates
with the uniform distribution over the vocabulary (``<s>`` excluded). In the output ARPA
the back-off weight of a history is its interpolation weight gamma(h), which makes the
back-off model equal to the interpolated one.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Iterable, Sequence

from hybrid.lm.arpa import BOS, EOS, ArpaLM

log = logging.getLogger(__name__)


def compute_discounts(counts: Iterable[int]) -> tuple[float, float, float]:
    """Modified-KN discounts (D1, D2, D3+) from a collection of adjusted counts.

    When a count-of-count is zero (tiny corpora) the formula is undefined; we then fall
    back to the single absolute discount Y = n1/(n1+2 n2) (0.5 if that is undefined too)
    and clamp each Dk to [0, k].
    """
    nk = [0, 0, 0, 0, 0]
    for c in counts:
        if 1 <= c <= 4:
            nk[c] += 1
    n1, n2, n3, n4 = nk[1:]
    y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
    out = []
    for k, (a, b) in enumerate(((n1, n2), (n2, n3), (n3, n4)), 1):
        if a > 0 and b > 0:
            d = k - (k + 1) * y * b / a
        else:
            d = y if y > 0 else 0.5
        out.append(min(max(d, 0.0), float(k)))
    return out[0], out[1], out[2]


def _discount(c: int, d: tuple[float, float, float]) -> float:
    return d[0] if c == 1 else d[1] if c == 2 else d[2]


def count_ngrams(sentences: Iterable[Sequence[str]], order: int) -> dict[tuple[str, ...], int]:
    """Raw counts of the longest n-gram (up to ``order``) ending at each token of ``<s> w.. </s>``."""
    raw: dict[tuple[str, ...], int] = defaultdict(int)
    for words in sentences:
        t = [BOS, *words, EOS]
        for i in range(1, len(t)):
            raw[tuple(t[max(0, i - order + 1):i + 1])] += 1
    return raw


def train_kneser_ney(sentences: Iterable[Sequence[str]], order: int = 3,
                     vocab: Iterable[str] | None = None, unk: str | None = "<unk>",
                     discounts: Sequence[tuple[float, float, float]] | None = None) -> ArpaLM:
    """Estimate an interpolated modified Kneser-Ney LM from tokenised sentences.

    ``vocab``: if given, words outside it are mapped to ``unk`` (or the sentence is
    skipped, with a warning, when ``unk`` is None). ``unk`` (when not None) is always part of
    the vocabulary, so it gets probability mass even when unseen. ``discounts``: optional
    fixed (D1, D2, D3+) per order (index 0 = unigrams); estimated from the data otherwise.
    """
    if order < 1:
        raise ValueError("order must be >= 1")
    vocab_set = set(vocab) if vocab is not None else None
    sents: list[list[str]] = []
    skipped = 0
    for s in sentences:
        words = list(s)
        if vocab_set is not None:
            if unk is None and any(w not in vocab_set for w in words):
                skipped += 1
                continue
            words = [w if w in vocab_set else unk for w in words]
        if any(w in (BOS, EOS) for w in words):
            words = [w for w in words if w not in (BOS, EOS)]
        sents.append(words)
    if skipped:
        log.warning("train_kneser_ney: skipped %d sentences with out-of-vocabulary words", skipped)
    if not sents:
        raise ValueError("no training sentences")

    raw = count_ngrams(sents, order)
    # adjusted counts per order
    adj: list[dict[tuple[str, ...], int]] = [dict() for _ in range(order)]
    for g, c in raw.items():
        adj[len(g) - 1][g] = c
    for n in range(order - 1, 0, -1):  # fill order n (index n-1) from order n+1
        lower = adj[n - 1]
        for g in adj[n]:
            s = g[1:]
            lower[s] = lower.get(s, 0) + 1
    adj[0].pop((BOS,), None)

    words = {w for g in adj[0] for w in g}
    if vocab_set is not None:
        words |= vocab_set
    if unk is not None:
        words.add(unk)
    words.discard(BOS)
    words.add(EOS)
    for w in words:
        adj[0].setdefault((w,), 0)
    vsize = len(words)

    if discounts is None:
        discounts = [compute_discounts(a.values()) for a in adj]
    for n, d in enumerate(discounts, 1):
        log.info("order %d: %d n-grams, discounts D1=%.4f D2=%.4f D3+=%.4f", n, len(adj[n - 1]), *d)

    probs: list[dict[tuple[str, ...], float]] = []
    gammas: list[dict[tuple[str, ...], float]] = []  # gammas[n-1][h]: history h of length n-1
    for n in range(1, order + 1):
        d = discounts[n - 1]
        a = adj[n - 1]
        tot: dict[tuple[str, ...], float] = defaultdict(float)
        disc_mass: dict[tuple[str, ...], float] = defaultdict(float)
        for g, c in a.items():
            if c > 0:
                h = g[:-1]
                tot[h] += c
                disc_mass[h] += _discount(c, d)
        gam = {h: disc_mass[h] / tot[h] for h in tot}
        p: dict[tuple[str, ...], float] = {}
        for g, c in a.items():
            h = g[:-1]
            if n == 1:
                lower = 1.0 / vsize
            else:
                lower = _backoff_prob(probs, gammas, g[1:])
            if h in tot:
                p[g] = max(c - _discount(c, d), 0.0) / tot[h] + gam[h] * lower if c > 0 else gam[h] * lower
            else:
                p[g] = lower
        if n == 1 and not tot:
            p = {g: 1.0 / vsize for g in a}
        probs.append(p)
        gammas.append(gam)

    lm = ArpaLM(ngrams=[dict() for _ in range(order)])
    for n in range(1, order + 1):
        hist_gam = gammas[n] if n < order else {}
        out = lm.ngrams[n - 1]
        for g, pr in probs[n - 1].items():
            bo = hist_gam.get(g)
            out[g] = (math.log10(pr) if pr > 0 else -99.0, math.log10(bo) if bo else None)
        if n == 1:
            bo = hist_gam.get((BOS,))
            out[(BOS,)] = (-99.0, math.log10(bo) if bo else None)
    return lm


def _backoff_prob(probs, gammas, g: tuple[str, ...]) -> float:
    """p(g[-1] | g[:-1]) from the already-estimated lower orders (back-off recursion)."""
    mult = 1.0
    while True:
        p = probs[len(g) - 1].get(g)
        if p is not None:
            return mult * p
        h = g[:-1]
        mult *= gammas[len(g) - 1].get(h, 1.0)
        g = g[1:]
        if not g:
            raise KeyError("empty n-gram")
