"""Decoding-graph construction (HCLG) in Kaldi's order, on kaldifst.

- :mod:`hybrid.fst.ops`: FST helpers kaldifst lacks (table compose, rmsymbols, push-special,
  rm-eps-local, is-stochastic, const-FST read/write).
- :mod:`hybrid.fst.hmm_fst`: H transducer (make-h-transducer) and HMM self-loops (add-self-loops).
- :mod:`hybrid.fst.graph`: LG, CLG, HCLGa, HCLG and ``mkgraph`` (utils/mkgraph.sh).
- :mod:`hybrid.fst.compact`: graph as numpy arrays for the decoder (imported on its own).
"""

from hybrid.fst.graph import build_hclg, make_clg, make_hclga, make_lg, mkgraph, read_ilabel_info, write_ilabel_info
from hybrid.fst.hmm_fst import add_self_loops, make_h_transducer
from hybrid.fst.ops import (is_stochastic, push_special, read_fst, remove_eps_local, rm_symbols, table_compose,
                            write_fst)

__all__ = [
    "build_hclg", "make_clg", "make_hclga", "make_lg", "mkgraph", "read_ilabel_info", "write_ilabel_info",
    "add_self_loops", "make_h_transducer",
    "is_stochastic", "push_special", "read_fst", "remove_eps_local", "rm_symbols", "table_compose", "write_fst",
]
