"""Training graphs (Kaldi's compile-train-graphs), built directly as arrays.

Transcript word ids → phone graph ``L ∘ W`` (kaldifst compose + rmepsilon; optional silence,
pronunciation alternatives and the lexicon's costs kept) → context windows of N phones (centre P;
0 at the utterance ends, as Kaldi's C with its subsequential symbol) → HMM states of each window's
phone (pdfs from the tree, transition-states from the transition model) → a graph whose arcs each
carry one transition-id.

The graph is Kaldi's after ``AddSelfLoops(reorder=true)``: the node entered by a forward transition
out of HMM state j carries j's self-loop, so alignments are Kaldi's transition-id sequences. Arc
costs hold only the lexicon costs (compile-train-graphs' transition-scale 0 / self-loop-scale 0);
transition probabilities are added at alignment time from the current model
(:func:`transition_costs`).

:class:`TrainingGraph` arrays (node 0 is the start): ``self_tid`` (0: no self-loop) and ``final``
(cost, inf when not final) per node; arcs sorted by source: ``arc_start`` (CSR offsets),
``arc_dst``, ``arc_tid``, ``arc_cost``.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from hybrid.io.atomic import atomic_path

INF = np.float32(np.inf)


@dataclass
class TrainingGraph:
    self_tid: np.ndarray  # int32 (N,)
    final: np.ndarray  # float32 (N,)
    arc_start: np.ndarray  # int32 (N+1,)
    arc_dst: np.ndarray  # int32 (A,)
    arc_tid: np.ndarray  # int32 (A,)
    arc_cost: np.ndarray  # float32 (A,)

    @property
    def num_nodes(self) -> int:
        return len(self.self_tid)

    @property
    def num_arcs(self) -> int:
        return len(self.arc_dst)

    def arc_src(self) -> np.ndarray:
        return np.repeat(np.arange(self.num_nodes, dtype=np.int32), np.diff(self.arc_start))

    def min_length(self) -> int:
        """Fewest frames of any path to a final node (BFS; every arc takes one frame)."""
        dist = np.full(self.num_nodes, -1, dtype=np.int64)
        dist[0] = 0
        frontier = [0]
        while frontier:
            nxt = []
            for n in frontier:
                if np.isfinite(self.final[n]):
                    return int(dist[n])
                for a in range(self.arc_start[n], self.arc_start[n + 1]):
                    d = self.arc_dst[a]
                    if dist[d] < 0:
                        dist[d] = dist[n] + 1
                        nxt.append(int(d))
            frontier = nxt
        return -1


def _build(nodes_self: list[int], nodes_final: list[float], arcs: list[tuple[int, int, int, float]]) -> TrainingGraph:
    n = len(nodes_self)
    arcs.sort(key=lambda a: a[0])
    src = np.array([a[0] for a in arcs], dtype=np.int64)
    start = np.zeros(n + 1, dtype=np.int32)
    np.add.at(start, src + 1, 1)
    np.cumsum(start, out=start)
    return TrainingGraph(np.array(nodes_self, dtype=np.int32), np.array(nodes_final, dtype=np.float32), start,
                         np.array([a[1] for a in arcs], dtype=np.int32), np.array([a[2] for a in arcs], dtype=np.int32),
                         np.array([a[3] for a in arcs], dtype=np.float32))


# ------------------------------------------------------------------------------ phone graph
def _read_fst_arrays(fst) -> tuple[int, list[tuple[int, int, int, int, float]], dict[int, float]]:
    """(start, arcs (src, dst, ilabel, olabel, cost), finals) of a kaldifst FST via its text form."""
    arcs, finals = [], {}
    for line in fst.to_str(show_weight_one=True).splitlines():
        f = line.split()
        if len(f) >= 4:
            arcs.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]), float(f[4]) if len(f) > 4 else 0.0))
        elif f:
            finals[int(f[0])] = float(f[1]) if len(f) > 1 else 0.0
    return fst.start, arcs, finals


class PhoneGraph:
    """An epsilon-free acyclic phone graph: arcs (src, dst, phone, cost), finals, start."""

    def __init__(self, start: int, arcs: list[tuple[int, int, int, float]], finals: dict[int, float]) -> None:
        self.start = start
        self.arcs = arcs
        self.finals = finals
        self.out: dict[int, list[int]] = {}
        for i, a in enumerate(arcs):
            self.out.setdefault(a[0], []).append(i)


class TrainingGraphCompiler:
    """Compile training graphs from transcripts (Kaldi's TrainingGraphCompiler, our arrays)."""

    def __init__(self, tm, ctx_dep, lex_fst, disambig_syms: Sequence[int] = ()) -> None:
        import kaldifst

        if isinstance(lex_fst, (str, os.PathLike)):
            lex_fst = kaldifst.StdVectorFst.read(str(lex_fst))
        self.lex = lex_fst.copy()
        kaldifst.arcsort(self.lex, sort_type="olabel")
        self.tm = tm
        self.ctx = ctx_dep
        self.disambig = set(int(x) for x in disambig_syms)
        self._hmm_cache: dict[tuple[int, ...], list] = {}

    # -------------------------------------------------------------- phones
    def phone_graph(self, words: Sequence[int]) -> PhoneGraph:
        import kaldifst

        w = kaldifst.make_linear_acceptor(list(int(x) for x in words))
        lw = kaldifst.compose(self.lex, w)
        if self.disambig:
            raise NotImplementedError("disambiguation symbols in the lexicon FST: use L.fst, not L_disambig.fst")
        kaldifst.rmepsilon(lw)
        start, arcs, finals = _read_fst_arrays(lw)
        if start < 0 or not finals:
            raise ValueError("empty graph (a word is not in the lexicon?)")
        if any(a[2] == 0 for a in arcs):
            raise ValueError("phone graph has epsilon input arcs after epsilon removal")
        return PhoneGraph(start, [(a[0], a[1], a[2], a[4]) for a in arcs], finals)

    # -------------------------------------------------------------- HMM of a window
    def _hmm(self, window: tuple[int, ...]):
        """Per HMM state of the centre phone: (list of (dst, tid) non-self transitions, self-loop tid)."""
        got = self._hmm_cache.get(window)
        if got is not None:
            return got
        tm, ctx = self.tm, self.ctx
        phone = window[ctx.central_position]
        entry = tm.topo.entry(phone)
        states = []
        for j, st in enumerate(entry[:-1]):
            f = ctx.compute(window, st.forward_pdf_class)
            s = ctx.compute(window, st.self_loop_pdf_class)
            if f < 0 or s < 0:
                raise ValueError(f"the tree has no pdf for phone window {window}, pdf-class "
                                 f"{st.forward_pdf_class}")
            ts = tm.tstate_of(phone, j, f, s)
            trans = [(dst, tm.pair_to_tid(ts, i)) for i, (dst, _p) in enumerate(st.transitions) if dst != j]
            states.append((trans, tm.self_loop_tid(ts)))
        got = (states, len(entry) - 1)
        self._hmm_cache[window] = got
        return got

    # -------------------------------------------------------------- compile
    def compile(self, words: Sequence[int]) -> TrainingGraph:
        pg = self.phone_graph(words)
        return self.compile_phone_graph(pg)

    def compile_phone_graph(self, pg: PhoneGraph) -> TrainingGraph:
        n_ctx, p_ctx = self.ctx.context_width, self.ctx.central_position
        arcs = pg.arcs

        def cont(item: int) -> list[int]:
            if item < 0:
                return [-1]
            q = arcs[item][1]
            return list(pg.out.get(q, [])) + ([-1] if q in pg.finals else [])

        # initial windows: P start pads, a first arc, then N-1-P continuations
        def extend(prefix: list[int], k: int) -> Iterator[tuple[int, ...]]:
            if k == 0:
                yield tuple(prefix)
                return
            for y in cont(prefix[-1]):
                yield from extend(prefix + [y], k - 1)

        windows: dict[tuple[int, ...], int] = {}
        order: list[tuple[int, ...]] = []
        initial: list[int] = []
        for a in pg.out.get(pg.start, []):
            for w in extend([-1] * p_ctx + [a], n_ctx - 1 - p_ctx):
                if w not in windows:
                    windows[w] = len(order)
                    order.append(w)
                initial.append(windows[w])
        succ: list[list[int]] = []
        final_cost: list[float] = []
        i = 0
        while i < len(order):
            w = order[i]
            centre = w[p_ctx]
            q = arcs[centre][1]
            nxt: list[tuple[int, ...]] = []
            if p_ctx == n_ctx - 1:
                fc = pg.finals.get(q, np.inf)
                nxt = [w[1:] + (y,) for y in pg.out.get(q, [])]
            elif w[p_ctx + 1] < 0:
                fc = pg.finals[q]
            else:
                fc = np.inf
                nxt = [w[1:] + (y,) for y in cont(w[-1])]
            ids = []
            for v in nxt:
                if v not in windows:
                    windows[v] = len(order)
                    order.append(v)
                ids.append(windows[v])
            succ.append(ids)
            final_cost.append(fc)
            i += 1
            if len(order) > 1_000_000:
                raise ValueError("context expansion too large")

        def labels(w: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(arcs[x][2] if x >= 0 else 0 for x in w)

        # nodes: 0 = start; node (w, j, k) for each non-self transition j -> k of each window
        node_self = [0]
        node_final = [np.inf]
        out_arcs: list[tuple[int, int, int, float]] = []
        hmms = []
        node_of: list[dict[tuple[int, int], int]] = []
        exit_nodes: list[list[int]] = []
        for w in order:
            states, fstate = self._hmm(labels(w))
            hmms.append((states, fstate))
            d: dict[tuple[int, int], int] = {}
            ex = []
            for j, (trans, self_tid) in enumerate(states):
                for k, _tid in trans:
                    d[(j, k)] = len(node_self)
                    node_self.append(self_tid)
                    node_final.append(np.inf)
                    if k == fstate:
                        ex.append(d[(j, k)])
            node_of.append(d)
            exit_nodes.append(ex)

        def entry_arcs(src: int, wi: int, extra: float) -> None:
            states, _ = hmms[wi]
            cost = arcs[order[wi][p_ctx]][3] + extra
            for k, tid in states[0][0]:
                out_arcs.append((src, node_of[wi][(0, k)], tid, cost))

        for wi in sorted(set(initial)):
            entry_arcs(0, wi, 0.0)
        for wi, w in enumerate(order):
            states, fstate = hmms[wi]
            for (j, k), n in node_of[wi].items():
                if k != fstate:
                    for m, tid in states[k][0]:
                        out_arcs.append((n, node_of[wi][(k, m)], tid, 0.0))
            for n in exit_nodes[wi]:
                node_final[n] = final_cost[wi]
                for wj in succ[wi]:
                    entry_arcs(n, wj, 0.0)
        g = _build(node_self, node_final, out_arcs)
        return g


def transition_costs(tm, transition_scale: float = 1.0, self_loop_scale: float = 0.1) -> np.ndarray:
    """Per transition-id graph cost −scaled log P (Kaldi's AddTransitionProbs / GetScaledTransitionLogProb)."""
    lp = tm.log_probs
    out = np.zeros(tm.num_transition_ids + 1)
    if transition_scale == self_loop_scale:
        out[1:] = -transition_scale * lp[1:]
        return out
    # log(1 - p_self) per transition-state
    nsl = np.zeros(tm.num_transition_states + 1)
    for s in range(1, tm.num_transition_states + 1):
        nsl[s] = tm.non_self_loop_log_prob(s)
    for tid in range(1, tm.num_transition_ids + 1):
        if tm.tid_is_self_loop[tid]:
            out[tid] = -self_loop_scale * lp[tid]
        else:
            s = tm.tid2tstate[tid]
            out[tid] = -(self_loop_scale * nsl[s] + transition_scale * (lp[tid] - nsl[s]))
    return out


def careful_graph(g: TrainingGraph) -> TrainingGraph:
    """Kaldi's ModifyGraphForCarefulAlignment: a final-less copy of the graph appended after the finals.

    A path that runs through the transcript too fast can wander into the copy (a blind alley), so
    that pruning exposes alignments that would otherwise end too early.
    """
    n = g.num_nodes
    src = g.arc_src()
    arcs = [(int(s), int(d), int(t), float(c)) for s, d, t, c in zip(src, g.arc_dst, g.arc_tid, g.arc_cost)]
    arcs += [(s + n, d + n, t, c) for s, d, t, c in arcs]
    start_arcs = [(d, t, c) for s, d, t, c in arcs[: g.num_arcs] if s == 0]
    for f in np.nonzero(np.isfinite(g.final))[0]:
        for d, t, c in start_arcs:
            arcs.append((int(f), d + n, t, c + float(g.final[f])))
    self_tid = list(g.self_tid) * 2
    final = list(g.final) + [np.inf] * n
    return _build(self_tid, final, arcs)


# ------------------------------------------------------------------------------ storage
def write_graphs(items: Iterable[tuple[str, TrainingGraph]], path: str | os.PathLike) -> int:
    """Write the graphs of a job as one ``.npz`` archive (atomically); returns how many."""
    utts, nodes, arcs = [], [0], [0]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("self_tid", "final", "arc_start", "arc_dst", "arc_tid", "arc_cost")}
    for utt, g in items:
        utts.append(utt)
        nodes.append(nodes[-1] + g.num_nodes)
        arcs.append(arcs[-1] + g.num_arcs)
        for k in parts:
            parts[k].append(getattr(g, k))
    arrays = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
    buf = io.BytesIO()
    np.savez_compressed(buf, utts=np.array(utts, dtype=str), node_off=np.array(nodes, dtype=np.int64),
                        arc_off=np.array(arcs, dtype=np.int64), **arrays)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return len(utts)


def read_graphs(path: str | os.PathLike) -> Iterator[tuple[str, TrainingGraph]]:
    """Iterate ``(utt, TrainingGraph)`` from a file written by :func:`write_graphs`."""
    with np.load(path) as z:
        utts, no, ao = z["utts"], z["node_off"], z["arc_off"]
        a = {k: z[k] for k in ("self_tid", "final", "arc_start", "arc_dst", "arc_tid", "arc_cost")}
    for i, utt in enumerate(utts):
        n0, n1, a0, a1 = no[i], no[i + 1], ao[i], ao[i + 1]
        yield str(utt), TrainingGraph(a["self_tid"][n0:n1], a["final"][n0:n1],
                                      a["arc_start"][n0 + i:n1 + i + 1], a["arc_dst"][a0:a1],
                                      a["arc_tid"][a0:a1], a["arc_cost"][a0:a1])


def equal_align(g: TrainingGraph, num_frames: int, seed: int | str, num_retries: int = 10) -> np.ndarray | None:
    """Kaldi's EqualAlign: a random path (no self-loops), self-loops spread evenly to fill the frames.

    Pronunciation/silence choices are random with a per-utterance seed (a string is hashed with
    crc32); None when no path of at most ``num_frames`` arcs is found in ``num_retries`` tries
    (then the shortest path is tried).
    """
    if isinstance(seed, str):
        seed = zlib.crc32(seed.encode())
    rng = np.random.default_rng(seed)
    for attempt in range(num_retries + 1):
        path = _random_path(g, rng) if attempt < num_retries else _shortest_path(g)
        if path is None or len(path) > num_frames:
            continue
        nodes = [g.arc_dst[a] for a in path]
        loops = [i for i, n in enumerate(nodes) if g.self_tid[n] > 0]
        extra = num_frames - len(path)
        if extra > 0 and not loops:
            continue
        out = []
        for i, a in enumerate(path):
            out.append(int(g.arc_tid[a]))
            if extra > 0 and g.self_tid[nodes[i]] > 0:
                r = loops.index(i)
                k = extra // len(loops) + (1 if r < extra % len(loops) else 0)
                out += [int(g.self_tid[nodes[i]])] * k
        return np.array(out, dtype=np.int32)
    return None


def _random_path(g: TrainingGraph, rng: np.random.Generator, max_len: int = 100000) -> list[int] | None:
    n, path = 0, []
    while len(path) < max_len:
        a0, a1 = int(g.arc_start[n]), int(g.arc_start[n + 1])
        k = a1 - a0 + (1 if np.isfinite(g.final[n]) and path else 0)
        if k == 0:
            return None
        c = int(rng.integers(k))
        if c >= a1 - a0:
            return path
        path.append(a0 + c)
        n = int(g.arc_dst[a0 + c])
    return None


def _shortest_path(g: TrainingGraph) -> list[int] | None:
    back = {0: None}
    frontier = [0]
    while frontier:
        nxt = []
        for n in frontier:
            if n and np.isfinite(g.final[n]):
                path = []
                while back[n] is not None:
                    path.append(back[n])
                    n = _src_of(g, back[n])
                return path[::-1]
            for a in range(g.arc_start[n], g.arc_start[n + 1]):
                d = int(g.arc_dst[a])
                if d not in back:
                    back[d] = a
                    nxt.append(d)
        frontier = nxt
    return None


def _src_of(g: TrainingGraph, arc: int) -> int:
    return int(np.searchsorted(g.arc_start, arc, side="right") - 1)
