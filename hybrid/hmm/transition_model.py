"""Kaldi's TransitionModel: transition-states, transition-ids and their probabilities.

A *transition-state* is a tuple (phone, hmm-state, forward-pdf, self-loop-pdf); tuples are
sorted and numbered from 1. Each transition out of a transition-state's HMM state gets a
*transition-id*, numbered from 1 consecutively over transition-states. Alignments are
sequences of transition-ids, so they identify phone, HMM state, pdf and arc. The numbering
here is Kaldi's exactly (tests compare with Kaldi's own TransitionModel).

Per-transition-id lookups are numpy arrays indexed by transition-id (index 0 unused), ready
for numba kernels: ``tid2pdf``, ``tid2phone``, ``tid2hmm_state``, ``tid2tstate``, ``tid2dst``,
``tid_is_self_loop``, ``tid_is_final``, ``log_probs``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from hybrid.hmm.topology import NO_PDF, Topology
from hybrid.io.kaldi_text import KaldiTextReader, format_vector


@dataclass(frozen=True, order=True)
class Tuple:
    phone: int
    hmm_state: int
    forward_pdf: int
    self_loop_pdf: int


class TransitionModel:
    """Transition model built from a topology and a context dependency (or read from a file)."""

    def __init__(self, topo: Topology, tuples: list[Tuple], log_probs: np.ndarray | None = None) -> None:
        self.topo = topo
        self.tuples = sorted(tuples)
        self._compute_derived()
        if log_probs is None:
            log_probs = np.zeros(self.num_transition_ids + 1)
            for tid in range(1, self.num_transition_ids + 1):
                log_probs[tid] = np.log(self._topo_transition(tid)[1])
        if len(log_probs) != self.num_transition_ids + 1:
            raise ValueError(f"log_probs has {len(log_probs)} entries, expected {self.num_transition_ids + 1}")
        self.log_probs = np.asarray(log_probs, dtype=np.float64).copy()
        self.log_probs[0] = 0.0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_context_dependency(cls, topo: Topology, ctx_dep) -> "TransitionModel":
        return cls(topo, compute_tuples(topo, ctx_dep))

    def _topo_transition(self, tid: int) -> tuple[int, float]:
        t = self.tuples[self.tid2tstate[tid] - 1]
        idx = tid - self.state2id[self.tid2tstate[tid]]
        return self.topo.entry(t.phone)[t.hmm_state].transitions[idx]

    def _compute_derived(self) -> None:
        ns = len(self.tuples)
        self.state2id = np.zeros(ns + 2, dtype=np.int32)
        cur = 1
        for s in range(1, ns + 2):
            self.state2id[s] = cur
            if s <= ns:
                t = self.tuples[s - 1]
                cur += len(self.topo.entry(t.phone)[t.hmm_state].transitions)
        self.num_transition_ids = cur - 1
        self.num_transition_states = ns
        n = cur
        self.tid2tstate = np.zeros(n, dtype=np.int32)
        self.tid2pdf = np.full(n, -1, dtype=np.int32)
        self.tid2phone = np.zeros(n, dtype=np.int32)
        self.tid2hmm_state = np.zeros(n, dtype=np.int32)
        self.tid2dst = np.zeros(n, dtype=np.int32)
        self.tid_is_self_loop = np.zeros(n, dtype=np.bool_)
        self.tid_is_final = np.zeros(n, dtype=np.bool_)
        self.num_pdfs = 0
        for s in range(1, ns + 1):
            t = self.tuples[s - 1]
            entry = self.topo.entry(t.phone)
            self.num_pdfs = max(self.num_pdfs, t.forward_pdf + 1, t.self_loop_pdf + 1)
            for i, (dst, _p) in enumerate(entry[t.hmm_state].transitions):
                tid = self.state2id[s] + i
                self.tid2tstate[tid] = s
                self.tid2phone[tid] = t.phone
                self.tid2hmm_state[tid] = t.hmm_state
                self.tid2dst[tid] = dst
                self.tid_is_self_loop[tid] = dst == t.hmm_state
                self.tid_is_final[tid] = dst == len(entry) - 1
                self.tid2pdf[tid] = t.self_loop_pdf if dst == t.hmm_state else t.forward_pdf
        self._tuple_index = {t: i + 1 for i, t in enumerate(self.tuples)}

    # ------------------------------------------------------------------ queries
    @property
    def phones(self) -> list[int]:
        return self.topo.phones

    def is_hmm(self) -> bool:
        return all(t.forward_pdf == t.self_loop_pdf for t in self.tuples)

    def tstate_of(self, phone: int, hmm_state: int, forward_pdf: int, self_loop_pdf: int) -> int:
        """Transition-state (1-based) of a tuple; KeyError if the model has none."""
        return self._tuple_index[Tuple(phone, hmm_state, forward_pdf, self_loop_pdf)]

    def tstate_tids(self, tstate: int) -> range:
        """Transition-ids of a transition-state, in the order of the topology's transitions."""
        return range(int(self.state2id[tstate]), int(self.state2id[tstate + 1]))

    def pair_to_tid(self, tstate: int, trans_index: int) -> int:
        return int(self.state2id[tstate]) + trans_index

    def self_loop_tid(self, tstate: int) -> int:
        """The self-loop transition-id of a transition-state, or 0 when it has none."""
        for tid in self.tstate_tids(tstate):
            if self.tid_is_self_loop[tid]:
                return tid
        return 0

    def self_loop_log_prob(self, tstate: int) -> float:
        tid = self.self_loop_tid(tstate)
        return float(self.log_probs[tid]) if tid else float("-inf")

    def non_self_loop_log_prob(self, tstate: int) -> float:
        """log(1 - P(self-loop)) of a transition-state (0 when it has no self-loop)."""
        tid = self.self_loop_tid(tstate)
        if not tid:
            return 0.0
        return float(np.log1p(-np.exp(self.log_probs[tid])))

    def transition_log_prob(self, tid: int) -> float:
        return float(self.log_probs[tid])

    def phone_of_tid(self, tid: int) -> int:
        return int(self.tid2phone[tid])

    # ------------------------------------------------------------------ training
    def mle_update(self, counts: np.ndarray, floor: float = 0.01, mincount: float = 5.0) -> tuple[float, float]:
        """Kaldi's MleUpdate: ML transition probabilities per transition-state, floored.

        ``counts`` is indexed by transition-id (length num_transition_ids + 1). Returns
        (objective improvement, total count). States with fewer than ``mincount`` counts
        keep their probabilities.
        """
        counts = np.asarray(counts, dtype=np.float64)
        if len(counts) != self.num_transition_ids + 1:
            raise ValueError(f"counts has {len(counts)} entries, expected {self.num_transition_ids + 1}")
        objf_impr = 0.0
        tot = 0.0
        for s in range(1, self.num_transition_states + 1):
            tids = self.tstate_tids(s)
            c = counts[tids.start:tids.stop]
            tstate_tot = c.sum()
            tot += tstate_tot
            if tstate_tot < mincount or len(c) == 1:
                continue
            new = c / tstate_tot
            for _ in range(3):
                new = new / new.sum()
                new = np.maximum(new, floor)
            old = self.log_probs[tids.start:tids.stop]
            objf_impr += float(np.sum(c * (np.log(new) - old)))
            self.log_probs[tids.start:tids.stop] = np.log(new)
        if not np.all(np.isfinite(self.log_probs)):
            raise FloatingPointError("transition log-probabilities are inf or NaN after the update")
        return objf_impr, tot

    # ------------------------------------------------------------------ I/O (Kaldi text)
    def to_text(self) -> str:
        hmm = self.is_hmm()
        lines = ["<TransitionModel> ", self.topo.to_text().rstrip("\n")]
        lines.append(f"{'<Triples>' if hmm else '<Tuples>'} {len(self.tuples)} ")
        for t in self.tuples:
            lines.append(f"{t.phone} {t.hmm_state} {t.forward_pdf}" + ("" if hmm else f" {t.self_loop_pdf}") + " ")
        lines.append("</Triples> " if hmm else "</Tuples> ")
        lines.append("<LogProbs> ")
        lines.append(" " + format_vector(self.log_probs.astype(np.float32)))
        lines.append("</LogProbs> ")
        lines.append("</TransitionModel> ")
        return "\n".join(lines) + "\n"

    @classmethod
    def parse_reader(cls, r: KaldiTextReader) -> "TransitionModel":
        r.expect("<TransitionModel>")
        topo = Topology.parse_reader(r)
        tok = r.next()
        if tok not in ("<Triples>", "<Tuples>"):
            raise r.error(f"expected <Triples> or <Tuples>, got {tok!r}")
        n = r.int()
        tuples = []
        for _ in range(n):
            if tok == "<Triples>":
                ph, hs, pdf = r.int(), r.int(), r.int()
                tuples.append(Tuple(ph, hs, pdf, pdf))
            else:
                tuples.append(Tuple(r.int(), r.int(), r.int(), r.int()))
        r.expect("</Triples>" if tok == "<Triples>" else "</Tuples>")
        log_probs = None
        if r.maybe("<LogProbs>"):
            log_probs = r.vector()
            r.expect("</LogProbs>")
        r.expect("</TransitionModel>")
        return cls(topo, tuples, log_probs)


def compute_tuples(topo: Topology, ctx_dep) -> list[Tuple]:
    """Kaldi's ComputeTuples: every (phone, hmm-state, forward-pdf, self-loop-pdf) the tree allows."""
    tuples: set[Tuple] = set()
    phones = topo.phones
    if topo.is_hmm():
        for phone in phones:
            for j, st in enumerate(topo.entry(phone)):
                if st.forward_pdf_class == NO_PDF:
                    continue
                for pdf in ctx_dep.pdfs_for(phone, st.forward_pdf_class):
                    tuples.add(Tuple(phone, j, pdf, pdf))
        return sorted(tuples)
    # Separate self-loop pdfs (chain topologies): enumerate the contexts to find which
    # (forward, self-loop) pdf pairs occur together.
    n, p = ctx_dep.context_width, ctx_dep.central_position
    values = [0] + list(phones)
    for phone in phones:
        states = [(j, st) for j, st in enumerate(topo.entry(phone)) if st.forward_pdf_class != NO_PDF]
        for ctx in itertools.product(values, repeat=n - 1):
            window = list(ctx[:p]) + [phone] + list(ctx[p:])
            for j, st in states:
                f = ctx_dep.compute(window, st.forward_pdf_class)
                s = ctx_dep.compute(window, st.self_loop_pdf_class)
                if f >= 0 and s >= 0:
                    tuples.add(Tuple(phone, j, f, s))
    return sorted(tuples)


def read_transition_model(path) -> TransitionModel:
    """Read the transition model at the start of a Kaldi text ``.mdl`` file (the acoustic model
    that follows it is left unread)."""
    return TransitionModel.parse_reader(KaldiTextReader.from_file(path))
