"""Kaldi HMM topologies (the ``topo`` file of a lang dir).

Each phone maps to a list of states; every state but the last (the non-emitting final state)
has a forward pdf-class, a self-loop pdf-class (equal to it in ordinary HMMs; different in
chain topologies, written ``<ForwardPdfClass> a <SelfLoopPdfClass> b``) and transitions
``(destination state, probability)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hybrid.io.atomic import atomic_write
from hybrid.io.kaldi_text import KaldiTextReader, _fmt

NO_PDF = -1  # Kaldi's kNoPdf


@dataclass
class HmmState:
    forward_pdf_class: int
    self_loop_pdf_class: int
    transitions: list[tuple[int, float]] = field(default_factory=list)

    @property
    def pdf_class(self) -> int:
        return self.forward_pdf_class


@dataclass
class Topology:
    """Phone → topology entry (list of :class:`HmmState`), as Kaldi's ``HmmTopology``."""

    entries: list[list[HmmState]]
    phone2idx: dict[int, int]

    @property
    def phones(self) -> list[int]:
        return sorted(self.phone2idx)

    def entry(self, phone: int) -> list[HmmState]:
        try:
            return self.entries[self.phone2idx[phone]]
        except KeyError:
            raise KeyError(f"phone {phone} is not covered by the topology") from None

    def num_pdf_classes(self, phone: int) -> int:
        """Number of pdf-classes of a phone (1 + the largest class used, as Kaldi)."""
        m = -1
        for st in self.entry(phone):
            m = max(m, st.forward_pdf_class, st.self_loop_pdf_class)
        return m + 1

    def is_hmm(self) -> bool:
        """True when every state's forward and self-loop pdf-classes are equal."""
        return all(st.forward_pdf_class == st.self_loop_pdf_class for e in self.entries for st in e)

    def min_length(self, phone: int) -> int:
        """Fewest frames a phone can take (shortest path through emitting states)."""
        entry = self.entry(phone)
        n = len(entry)
        best = [10**9] * n
        best[0] = 0
        changed = True
        while changed:
            changed = False
            for s, st in enumerate(entry):
                if best[s] >= 10**9 or st.forward_pdf_class == NO_PDF:
                    continue
                for dst, _ in st.transitions:
                    if best[s] + 1 < best[dst]:
                        best[dst] = best[s] + 1
                        changed = True
        return best[n - 1]

    # ---------------------------------------------------------------- I/O
    @classmethod
    def read(cls, path: str | os.PathLike) -> "Topology":
        return cls.parse_reader(KaldiTextReader.from_file(path))

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> "Topology":
        return cls.parse_reader(KaldiTextReader(text, source))

    @classmethod
    def parse_reader(cls, r: KaldiTextReader) -> "Topology":
        r.expect("<Topology>")
        entries: list[list[HmmState]] = []
        phone2idx: dict[int, int] = {}
        while r.maybe("<TopologyEntry>"):
            r.expect("<ForPhones>")
            phones = []
            while (tok := r.next()) != "</ForPhones>":
                phones.append(int(tok))
            states: list[HmmState] = []
            while r.maybe("<State>"):
                idx = r.int()
                if idx != len(states):
                    raise r.error(f"states must be numbered 0, 1, ...; got {idx}")
                fwd = slf = NO_PDF
                if r.maybe("<PdfClass>"):
                    fwd = slf = r.int()
                elif r.maybe("<ForwardPdfClass>"):
                    fwd = r.int()
                    r.expect("<SelfLoopPdfClass>")
                    slf = r.int()
                trans = []
                while r.maybe("<Transition>"):
                    trans.append((r.int(), r.float()))
                r.expect("</State>")
                states.append(HmmState(fwd, slf, trans))
            r.expect("</TopologyEntry>")
            if not states or states[-1].forward_pdf_class != NO_PDF or states[-1].transitions:
                raise r.error("the last state of a topology entry must be final (no pdf, no transitions)")
            for p in phones:
                if p in phone2idx:
                    raise r.error(f"phone {p} appears in two topology entries")
                phone2idx[p] = len(entries)
            entries.append(states)
        r.expect("</Topology>")
        return cls(entries, phone2idx)

    def to_text(self) -> str:
        out = ["<Topology>"]
        for i, entry in enumerate(self.entries):
            phones = [p for p, j in sorted(self.phone2idx.items()) if j == i]
            out += ["<TopologyEntry>", "<ForPhones>", " ".join(map(str, phones)), "</ForPhones>"]
            for s, st in enumerate(entry):
                line = f"<State> {s} "
                if st.forward_pdf_class != NO_PDF:
                    if st.forward_pdf_class == st.self_loop_pdf_class:
                        line += f"<PdfClass> {st.forward_pdf_class} "
                    else:
                        line += f"<ForwardPdfClass> {st.forward_pdf_class} <SelfLoopPdfClass> {st.self_loop_pdf_class} "
                for dst, p in st.transitions:
                    line += f"<Transition> {dst} {_fmt(p)} "
                out.append(line + "</State>")
            out.append("</TopologyEntry>")
        out.append("</Topology>")
        return "\n".join(out) + "\n"

    def write(self, path: str | os.PathLike) -> None:
        with atomic_write(path) as f:
            f.write(self.to_text())
