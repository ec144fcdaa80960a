"""LF-MMI (chain) training objective: den graph from a phone LM, numerators from alignments,
batched forward-backward in torch (CPU and CUDA). Imports only torch, numpy and the stdlib."""

from hybrid.chain.graph import Fsa, denominator_graph, fsa_from_arcs, fsa_from_openfst_arcs, initial_probs
from hybrid.chain.hmm import ChainTopology, PhoneHmms
from hybrid.chain.loss import (ChainOptions, ChainResult, DenGraph, NumeratorBatch, batch_numerators,
                               chain_objective, denominator_forward_backward, numerator_forward_backward,
                               prepare_den_graph, triton_usable, xent_objective)
from hybrid.chain.numerator import NumeratorFsa, alignment_chunks, compose_with_den, utterance_numerator
from hybrid.chain.phone_lm import PhoneLm, denominator_fsa, estimate_phone_lm

__all__ = [
    "Fsa", "denominator_graph", "fsa_from_arcs", "fsa_from_openfst_arcs", "initial_probs",
    "ChainTopology", "PhoneHmms",
    "ChainOptions", "ChainResult", "DenGraph", "NumeratorBatch", "batch_numerators", "chain_objective",
    "denominator_forward_backward", "numerator_forward_backward", "prepare_den_graph", "triton_usable",
    "xent_objective",
    "NumeratorFsa", "alignment_chunks", "compose_with_den", "utterance_numerator",
    "PhoneLm", "denominator_fsa", "estimate_phone_lm",
]
