"""Decode one utterance: scores matrix + compact graph -> best path and word lattice."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hybrid.decode.faster import _decode, _raw_lattice
from hybrid.decode.lattice import Lattice, determinize_lattice_pruned, lattice_best_path, lattice_from_raw
from hybrid.fst.compact import CompactGraph

INT32_MAX = 2147483647


@dataclass
class DecoderOptions:
    """Kaldi's LatticeFasterDecoderConfig (same names and defaults) plus the acoustic scale."""

    beam: float = 16.0
    max_active: int = INT32_MAX
    min_active: int = 200
    lattice_beam: float = 10.0
    prune_interval: int = 25
    beam_delta: float = 0.5
    prune_scale: float = 0.1
    acoustic_scale: float = 0.1
    allow_partial: bool = False
    determinize_lattice: bool = True

    def check(self) -> None:
        """The constraints Kaldi's LatticeFasterDecoderConfig::Check() enforces."""
        if not (self.beam > 0 and self.max_active > 1 and self.lattice_beam > 0
                and self.min_active <= self.max_active and self.prune_interval > 0 and self.beam_delta > 0
                and 0 < self.prune_scale < 1):
            raise ValueError(f"invalid decoder options: {self}")


@dataclass
class DecodeResult:
    """Best path (words, transition-id alignment, unscaled graph/acoustic costs) and lattice.

    ``acoustic_cost`` is unscaled (-sum of log-likelihoods); the decoder's objective is
    ``graph_cost + acoustic_scale * acoustic_cost`` (= ``total_cost``, as Kaldi logs it).
    """

    words: list[int]
    alignment: list[int]
    graph_cost: float
    acoustic_cost: float
    total_cost: float
    reached_final: bool
    num_frames: int
    lattice: Lattice
    ok: bool = True
    stats: dict = field(default_factory=dict)


def _num_input_eps(graph: CompactGraph) -> np.ndarray:
    src = np.repeat(np.arange(graph.num_states), np.diff(graph.arc_start))
    return np.bincount(src[graph.ilabel == 0], minlength=graph.num_states).astype(np.int32)


def decode_utterance(graph: CompactGraph, loglikes: np.ndarray, tid2pdf: np.ndarray,
                     opts: DecoderOptions | None = None) -> DecodeResult:
    """Run the lattice beam search over ``loglikes`` (T x num_pdfs, log-likelihoods).

    ``tid2pdf[tid]`` maps a transition-id (graph input label) to its column of ``loglikes``.
    Returns ``ok=False`` (and an empty result) when no token survives or, without
    ``allow_partial``, when no final state is reached.
    """
    opts = opts or DecoderOptions()
    opts.check()
    loglikes = np.ascontiguousarray(loglikes, dtype=np.float32)
    tid2pdf = np.ascontiguousarray(tid2pdf, dtype=np.int32)
    n_ieps = getattr(graph, "_num_input_eps", None)  # cached on the graph object
    if n_ieps is None or n_ieps.shape[0] != graph.num_states:
        n_ieps = _num_input_eps(graph)
        graph._num_input_eps = n_ieps  # type: ignore[attr-defined]
    if graph.num_states == 0 or graph.start < 0:
        raise ValueError("empty decoding graph")
    max_il = int(graph.ilabel.max()) if graph.num_arcs else 0
    if max_il >= tid2pdf.shape[0]:
        raise ValueError(f"graph has transition-id {max_il} but the model has only {tid2pdf.shape[0] - 1}")
    (ntok, t_state, t_cost, t_extra, t_links, l_dest, l_ilabel, l_olabel, l_graph, l_ac, l_next,
     frame_start, fcost, reached_final, final_best) = _decode(
        graph.arc_start, graph.ilabel, graph.olabel, graph.weight, graph.nextstate, graph.final,
        int(graph.start), n_ieps, loglikes, tid2pdf, float(opts.acoustic_scale), float(opts.beam),
        int(opts.max_active), int(opts.min_active), float(opts.lattice_beam), int(opts.prune_interval),
        float(opts.beam_delta), float(opts.prune_scale))
    T = loglikes.shape[0]
    raw = _raw_lattice(t_extra, t_links, l_dest, l_ilabel, l_olabel, l_graph, l_ac, l_next, frame_start, fcost)
    lat = lattice_from_raw(*raw, acoustic_scale=float(opts.acoustic_scale))
    stats = {"tokens": int(ntok), "links": int(l_dest.shape[0]), "raw_lattice_states": lat.num_states,
             "raw_lattice_arcs": lat.num_arcs, "determinized": False}
    if opts.determinize_lattice and opts.acoustic_scale > 0:
        lat, stats["determinized"] = determinize_lattice_pruned(lat, float(opts.acoustic_scale),
                                                                float(opts.lattice_beam))
    stats["lattice_states"], stats["lattice_arcs"] = lat.num_states, lat.num_arcs
    bp = lattice_best_path(lat, 1.0, float(opts.acoustic_scale))
    if bp is None:
        return DecodeResult([], [], np.inf, np.inf, np.inf, bool(reached_final), T, lat, ok=False, stats=stats)
    ok = bool(reached_final) or opts.allow_partial
    total = bp.graph_cost + opts.acoustic_scale * bp.acoustic_cost
    return DecodeResult(bp.words, bp.alignment, bp.graph_cost, bp.acoustic_cost, total, bool(reached_final), T,
                        lat, ok=ok, stats=stats)
