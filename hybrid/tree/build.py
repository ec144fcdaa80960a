"""Decision-tree building (Kaldi's ``build-tree``: BuildTree in tree/build-tree.cc).

1. Stub map (GetStubMap): one root per line of ``phones/roots.int``. A *shared* root has one leaf
   for all its pdf-classes; a *not-shared* root has a table on the pdf-class with one leaf per
   class. Roots are told apart by a binary tree of splits on the central phone.
2. Greedy splitting (SplitDecisionTree): the leaves of *split* roots are split, best likelihood
   gain first (single diagonal Gaussian per leaf, Kaldi's GaussClusterable objective), on the
   question about any key (pdf-class or a context position) that gains most, while the best gain
   exceeds ``thresh`` and there are fewer than ``max_leaves`` leaves.
3. Clustering (ClusterEventMapRestrictedByMap): within each root's stub leaf, leaves are merged
   bottom-up while the likelihood loss of the closest pair is at most ``cluster_thresh``
   (negative = the smallest gain of any split made in step 2), then renumbered 0..n-1.

The result is a :class:`~hybrid.tree.ContextDependency` with Kaldi's event-map semantics; a
split node always answers, so every phone window (including windows with 0 at utterance
edges) and pdf-class of a phone in the roots file maps to a pdf.
"""

from __future__ import annotations

import heapq
import logging
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from hybrid.tree.context_dependency import ContextDependency
from hybrid.tree.event_map import PDF_CLASS, ConstantEventMap, EventMap, SplitEventMap, TableEventMap
from hybrid.tree.questions import Questions
from hybrid.tree.stats import TreeStats, gauss_objf

log = logging.getLogger("hybrid.tree")


# ----------------------------------------------------------------------------- roots
@dataclass
class Roots:
    """``phones/roots.int``: per line ``shared|not-shared split|not-split phone ...``."""

    phone_sets: list[list[int]]
    shared: list[bool]
    split: list[bool]


def read_roots(path: str | os.PathLike) -> Roots:
    sets, shared, split = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 3 or parts[0] not in ("shared", "not-shared") or parts[1] not in ("split", "not-split"):
                raise ValueError(f"{path}:{lineno}: bad line in roots file: {line.rstrip()!r}")
            try:
                phones = sorted(int(x) for x in parts[2:])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: bad phone id in roots file: {line.rstrip()!r}") from None
            if len(set(phones)) != len(phones) or phones[0] <= 0:
                raise ValueError(f"{path}:{lineno}: roots line contains non-positive or duplicate phone-ids")
            sets.append(phones)
            shared.append(parts[0] == "shared")
            split.append(parts[1] == "split")
    if not sets:
        raise ValueError(f"{path}: empty roots file")
    return Roots(sets, shared, split)


# ----------------------------------------------------------------------------- event-map helpers
def get_stub_map(P: int, phone_sets: Sequence[Sequence[int]], num_pdf_classes: dict[int, int],
                 share_roots: Sequence[bool], next_leaf: list[int]) -> EventMap:
    """Kaldi's GetStubMap; ``next_leaf`` is a one-element counter (leaves allocated in set order)."""
    if len(phone_sets) == 1:
        if share_roots[0]:
            leaf = next_leaf[0]
            next_leaf[0] += 1
            return ConstantEventMap(leaf)
        lens = {num_pdf_classes[p] for p in phone_sets[0]}
        if len(lens) > 1:
            log.warning("Mismatching lengths within a phone set: %s [unusual, but not necessarily fatal].",
                        sorted(lens))
        table: list[EventMap | None] = []
        for _ in range(max(lens)):
            table.append(ConstantEventMap(next_leaf[0]))
            next_leaf[0] += 1
        return TableEventMap(PDF_CLASS, table)
    half = len(phone_sets) // 2
    m1 = get_stub_map(P, phone_sets[:half], num_pdf_classes, share_roots[:half], next_leaf)
    m2 = get_stub_map(P, phone_sets[half:], num_pdf_classes, share_roots[half:], next_leaf)
    first = frozenset(p for s in phone_sets[:half] for p in s)
    return SplitEventMap(P, first, m1, m2)


def map_leaves(em: EventMap, fn: Callable[[int], EventMap]) -> EventMap:
    """Copy of ``em`` with every constant leaf ``a`` replaced by ``fn(a)`` (Kaldi's EventMap::Copy)."""
    if isinstance(em, ConstantEventMap):
        return fn(em.answer)
    if isinstance(em, TableEventMap):
        return TableEventMap(em.key, [None if c is None else map_leaves(c, fn) for c in em.table])
    if isinstance(em, SplitEventMap):
        return SplitEventMap(em.key, em.yes_set, map_leaves(em.yes, fn), map_leaves(em.no, fn))
    raise TypeError(type(em))


def map_events(em: EventMap, events: np.ndarray) -> np.ndarray:
    """Answers of ``em`` for every row of a stats ``events`` array (column 0 = pdf-class,
    1.. = positions); -1 where the map has no answer. Raises when a node asks a key that an
    event does not have (as Kaldi's SplitStatsByMap)."""
    out = np.full(len(events), -1, dtype=np.int64)

    def rec(node: EventMap, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        if isinstance(node, ConstantEventMap):
            out[idx] = node.answer
            return
        vals = events[idx, node.key + 1]
        if (vals < 0).any():
            bad = events[idx[np.argmax(vals < 0)]]
            raise ValueError(f"could not map event {bad.tolist()} (no value for key {node.key}): check that "
                             "--context-width/--central-position match the stats and that context-independent "
                             "phones do not share roots with context-dependent ones")
        if isinstance(node, SplitEventMap):
            yes = np.isin(vals, list(node.yes_set))
            rec(node.yes, idx[yes])
            rec(node.no, idx[~yes])
        elif isinstance(node, TableEventMap):
            for v in np.unique(vals):
                if 0 <= v < len(node.table) and node.table[v] is not None:
                    rec(node.table[v], idx[vals == v])
        else:
            raise TypeError(type(node))

    rec(em, np.arange(len(events)))
    return out


def renumber_event_map(em: EventMap) -> tuple[EventMap, int]:
    """Kaldi's RenumberEventMap: leaves renumbered 0..n-1 in increasing order of their old ids."""
    leaves = sorted(em.answers())
    new = {a: i for i, a in enumerate(leaves)}
    return map_leaves(em, lambda a: ConstantEventMap(new[a])), len(leaves)


# ----------------------------------------------------------------------------- splitting
class _SplitFinder:
    """Best question for a set of events (FindBestSplitForKey over all keys with questions)."""

    def __init__(self, stats: TreeStats, questions: Questions) -> None:
        self.st = stats
        self.S = np.concatenate([stats.count[:, None], stats.x, stats.x2], axis=1)
        self.D = stats.dim
        self.keys = [k for k in questions.keys() if -1 <= k < stats.context_width]
        vmax = int(stats.events.max()) + 1 if stats.num_events else 1
        self.qsets = {k: questions.by_key[k] for k in self.keys}
        self.qmat = {k: questions.matrix(k, vmax) for k in self.keys}

    def objf(self, S: np.ndarray) -> np.ndarray:
        D = self.D
        return gauss_objf(S[..., 0], S[..., 1:1 + D], S[..., 1 + D:], self.st.var_floor)

    def best(self, idx: np.ndarray) -> tuple[float, int, frozenset[int]]:
        """(gain, key, yes-set) of the best split of events ``idx``; gain 0 when none helps."""
        best_gain, best_key, best_set = 0.0, 0, frozenset()
        if len(idx) <= 1:
            return best_gain, best_key, best_set
        S = self.S[idx]
        tot = S.sum(0)
        tot_objf = float(self.objf(tot))
        for k in self.keys:
            vals = self.st.events[idx, k + 1]
            if (vals < 0).any():
                continue  # key not always defined
            nv = int(vals.max()) + 1
            order = np.argsort(vals, kind="stable")
            sv = vals[order]
            starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
            Sv = np.zeros((nv, S.shape[1]))
            Sv[sv[starts]] = np.add.reduceat(S[order], starts, axis=0)  # stats summed per value
            Q = self.qmat[k][:, :nv]
            # einsum, not BLAS: tiny products are ~20x slower with multi-threaded OpenBLAS on a
            # busy machine (threads spinning), and this runs thousands of times
            yes = np.einsum("qv,vc->qc", Q, Sv)
            no = np.einsum("qv,vc->qc", 1.0 - Q, Sv)
            gain = self.objf(yes) + self.objf(no) - tot_objf
            j = int(np.argmax(gain))
            if gain[j] > best_gain:
                best_gain, best_key, best_set = float(gain[j]), k, frozenset(self.qsets[k][j])
        return best_gain, best_key, best_set


@dataclass
class _Node:
    leaf: int
    idx: np.ndarray
    gain: float = 0.0
    key: int = 0
    yes_set: frozenset = frozenset()
    yes: "_Node | None" = None
    no: "_Node | None" = None

    def to_event_map(self) -> EventMap:
        if self.yes is None:
            return ConstantEventMap(self.leaf)
        return SplitEventMap(self.key, self.yes_set, self.yes.to_event_map(), self.no.to_event_map())


def split_decision_tree(stub: EventMap, stats: TreeStats, questions: Questions, thresh: float, max_leaves: int,
                        num_leaves: int) -> tuple[EventMap, int, float, float]:
    """Kaldi's SplitDecisionTree: returns (map, num_leaves, total gain, smallest split gain)."""
    finder = _SplitFinder(stats, questions)
    leaf_of = map_events(stub, stats.events)
    if (leaf_of < 0).any():
        bad = stats.events[np.argmax(leaf_of < 0)]
        raise ValueError(f"SplitStatsByMap: could not map event vector {bad.tolist()}")
    roots: dict[int, _Node] = {}
    heap: list[tuple[float, int, _Node]] = []
    counter = 0

    def push(node: _Node) -> None:
        nonlocal counter
        node.gain, node.key, node.yes_set = finder.best(node.idx)
        heapq.heappush(heap, (-node.gain, counter, node))
        counter += 1

    order = np.argsort(leaf_of, kind="stable")
    bounds = np.searchsorted(leaf_of[order], np.arange(num_leaves + 1))
    for leaf in range(num_leaves):
        node = _Node(leaf, order[bounds[leaf]:bounds[leaf + 1]])
        roots[leaf] = node
        push(node)
    total_gain, smallest, count = 0.0, 1.0e20, 0
    while heap and -heap[0][0] > thresh and (max_leaves <= 0 or num_leaves < max_leaves):
        _, _, node = heapq.heappop(heap)
        smallest = min(smallest, node.gain)
        total_gain += node.gain
        vals = stats.events[node.idx, node.key + 1]
        yes_mask = np.isin(vals, list(node.yes_set))
        node.yes = _Node(node.leaf, node.idx[yes_mask])
        node.no = _Node(num_leaves, node.idx[~yes_mask])
        num_leaves += 1
        node.idx = node.idx[:0]
        push(node.yes)
        push(node.no)
        count += 1
    log.info("DoDecisionTreeSplit: split %d times, #leaves now %d", count, num_leaves)
    em = map_leaves(stub, lambda a: roots[a].to_event_map() if a in roots else ConstantEventMap(a))
    return em, num_leaves, total_gain, smallest


# ----------------------------------------------------------------------------- clustering
class _BottomUp:
    """Bottom-up clustering state of one compartment (Kaldi's BottomUpClusterer): pairwise
    likelihood losses of merging, updated after each merge."""

    def __init__(self, S: np.ndarray, objf: Callable[[np.ndarray], np.ndarray]) -> None:
        n = len(S)
        self.n, self.objf = n, objf
        self.S = S.copy()
        self.obj = objf(self.S) if n else np.zeros(0)
        self.rep = np.arange(n)
        self.active = np.ones(n, dtype=bool)
        self.dist = np.full((n, n), np.inf)
        step = max(1, 2_000_000 // max(1, n * S.shape[1]))
        for a in range(0, n, step):
            b = min(n, a + step)
            self.dist[a:b] = self.obj[a:b, None] + self.obj[None, :] - objf(self.S[a:b, None, :] + self.S[None, :, :])
        np.fill_diagonal(self.dist, np.inf)

    @property
    def num_clusters(self) -> int:
        return int(self.active.sum())

    def closest(self) -> tuple[float, int, int]:
        """(loss, i, j) of the closest pair (inf when fewer than two clusters)."""
        if self.n < 2:
            return np.inf, -1, -1
        i, j = divmod(int(np.argmin(self.dist)), self.n)
        return float(self.dist[i, j]), min(i, j), max(i, j)

    def merge(self, i: int, j: int) -> None:
        S, dist = self.S, self.dist
        S[i] += S[j]
        self.obj[i] = self.objf(S[i])
        self.active[j] = False
        self.rep[self.rep == j] = i
        dist[j, :] = np.inf
        dist[:, j] = np.inf
        d = self.obj[i] + self.obj - self.objf(S[i][None, :] + S)
        d[~self.active] = np.inf
        d[i] = np.inf
        dist[i, :] = d
        dist[:, i] = d


def cluster_bottom_up(S: np.ndarray, objf: Callable[[np.ndarray], np.ndarray], thresh: float) -> np.ndarray:
    """Kaldi's ClusterBottomUp: merge the closest pair (smallest likelihood loss) while the loss is
    at most ``thresh``. Returns for each point the index of the point representing its cluster
    (the smallest index in the cluster)."""
    c = _BottomUp(S, objf)
    while True:
        d, i, j = c.closest()
        if not np.isfinite(d) or d > thresh:
            break
        c.merge(i, j)
    return c.rep


def cluster_bottom_up_to_n(groups: list[np.ndarray], objf: Callable[[np.ndarray], np.ndarray],
                           target: int) -> list[np.ndarray]:
    """Kaldi's ClusterBottomUpCompartmentalized: merge the globally closest pair, never across
    compartments, until ``target`` clusters remain. Returns each compartment's representatives."""
    cs = [_BottomUp(S, objf) for S in groups]
    total = sum(c.num_clusters for c in cs)
    while total > target:
        cands = [c.closest() for c in cs]
        g = int(np.argmin([x[0] for x in cands]))
        d, i, j = cands[g]
        if not np.isfinite(d):
            break
        cs[g].merge(i, j)
        total -= 1
    return [c.rep for c in cs]


def _group_leaf_stats(em: EventMap, stats: TreeStats, restrict: EventMap):
    """Per leaf of ``restrict`` (that has stats): the leaves of ``em`` under it and their summed stats."""
    finder = _SplitFinder(stats, Questions())
    leaf = map_events(em, stats.events)
    group = map_events(restrict, stats.events)
    out = []
    for g in np.unique(group):
        sel = group == g
        leaves = np.unique(leaf[sel])
        S = np.stack([finder.S[sel & (leaf == lf)].sum(0) for lf in leaves])
        out.append((leaves, S))
    return out, finder.objf


def _apply_reps(em: EventMap, groups, reps) -> EventMap:
    mapping: dict[int, int] = {}
    for (leaves, _), rep in zip(groups, reps):
        for a, r in zip(leaves, rep):
            if int(a) in mapping and mapping[int(a)] != int(leaves[r]):
                raise ValueError("clustering was called for overlapping parts of the tree")
            mapping[int(a)] = int(leaves[r])
    return map_leaves(em, lambda a: ConstantEventMap(mapping.get(a, a)))


def cluster_event_map_restricted(em: EventMap, stats: TreeStats, thresh: float, restrict: EventMap
                                 ) -> tuple[EventMap, int]:
    """Kaldi's ClusterEventMapRestrictedByMap: cluster the leaves of ``em`` only among events that
    share a leaf of ``restrict``. Returns (map, number of leaves removed)."""
    groups, objf = _group_leaf_stats(em, stats, restrict)
    reps = [cluster_bottom_up(S, objf, thresh) for _, S in groups]
    removed = sum(len(r) - len(np.unique(r)) for r in reps)
    return _apply_reps(em, groups, reps), removed


def cluster_event_map_to_n(em: EventMap, stats: TreeStats, target: int, restrict: EventMap
                           ) -> tuple[EventMap, int]:
    """Kaldi's ClusterEventMapToNClustersRestrictedByMap: merge leaves (within leaves of
    ``restrict``) until ``target`` remain. Returns (map, number of leaves removed)."""
    groups, objf = _group_leaf_stats(em, stats, restrict)
    reps = cluster_bottom_up_to_n([S for _, S in groups], objf, target)
    removed = sum(len(r) - len(np.unique(r)) for r in reps)
    return _apply_reps(em, groups, reps), removed


def objf_given_map(stats: TreeStats, em: EventMap) -> float:
    leaf = map_events(em, stats.events)
    S = np.concatenate([stats.count[:, None], stats.x, stats.x2], axis=1)
    n = int(leaf.max()) + 1
    sums = np.zeros((n, S.shape[1]))
    np.add.at(sums, leaf, S)
    D = stats.dim
    return float(gauss_objf(sums[:, 0], sums[:, 1:1 + D], sums[:, 1 + D:], stats.var_floor).sum())


# ----------------------------------------------------------------------------- build-tree
def build_tree(stats: TreeStats, roots: Roots, questions: Questions, topo, thresh: float = 300.0,
               max_leaves: int = 0, cluster_thresh: float = -1.0, round_num_leaves: bool = True
               ) -> ContextDependency:
    """Kaldi's build-tree (BuildTree + the checks of the binary). Returns the context dependency.

    ``round_num_leaves`` (Kaldi's --round-num-leaves, default true): after the threshold
    clustering, leaves are merged further (cheapest first, within roots) down to a multiple of 8.
    """
    if thresh <= 0 and max_leaves <= 0:
        raise ValueError("need --thresh > 0 or --max-leaves > 0")
    if stats.num_events == 0:
        raise ValueError("no tree statistics")
    for i, (sh, spl) in enumerate(zip(roots.shared, roots.split)):
        if spl and not sh:
            raise ValueError(f"roots line {i + 1}: splitting non-shared roots is not supported")
    N, P = stats.context_width, stats.central_position
    nclass = {p: topo.num_pdf_classes(p) for p in topo.phones}
    for s in roots.phone_sets:
        for p in s:
            if p not in nclass:
                raise ValueError(f"phone {p} of the roots file is not in the topology")
    all_phones = sorted(p for s in roots.phone_sets for p in s)
    seen = set(np.unique(stats.events[:, P + 1]).tolist())
    extra = sorted(seen - set(all_phones))
    if extra:
        raise ValueError(f"Phone {extra[0]} appears in stats but is not listed in roots file.")
    counter = [0]
    stub = get_stub_map(P, roots.phone_sets, nclass, roots.shared, counter)
    num_leaves = counter[0]
    log.info("BuildTree: before building trees, map has %d leaves.", num_leaves)

    nonsplit = sorted(p for s, spl in zip(roots.phone_sets, roots.split) if not spl for p in s)
    filtered = stats.subset(~np.isin(stats.events[:, P + 1], nonsplit))
    split_map, num_leaves, impr, smallest = split_decision_tree(stub, filtered, questions, thresh, max_leaves,
                                                                num_leaves)
    if cluster_thresh < 0.0:
        log.info("Setting clustering threshold to smallest split %g", smallest)
        cluster_thresh = smallest
    normalizer = float(stats.count.sum())
    norm_filt = float(filtered.count.sum()) or 1.0
    log.info("After decision tree split, num-leaves = %d, like-impr = %g per frame over %g frames.",
             num_leaves, impr / normalizer, normalizer)
    log.info("Including just phones that were split, improvement is %g per frame over %g frames.",
             impr / norm_filt, norm_filt)
    if cluster_thresh != 0.0:
        before = objf_given_map(stats, split_map)
        clustered, removed = cluster_event_map_restricted(split_map, stats, cluster_thresh, stub)
        log.info("BuildTree: removed %d leaves.", removed)
        to_pdf, num_leaves = renumber_event_map(clustered)
        if round_num_leaves and num_leaves > 8 and num_leaves % 8:
            rounded, removed = cluster_event_map_to_n(to_pdf, stats, num_leaves // 8 * 8, stub)
            to_pdf, num_leaves = renumber_event_map(rounded)
            log.info("Rounded the number of leaves to a multiple of 8: removed %d more leaves", removed)
        after = objf_given_map(stats, to_pdf)
        log.info("Objf change due to clustering %g per frame.", (after - before) / normalizer)
        log.info("Num-leaves is now %d", num_leaves)
    else:
        to_pdf = split_map
    # checks of Kaldi's build-tree binary
    if all_phones != topo.phones:
        log.warning("Mismatch between phone sets provided in roots file, and those in topology: [ %s ] vs. [ %s ]",
                    " ".join(map(str, all_phones)), " ".join(map(str, topo.phones)))
    unseen = [p for p in all_phones if p not in seen]
    if unseen:
        log.warning("Saw no stats for following phones: %s", " ".join(map(str, unseen)))
    return ContextDependency(N, P, to_pdf)
