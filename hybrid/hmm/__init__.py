"""HMM topologies and Kaldi's transition model."""

from hybrid.hmm.topology import NO_PDF, HmmState, Topology
from hybrid.hmm.transition_model import Tuple, TransitionModel, compute_tuples, read_transition_model
from hybrid.hmm.alignment import Segment, phone_segments, read_word_boundary, split_to_phones, word_segments

__all__ = [
    "NO_PDF", "HmmState", "Topology", "Tuple", "TransitionModel", "compute_tuples", "read_transition_model",
    "Segment", "phone_segments", "read_word_boundary", "split_to_phones", "word_segments",
]
