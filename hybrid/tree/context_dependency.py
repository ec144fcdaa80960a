"""Context dependency (Kaldi's ``ContextDependency``): N, P and the pdf event map.

``compute(window, pdf_class)`` maps a phone window of length N (central phone at position P;
0 for "no phone") and a pdf-class to a pdf-id. Tree files are written in Kaldi's text format
(``ContextDependency N P ToPdf <event-map> EndContextDependency``), readable by Kaldi's tools.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from hybrid.io.atomic import atomic_write
from hybrid.io.kaldi_text import KaldiTextReader
from hybrid.tree.event_map import (
    PDF_CLASS,
    ConstantEventMap,
    EventMap,
    TableEventMap,
    read_event_map,
    table_of,
)


@dataclass
class ContextDependency:
    context_width: int  # N
    central_position: int  # P
    to_pdf: EventMap

    def __post_init__(self) -> None:
        answers = self.to_pdf.answers()
        self.num_pdfs = (max(answers) + 1) if answers else 0

    def compute(self, window: Sequence[int], pdf_class: int) -> int:
        """pdf-id for a phone window and pdf-class, or -1 when the tree has no answer."""
        if len(window) != self.context_width:
            raise ValueError(f"window {tuple(window)} has length {len(window)}, expected {self.context_width}")
        if window[self.central_position] == 0:
            return -1
        event = {i: int(p) for i, p in enumerate(window)}
        event[PDF_CLASS] = int(pdf_class)
        ans = self.to_pdf.map(event)
        return -1 if ans is None else ans

    def pdfs_for(self, phone: int, pdf_class: int) -> set[int]:
        """Every pdf reachable with the central phone and pdf-class fixed (other positions free)."""
        out: set[int] = set()
        self.to_pdf.multimap({self.central_position: phone, PDF_CLASS: pdf_class}, out)
        return out

    # ------------------------------------------------------------ I/O
    def to_text(self) -> str:
        return (f"ContextDependency {self.context_width} {self.central_position} ToPdf "
                f"{self.to_pdf.write()}EndContextDependency \n")

    def write(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as f:
            f.write(self.to_text())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ContextDependency":
        return cls.parse_reader(KaldiTextReader.from_file(path))

    @classmethod
    def parse_reader(cls, r: KaldiTextReader) -> "ContextDependency":
        r.expect("ContextDependency")
        n, p = r.int(), r.int()
        r.expect("ToPdf")
        em = read_event_map(r)
        r.expect("EndContextDependency")
        if em is None:
            raise r.error("empty tree")
        return cls(n, p, em)


def read_tree(path: str | os.PathLike) -> ContextDependency:
    return ContextDependency.read(path)


def write_tree(ctx: ContextDependency, path: str | os.PathLike) -> None:
    ctx.write(path)


def monophone_context_dependency_shared(phone_sets: Sequence[Sequence[int]],
                                        num_pdf_classes: dict[int, int]) -> ContextDependency:
    """Kaldi's ``MonophoneContextDependencyShared`` (``gmm-init-mono --shared-phones``).

    Each set of phones shares one pdf per pdf-class; pdfs are numbered set by set, in the order
    given, pdf-classes within a set in order (a set whose phones have one pdf-class gets one
    pdf). N=1, P=0.
    """
    next_pdf = 0
    children: dict[int, EventMap] = {}
    for phones in phone_sets:
        n = max(num_pdf_classes[p] for p in phones)
        if n == 1:
            stub: EventMap = ConstantEventMap(next_pdf)
        else:
            stub = table_of(PDF_CLASS, {c: ConstantEventMap(next_pdf + c) for c in range(n)})
        next_pdf += n
        for p in phones:
            if p in children:
                raise ValueError(f"phone {p} is in two phone sets")
            children[p] = stub
    return ContextDependency(1, 0, table_of(0, children))


def monophone_context_dependency(phones: Sequence[int], num_pdf_classes: dict[int, int]) -> ContextDependency:
    """One set per phone (``gmm-init-mono`` without ``--shared-phones``)."""
    return monophone_context_dependency_shared([[p] for p in phones], num_pdf_classes)


__all__ = [
    "ContextDependency",
    "TableEventMap",
    "read_tree",
    "write_tree",
    "monophone_context_dependency",
    "monophone_context_dependency_shared",
]
