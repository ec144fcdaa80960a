"""Human-readable views of a context-dependency tree (``hybrid draw-tree``).

:func:`tree_leaf_contexts` walks the event map keeping, per key, the set of values still
possible; each leaf is reached by one or more paths, each a conjunction of constraints.
:func:`format_tree_leaves` prints one line per (pdf, path), e.g.::

    pdf 17  pdf-class=1  left={AA_B AE_B ...}  central={AH_I}  right=not{SIL ...}

(``not{...}`` when the complement is shorter; ``*`` when unconstrained; ``<eps>``/0 = no phone.)
:func:`tree_to_dot` gives a Graphviz picture of the tree's nodes (as Kaldi's ``draw-tree``).
"""

from __future__ import annotations

from typing import Mapping

from hybrid.tree.context_dependency import ContextDependency
from hybrid.tree.event_map import PDF_CLASS, ConstantEventMap, EventMap, SplitEventMap, TableEventMap


def _universes(ctx: ContextDependency, phones: list[int], max_classes: int) -> dict[int, frozenset[int]]:
    u = {PDF_CLASS: frozenset(range(max_classes))}
    for pos in range(ctx.context_width):
        u[pos] = frozenset(phones) if pos == ctx.central_position else frozenset([0, *phones])
    return u


def tree_leaf_contexts(ctx: ContextDependency, phones: list[int], max_classes: int
                       ) -> list[tuple[int, dict[int, frozenset[int]]]]:
    """(pdf, constraints) for every reachable path; constraints map key → allowed values."""
    out: list[tuple[int, dict[int, frozenset[int]]]] = []

    def rec(node: EventMap | None, cons: dict[int, frozenset[int]]) -> None:
        if node is None or any(not v for v in cons.values()):
            return
        if isinstance(node, ConstantEventMap):
            out.append((node.answer, cons))
        elif isinstance(node, SplitEventMap):
            cur = cons[node.key]
            rec(node.yes, {**cons, node.key: cur & node.yes_set})
            rec(node.no, {**cons, node.key: cur - node.yes_set})
        elif isinstance(node, TableEventMap):
            for v, child in enumerate(node.table):
                if child is not None and v in cons[node.key]:
                    rec(child, {**cons, node.key: frozenset([v])})
        else:
            raise TypeError(type(node))

    rec(ctx.to_pdf, _universes(ctx, phones, max_classes))
    return sorted(out, key=lambda x: x[0])


def _names(vals: frozenset[int], universe: frozenset[int], names: Mapping[int, str]) -> str:
    if vals == universe:
        return "*"
    comp = universe - vals
    fmt = lambda s: "{" + " ".join(names.get(v, str(v)) for v in sorted(s)) + "}"  # noqa: E731
    return fmt(vals) if len(vals) <= len(comp) else "not" + fmt(comp)


def max_pdf_classes(ctx: ContextDependency) -> int:
    """1 + the largest pdf-class the tree mentions (at least 1)."""
    m = 0

    def rec(node: EventMap | None) -> None:
        nonlocal m
        if isinstance(node, SplitEventMap):
            if node.key == PDF_CLASS and node.yes_set:
                m = max(m, max(node.yes_set) + 1)
            rec(node.yes)
            rec(node.no)
        elif isinstance(node, TableEventMap):
            if node.key == PDF_CLASS:
                m = max(m, len(node.table))
            for c in node.table:
                rec(c)

    rec(ctx.to_pdf)
    return max(m, 1)


def format_tree_leaves(ctx: ContextDependency, phones: list[int], names: Mapping[int, str] | None = None,
                       num_pdf_classes: Mapping[int, int] | None = None) -> str:
    """One line per (pdf, path): the pdf-class and phone contexts that reach it.

    ``num_pdf_classes`` (phone → classes, from the topology) limits the listed pdf-classes to
    those of the central phones; otherwise the tree's largest pdf-class bounds them.
    """
    names = dict(names or {})
    names.setdefault(0, "<eps>")
    max_classes = max(num_pdf_classes.values()) if num_pdf_classes else max_pdf_classes(ctx)
    u = _universes(ctx, phones, max_classes)
    N, P = ctx.context_width, ctx.central_position
    pos_name = {P: "central"}
    if N == 3 and P == 1:
        pos_name.update({0: "left", 2: "right"})
    lines = []
    for pdf, cons in tree_leaf_contexts(ctx, phones, max_classes):
        cls = cons[PDF_CLASS]
        cls_u = u[PDF_CLASS]
        if num_pdf_classes:
            n = max(num_pdf_classes.get(p, 0) for p in cons[P])
            cls, cls_u = frozenset(c for c in cls if c < n), frozenset(range(n))
            if not cls:
                continue
        parts = [f"pdf {pdf}", "pdf-class=" + (",".join(map(str, sorted(cls))) if cls != cls_u else "*")]
        for pos in range(N):
            parts.append(f"{pos_name.get(pos, f'pos{pos}')}={_names(cons[pos], u[pos], names)}")
        lines.append("  ".join(parts))
    return "\n".join(lines) + ("\n" if lines else "")


def tree_to_dot(ctx: ContextDependency, names: Mapping[int, str] | None = None) -> str:
    """Graphviz source of the tree: split nodes show key and yes-set, leaves the pdf-id."""
    names = dict(names or {})
    key_name = {PDF_CLASS: "pdf-class"}
    for pos in range(ctx.context_width):
        key_name[pos] = "central" if pos == ctx.central_position else f"pos{pos}"
    if (ctx.context_width, ctx.central_position) == (3, 1):
        key_name.update({0: "left", 2: "right"})
    lines = ["digraph EventMap {", '  node [fontsize=10];']
    counter = [0]

    def rec(node: EventMap) -> str:
        me = f"n{counter[0]}"
        counter[0] += 1
        if isinstance(node, ConstantEventMap):
            lines.append(f'  {me} [shape=box, label="{node.answer}"];')
        elif isinstance(node, SplitEventMap):
            ys = " ".join((names.get(v, str(v)) if node.key >= 0 else str(v)) for v in sorted(node.yes_set))
            lines.append(f'  {me} [label="{key_name.get(node.key, node.key)} in {{{ys}}}?"];')
            lines.append(f'  {me} -> {rec(node.yes)} [label="yes"];')
            lines.append(f'  {me} -> {rec(node.no)} [label="no"];')
        elif isinstance(node, TableEventMap):
            lines.append(f'  {me} [shape=diamond, label="{key_name.get(node.key, node.key)}"];')
            for v, child in enumerate(node.table):
                if child is not None:
                    lab = names.get(v, str(v)) if node.key >= 0 else str(v)
                    lines.append(f'  {me} -> {rec(child)} [label="{lab}"];')
        return me

    rec(ctx.to_pdf)
    lines.append("}")
    return "\n".join(lines) + "\n"
