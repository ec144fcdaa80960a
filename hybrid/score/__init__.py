"""Scoring: WER (compute-wer), the LMWT x WIP lattice scoring sweep, word CTMs."""

from hybrid.score.wer import WerStats, compute_wer, read_text
from hybrid.score.sweep import SweepResult, score_lattices
from hybrid.score.ctm import align_words, lattices_to_ctm

__all__ = ["WerStats", "compute_wer", "read_text", "SweepResult", "score_lattices", "align_words",
           "lattices_to_ctm"]
