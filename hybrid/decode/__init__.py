"""Lattice-generating beam-search decoder (Kaldi's LatticeFasterDecoder) and word lattices.

The decoder sees acoustic scores only as a frames x pdfs matrix of log-likelihoods.
"""

from hybrid.decode.decoder import DecodeResult, DecoderOptions, decode_utterance
from hybrid.decode.lattice import (
    BestPath,
    Lattice,
    LatticeWriter,
    iter_lattices,
    lattice_best_path,
    lattice_to_text,
    read_compact_lattice,
    write_lattices,
)

__all__ = [
    "DecodeResult", "DecoderOptions", "decode_utterance", "BestPath", "Lattice", "LatticeWriter",
    "iter_lattices", "lattice_best_path", "lattice_to_text", "read_compact_lattice", "write_lattices",
]
