"""Pruning of back-off LMs: relative-entropy (Stolcke 1998, as SRILM ``-prune``) and
count cutoffs. Removed n-grams' mass goes to the back-off; back-off weights of the affected
histories are recomputed so every history still normalises."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Iterable, Sequence

from hybrid.lm.arpa import BOS, ArpaLM

log = logging.getLogger(__name__)


def _prob(lm: ArpaLM, g: tuple[str, ...]) -> float:
    return 10.0 ** lm.log10_prob(g[-1], g[:-1])


def _children(lm: ArpaLM, n: int) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """History (length n-1) → list of listed n-grams with that history."""
    out: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for g in lm.ngrams[n - 1]:
        out[g[:-1]].append(g)
    return out


def _num_den(lm: ArpaLM, grams: list[tuple[str, ...]]) -> tuple[float, float]:
    num = 1.0 - sum(10.0 ** lm.ngrams[len(g) - 1][g][0] for g in grams)
    den = 1.0 - sum(_prob(lm, g[1:]) for g in grams)
    return num, den


def recompute_backoffs(lm: ArpaLM, orders: Iterable[int] | None = None) -> None:
    """Set bow(h) = (1 - Σ p(w|h)) / (1 - Σ p_lower(w|h')) for histories of n-grams of the
    given orders (n ≥ 2; default all), lowest order first. Histories with no extension get no bow."""
    orders = sorted(orders) if orders is not None else list(range(2, lm.order + 1))
    for n in orders:
        children = _children(lm, n)
        hist = lm.ngrams[n - 2]
        for h, (lp, _) in list(hist.items()):
            grams = children.get(h)
            if not grams:
                hist[h] = (lp, None)
                continue
            num, den = _num_den(lm, grams)
            num, den = max(num, 1e-30), max(den, 1e-30)
            hist[h] = (lp, math.log10(num / den))


def _history_prob(lm: ArpaLM, h: tuple[str, ...]) -> float:
    p = 1.0
    for i, w in enumerate(h):
        if i == 0 and w == BOS:
            continue
        p *= 10.0 ** lm.log10_prob(w, h[:i])
    return p


def _has_extension(lm: ArpaLM, n: int) -> set[tuple[str, ...]]:
    """n-grams (order n) that are the history of some listed (n+1)-gram."""
    if n >= lm.order:
        return set()
    return {g[:-1] for g in lm.ngrams[n]}


def prune_relative_entropy(lm: ArpaLM, threshold: float) -> int:
    """Remove n-grams (order ≥ 2) whose removal raises perplexity by less than
    ``threshold`` (relative), highest order first, as SRILM's ``ngram -prune``. Returns the count."""
    if threshold <= 0:
        return 0
    total = 0
    for n in range(lm.order, 1, -1):
        keep_hist = _has_extension(lm, n)
        children = _children(lm, n)
        remove = []
        for h, grams in children.items():
            num, den = _num_den(lm, grams)
            if num <= 0 or den <= 0:
                continue
            bow = num / den
            ph = _history_prob(lm, h)
            for g in grams:
                if g in keep_hist:
                    continue
                p = 10.0 ** lm.ngrams[n - 1][g][0]
                q = _prob(lm, g[1:])
                new_bow = (num + p) / (den + q)
                delta_h = -ph * (p * (math.log(new_bow * q) - math.log(p)) + num * (math.log(new_bow) - math.log(bow)))
                if math.expm1(delta_h) < threshold:
                    remove.append(g)
        for g in remove:
            del lm.ngrams[n - 1][g]
        total += len(remove)
        log.info("prune: order %d: removed %d of %d n-grams", n, len(remove), len(remove) + len(lm.ngrams[n - 1]))
        recompute_backoffs(lm, range(n, lm.order + 1))
    _drop_empty_orders(lm)
    return total


def prune_count_cutoffs(lm: ArpaLM, counts: dict[tuple[str, ...], int], min_counts: Sequence[int]) -> int:
    """Remove n-grams of order n ≥ 2 whose raw count is below ``min_counts[n-1]`` (and that
    are not the history of a kept longer n-gram). Returns the number removed."""
    total = 0
    for n in range(lm.order, 1, -1):
        m = min_counts[n - 1] if n - 1 < len(min_counts) else min_counts[-1]
        if m <= 1:
            continue
        keep_hist = _has_extension(lm, n)
        remove = [g for g in lm.ngrams[n - 1] if counts.get(g, 0) < m and g not in keep_hist]
        for g in remove:
            del lm.ngrams[n - 1][g]
        total += len(remove)
    recompute_backoffs(lm)
    _drop_empty_orders(lm)
    return total


def _drop_empty_orders(lm: ArpaLM) -> None:
    while lm.order > 1 and not lm.ngrams[-1]:
        lm.ngrams.pop()
        for g, (lp, _) in list(lm.ngrams[-1].items()):
            lm.ngrams[-1][g] = (lp, None)


def all_ngram_counts(sentences: Iterable[Sequence[str]], order: int) -> dict[tuple[str, ...], int]:
    """Raw occurrence counts of every n-gram of order 1..``order`` in ``<s> w.. </s>``."""
    out: dict[tuple[str, ...], int] = defaultdict(int)
    for words in sentences:
        t = [BOS, *words, "</s>"]
        for i in range(len(t)):
            for n in range(1, order + 1):
                if i + n <= len(t):
                    out[tuple(t[i:i + n])] += 1
    return out
