"""Phone HMMs at the pdf level, in Kaldi's *reordered* form, shared by den and num graphs.

Kaldi builds chain graphs with ``reorder=true``: a state's self-loops come after the forward
transition that leaves it. With the chain topology (one emitting state, forward pdf-class 0,
self-loop pdf-class 1) a phone of d frames emits ``[fwd, sl, sl, ...]``. Transition
probabilities are not used (weight one), as in Kaldi's CreateDenominatorFst and supervision.

A phone instance is a small graph over *nodes* ``(j, i)``: the HMM is in state j after a
forward transition out of state i, whose self-loops may still follow. The entry node is
``(0, None)``; exit nodes are ``(F, i)`` with F the final (non-emitting) state. Arcs:

- ``(j, i) --sl(i)--> (j, i)`` when state i has a self-loop;
- ``(j, i) --fwd(j)--> (k, j)`` for each forward transition j → k.

The topology and tree are duck-typed (``hybrid.hmm.Topology``/``hybrid.tree.ContextDependency``
fit) so this package needs nothing but torch and numpy.
"""

from __future__ import annotations

from typing import Callable, Hashable, Sequence

Node = tuple  # (j, i) with i None at entry


class PhoneHmms:
    """pdf-level reordered phone HMMs for a topology and a context-dependency tree.

    ``pdf_of(window, pdf_class) -> pdf`` is ``ctx_dep.compute``; windows have length
    ``context_width`` with the central phone at ``central_position``. Only left context is
    supported (central position = N - 1: monophone or left-biphone trees, as chain uses).
    """

    def __init__(self, topo, context_width: int, central_position: int,
                 pdf_of: Callable[[Sequence[int], int], int]) -> None:
        if central_position != context_width - 1:
            raise ValueError(f"only left-context trees are supported (N={context_width}, P={central_position})")
        self.topo = topo
        self.N = context_width
        self.pdf_of = pdf_of
        self._cache: dict = {}

    @classmethod
    def from_tree(cls, topo, ctx_dep) -> "PhoneHmms":
        return cls(topo, ctx_dep.context_width, ctx_dep.central_position, ctx_dep.compute)

    def arcs(self, window: tuple[int, ...]) -> tuple[list[tuple[Node, Node, int]], list[tuple[Node, int]], Node]:
        """For a phone in context ``window`` (left phones..., phone): (internal arcs
        ``(from_node, to_node, pdf)``, exit self-loop info is part of the arcs, entry arcs
        ``(to_node, pdf)`` leaving the entry node, final HMM state F)."""
        key = tuple(window)
        if key in self._cache:
            return self._cache[key]
        phone = key[-1]
        entry = self.topo.entry(phone)
        F = len(entry) - 1

        def pdf(cls_):
            p = self.pdf_of(key, cls_)
            if p is None or p < 0:
                raise ValueError(f"tree has no pdf for context {key}, pdf-class {cls_}")
            return int(p)

        fwd = {j: pdf(st.forward_pdf_class) for j, st in enumerate(entry[:F])}
        has_sl = {j: any(d == j for d, _ in st.transitions) for j, st in enumerate(entry[:F])}
        sl = {j: pdf(st.self_loop_pdf_class) for j, st in enumerate(entry[:F]) if has_sl[j]}
        nodes: set = set()
        entry_arcs = [((k, 0), fwd[0]) for k, _ in entry[0].transitions if k != 0]
        stack = [n for n, _ in entry_arcs]
        internal = []
        while stack:
            n = stack.pop()
            if n in nodes:
                continue
            nodes.add(n)
            j, i = n
            if i in sl:
                internal.append((n, n, sl[i]))
            if j != F:
                for k, _ in entry[j].transitions:
                    if k != j:
                        internal.append((n, (k, j), fwd[j]))
                        stack.append((k, j))
        out = (internal, entry_arcs, F)
        self._cache[key] = out
        return out


def phone_window(seq: Sequence[int], k: int, N: int) -> tuple[int, ...]:
    """Left-context window of length N for the k-th phone of a sequence (0 before the start)."""
    return tuple(seq[k - N + 1 + m] if k - N + 1 + m >= 0 else 0 for m in range(N))


def node_key(*parts: Hashable) -> tuple:
    return tuple(parts)


class _State:
    def __init__(self, fwd: int, sl: int, transitions: list[tuple[int, float]]):
        self.forward_pdf_class, self.self_loop_pdf_class, self.transitions = fwd, sl, transitions


class ChainTopology:
    """Kaldi's chain topology for every phone (steps/nnet3/chain/gen_topo.py): one emitting
    state with forward pdf-class 0 and self-loop pdf-class 1, then the final state. Duck-types
    the parts of ``hybrid.hmm.Topology`` that :class:`PhoneHmms` uses."""

    def __init__(self, phones: Sequence[int]) -> None:
        self.phones = sorted(int(p) for p in phones)
        self._entry = [_State(0, 1, [(0, 0.5), (1, 0.5)]), _State(-1, -1, [])]

    def entry(self, phone: int):
        if phone not in self.phones:
            raise KeyError(f"phone {phone} is not covered by the topology")
        return self._entry

    def num_pdf_classes(self, phone: int) -> int:
        return 2

    def to_text(self) -> str:
        """The ``topo`` file text, as Kaldi's chain gen_topo.py writes it."""
        return ("<Topology>\n<TopologyEntry>\n<ForPhones>\n" + " ".join(map(str, self.phones)) +
                "\n</ForPhones>\n<State> 0 <ForwardPdfClass> 0 <SelfLoopPdfClass> 1 <Transition> 0 0.5 "
                "<Transition> 1 0.5 </State>\n<State> 1 </State>\n</TopologyEntry>\n</Topology>\n")
