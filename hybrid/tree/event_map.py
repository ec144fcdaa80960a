"""Kaldi event maps: the decision trees that map (phone context, pdf-class) to pdf-ids.

An *event* maps keys to values: key ``-1`` (:data:`PDF_CLASS`) is the pdf-class, keys
``0 .. N-1`` are the phones at each context position (0 = no phone, e.g. at an utterance edge).
Three node kinds, with Kaldi's text form:

- ``CE a`` constant: answer ``a``;
- ``TE k n ( c0 c1 ... )`` table on key ``k`` (``NULL`` for absent children);
- ``SE k [ yes-set ] { yes no }`` split: ``yes`` if the value of ``k`` is in the set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from hybrid.io.kaldi_text import KaldiTextReader

PDF_CLASS = -1  # Kaldi's kPdfClass


class EventMap:
    def map(self, event: Mapping[int, int]) -> int | None:
        """The answer for a fully specified event, or None where the tree has no answer."""
        raise NotImplementedError

    def multimap(self, event: Mapping[int, int], out: set[int]) -> None:
        """Add to ``out`` every answer reachable when keys absent from ``event`` are free."""
        raise NotImplementedError

    def answers(self) -> set[int]:
        out: set[int] = set()
        self.multimap({}, out)
        return out

    def write(self) -> str:
        raise NotImplementedError


@dataclass
class ConstantEventMap(EventMap):
    answer: int

    def map(self, event):
        return self.answer

    def multimap(self, event, out):
        out.add(self.answer)

    def write(self) -> str:
        return f"CE {self.answer} "


@dataclass
class TableEventMap(EventMap):
    key: int
    table: list[EventMap | None]

    def map(self, event):
        v = event.get(self.key)
        if v is None:
            raise KeyError(f"event lacks key {self.key}")
        if 0 <= v < len(self.table) and self.table[v] is not None:
            return self.table[v].map(event)
        return None

    def multimap(self, event, out):
        v = event.get(self.key)
        if v is None:
            for child in self.table:
                if child is not None:
                    child.multimap(event, out)
        elif 0 <= v < len(self.table) and self.table[v] is not None:
            self.table[v].multimap(event, out)

    def write(self) -> str:
        inner = "".join("NULL " if c is None else c.write() for c in self.table)
        return f"TE {self.key} {len(self.table)} ( {inner}) "


@dataclass
class SplitEventMap(EventMap):
    key: int
    yes_set: frozenset[int]
    yes: EventMap
    no: EventMap
    _sorted: list[int] = field(default_factory=list, repr=False)

    def map(self, event):
        v = event.get(self.key)
        if v is None:
            raise KeyError(f"event lacks key {self.key}")
        return (self.yes if v in self.yes_set else self.no).map(event)

    def multimap(self, event, out):
        v = event.get(self.key)
        if v is None:
            self.yes.multimap(event, out)
            self.no.multimap(event, out)
        else:
            (self.yes if v in self.yes_set else self.no).multimap(event, out)

    def write(self) -> str:
        ys = " ".join(str(x) for x in sorted(self.yes_set))
        return f"SE {self.key} [ {ys} ] {{ {self.yes.write()}{self.no.write()}}} "


def read_event_map(r: KaldiTextReader) -> EventMap | None:
    tok = r.next()
    if tok == "NULL":
        return None
    if tok == "CE":
        return ConstantEventMap(r.int())
    if tok == "TE":
        key, size = r.int(), r.int()
        r.expect("(")
        table = [read_event_map(r) for _ in range(size)]
        r.expect(")")
        return TableEventMap(key, table)
    if tok == "SE":
        key = r.int()
        r.expect("[")
        ys = []
        while (t := r.next()) != "]":
            ys.append(int(t))
        r.expect("{")
        yes = read_event_map(r)
        no = read_event_map(r)
        r.expect("}")
        if yes is None or no is None:
            raise r.error("SE children may not be NULL")
        return SplitEventMap(key, frozenset(ys), yes, no)
    raise r.error(f"expected CE, TE, SE or NULL, got {tok!r}")


def renumber_answers(em: EventMap, mapping: Mapping[int, int]) -> EventMap:
    """Copy of ``em`` with every answer ``a`` replaced by ``mapping[a]``."""
    if isinstance(em, ConstantEventMap):
        return ConstantEventMap(mapping[em.answer])
    if isinstance(em, TableEventMap):
        return TableEventMap(em.key, [None if c is None else renumber_answers(c, mapping) for c in em.table])
    if isinstance(em, SplitEventMap):
        return SplitEventMap(em.key, em.yes_set, renumber_answers(em.yes, mapping), renumber_answers(em.no, mapping))
    raise TypeError(type(em))


def table_of(key: int, children: Mapping[int, EventMap], size: int | None = None) -> TableEventMap:
    size = size if size is not None else (max(children) + 1 if children else 0)
    table: list[EventMap | None] = [None] * size
    for k, v in children.items():
        table[k] = v
    return TableEventMap(key, table)


def phones_in(values: Iterable[int]) -> list[int]:
    return sorted(set(values))
