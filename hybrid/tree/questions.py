"""Questions for tree building: Kaldi's ``cluster-phones`` and ``compile-questions``.

- :func:`cluster_phones` (AutomaticallyObtainQuestions): the statistics of each phone set of
  ``phones/sets.int`` (central phone in the set, pdf-class in ``pdf_class_list``, default the
  middle state 1) are clustered top-down into a binary tree by 2-way k-means on the
  single-Gaussian objective (TreeCluster, 10 tries per split). Every node of that tree, leaves
  and inner nodes, gives a question (the union of its phone sets), and every original set is a
  question too; duplicates and empty sets are dropped, the list is sorted.
- :func:`compile_questions`: the phone questions are asked at every context position 0..N-1;
  the pdf-class (key -1) gets ``[0], [0 1], ...`` up to the largest number of pdf-classes − 1.

``questions.qst`` is written in Kaldi's text form of ``Questions``
(``<Questions> <Key> k <QuestionsForKey> n [ a b ] ... <RefineClustersOptions> 0 5
</RefineClustersOptions> </QuestionsForKey> ... </Questions>``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from hybrid.io.atomic import atomic_write
from hybrid.io.kaldi_text import KaldiTextReader
from hybrid.tree.stats import TreeStats, gauss_objf

log = logging.getLogger("hybrid.tree")


def read_int_lines(path: str | os.PathLike) -> list[list[int]]:
    """A file with one list of integers per line (``sets.int``, ``questions.int``); blank lines skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                row = [int(x) for x in line.split()]
            except ValueError:
                raise ValueError(f"{path}:{lineno}: expected integers, got {line.rstrip()!r}") from None
            if row:
                out.append(row)
    return out


def write_int_lines(rows: Sequence[Sequence[int]], path: str | os.PathLike) -> None:
    with atomic_write(path) as f:
        for r in rows:
            f.write(" ".join(str(x) for x in r) + "\n")


# ----------------------------------------------------------------------------- clustering
class _Points:
    """Gaussian statistics of a list of points (count, Σx, Σx²) with objective helpers."""

    def __init__(self, count: np.ndarray, x: np.ndarray, x2: np.ndarray, var_floor: float) -> None:
        self.count, self.x, self.x2, self.vf = count, x, x2, var_floor

    def objf_of(self, members: np.ndarray) -> float:
        return float(gauss_objf(self.count[members].sum(), self.x[members].sum(0), self.x2[members].sum(0), self.vf))


def _kmeans2(pts: _Points, members: np.ndarray, num_tries: int, rng: np.random.Generator,
             max_iters: int = 20) -> tuple[float, np.ndarray]:
    """2-way k-means of ``members`` on the Gaussian objective; (improvement, assignment 0/1)."""
    n = len(members)
    c, x, x2, vf = pts.count[members], pts.x[members], pts.x2[members], pts.vf
    tot = float(gauss_objf(c.sum(), x.sum(0), x2.sum(0), vf))
    best_impr, best_assign = -np.inf, None
    for _ in range(num_tries):
        assign = rng.integers(0, 2, size=n)
        if assign.min() == assign.max():
            assign[rng.integers(0, n)] ^= 1
        cs = np.array([c[assign == k].sum() for k in (0, 1)])
        xs = np.stack([x[assign == k].sum(0) for k in (0, 1)])
        x2s = np.stack([x2[assign == k].sum(0) for k in (0, 1)])
        cur = gauss_objf(cs, xs, x2s, vf)
        sizes = np.bincount(assign, minlength=2)
        for _it in range(max_iters):
            changed = False
            for i in range(n):
                a = assign[i]
                b = 1 - a
                if sizes[a] == 1:
                    continue
                na = gauss_objf(cs[a] - c[i], xs[a] - x[i], x2s[a] - x2[i], vf)
                nb = gauss_objf(cs[b] + c[i], xs[b] + x[i], x2s[b] + x2[i], vf)
                if na + nb > cur[a] + cur[b] + 1e-6 * (1.0 + abs(cur[a] + cur[b])):
                    cs[a] -= c[i]; xs[a] -= x[i]; x2s[a] -= x2[i]
                    cs[b] += c[i]; xs[b] += x[i]; x2s[b] += x2[i]
                    cur[a], cur[b] = na, nb
                    sizes[a] -= 1; sizes[b] += 1
                    assign[i] = b
                    changed = True
            if not changed:
                break
        impr = float(cur.sum() - tot)
        if impr > best_impr:
            best_impr, best_assign = impr, assign.copy()
    return best_impr, best_assign


def tree_cluster(pts: _Points, num_points: int, num_tries: int = 10, thresh: float = 0.0,
                 seed: int = 0) -> list[np.ndarray]:
    """Kaldi's TreeCluster (branch factor 2): top-down splitting of the leaf with the largest
    k-means improvement, while it exceeds ``thresh``. Returns the member lists of every node
    (leaves and inner nodes, the root included)."""
    import heapq

    rng = np.random.default_rng(seed)
    nodes: list[np.ndarray] = []
    heap: list[tuple[float, int, np.ndarray, np.ndarray]] = []
    counter = 0

    def consider(members: np.ndarray) -> None:
        nonlocal counter
        nodes.append(members)
        if len(members) <= 1:
            return
        impr, assign = _kmeans2(pts, members, num_tries, rng)
        if impr > thresh:
            heapq.heappush(heap, (-impr, counter, members, assign))
            counter += 1

    consider(np.arange(num_points))
    while heap:
        _, _, members, assign = heapq.heappop(heap)
        consider(members[assign == 0])
        consider(members[assign == 1])
    return nodes


def cluster_phones(stats: TreeStats, phone_sets: Sequence[Sequence[int]], pdf_class_list: Sequence[int] = (1,),
                   seed: int = 0) -> list[list[int]]:
    """Kaldi's cluster-phones (AutomaticallyObtainQuestions): questions from phone-set statistics."""
    sets = [sorted(set(s)) for s in phone_sets]
    allp = [p for s in sets for p in s]
    if any(not s for s in sets):
        raise ValueError("empty phone set")
    if len(allp) != len(set(allp)):
        raise ValueError("phones are present in more than one phone set")
    P = stats.central_position
    keep = np.isin(stats.events[:, 0], list(pdf_class_list))
    if keep.sum() * 10 < stats.num_events:
        log.warning("After filtering the tree statistics to retain only stats where pdf-class is in the set "
                    "{ %s }, most of your stats disappeared: the size changed from %d to %d.",
                    " ".join(map(str, pdf_class_list)), stats.num_events, int(keep.sum()))
    central = stats.events[keep, P + 1]
    dim = stats.dim
    count = np.zeros(len(sets))
    x = np.zeros((len(sets), dim))
    x2 = np.zeros((len(sets), dim))
    set_of = {p: i for i, s in enumerate(sets) for p in s}
    for p in np.unique(central):
        if int(p) not in set_of:
            log.warning("Phone %d is present in stats but is not in phone list [make sure you intended this].", p)
    idx = np.array([set_of.get(int(p), -1) for p in central], dtype=np.int64)
    ok = idx >= 0
    np.add.at(count, idx[ok], stats.count[keep][ok])
    np.add.at(x, idx[ok], stats.x[keep][ok])
    np.add.at(x2, idx[ok], stats.x2[keep][ok])
    no_data = 0
    for i, s in enumerate(sets):
        if count[i] == 0:
            no_data += 1
            log.warning("AutomaticallyObtainQuestions: no stats available for phone set: %s", " ".join(map(str, s)))
    if no_data + 1 >= len(sets):
        log.warning("All or all but one of your classes of phones had no data (pdf-class list %s).",
                    list(pdf_class_list))
    nodes = tree_cluster(_Points(count, x, x2, stats.var_floor), len(sets), num_tries=10, seed=seed)
    raw = {tuple(sorted(p for i in members for p in sets[i])) for members in nodes}
    raw |= {tuple(s) for s in sets}
    return [list(q) for q in sorted(raw) if q]


# ----------------------------------------------------------------------------- compiled questions
@dataclass
class Questions:
    """Questions per event key (Kaldi's ``Questions``): key → list of sorted value sets."""

    by_key: dict[int, list[tuple[int, ...]]] = field(default_factory=dict)

    def keys(self) -> list[int]:
        return sorted(k for k, v in self.by_key.items() if v)

    def matrix(self, key: int, num_values: int) -> np.ndarray:
        """(num_questions, num_values) 0/1 float matrix of the questions of ``key``."""
        qs = self.by_key.get(key, [])
        m = np.zeros((len(qs), num_values))
        for i, q in enumerate(qs):
            vals = [v for v in q if 0 <= v < num_values]
            m[i, vals] = 1.0
        return m

    def to_text(self) -> str:
        out = ["<Questions> "]
        for k in self.keys():
            qs = self.by_key[k]
            out.append(f"<Key> {k} <QuestionsForKey> {len(qs)} ")
            out.extend("[ " + " ".join(map(str, q)) + " ] " for q in qs)
            out.append("<RefineClustersOptions> 0 5 </RefineClustersOptions> </QuestionsForKey> ")
        out.append("</Questions> ")
        return "\n".join(out) + "\n"

    def write(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as f:
            f.write(self.to_text())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Questions":
        r = KaldiTextReader.from_file(path)
        r.expect("<Questions>")
        by_key: dict[int, list[tuple[int, ...]]] = {}
        while not r.maybe("</Questions>"):
            r.expect("<Key>")
            k = r.int()
            r.expect("<QuestionsForKey>")
            n = r.int()
            qs = []
            for _ in range(n):
                r.expect("[")
                vals = []
                while (t := r.next()) != "]":
                    vals.append(int(t))
                qs.append(tuple(sorted(vals)))
            r.expect("<RefineClustersOptions>")
            if r.int() != 0:
                raise r.error("refining questions (num-iters-refine > 0) is not supported")
            r.int()
            r.expect("</RefineClustersOptions>")
            r.expect("</QuestionsForKey>")
            by_key[k] = qs
        return cls(by_key)


def compile_questions(questions: Sequence[Sequence[int]], topo, context_width: int = 3) -> Questions:
    """Kaldi's compile-questions: phone questions for keys 0..N-1, pdf-class questions for key -1."""
    qs = sorted({tuple(sorted(set(q))) for q in questions if q})
    dup = len([q for q in questions if q]) - len(qs)
    if dup:
        log.warning("%d duplicate questions present", dup)
    seen = sorted({p for q in qs for p in q})
    topo_phones = topo.phones
    if seen != topo_phones:
        log.warning("ProcessTopo: phones seen in questions differ from those in topology: [ %s ] vs. [ %s ]",
                    " ".join(map(str, seen)), " ".join(map(str, topo_phones)))
        if set(seen) - set(topo_phones):
            raise ValueError("ProcessTopo: phones are asked about that are undefined in the topology.")
    max_classes = max(topo.num_pdf_classes(p) for p in topo_phones)
    log.info("Max # pdf classes is %d", max_classes)
    by_key: dict[int, list[tuple[int, ...]]] = {n: list(qs) for n in range(context_width)}
    by_key[-1] = [tuple(range(i + 1)) for i in range(max_classes - 1)]
    return Questions(by_key)
