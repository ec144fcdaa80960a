"""HMM topologies and Kaldi's transition model."""

from hybrid.hmm.topology import NO_PDF, HmmState, Topology
from hybrid.hmm.transition_model import Tuple, TransitionModel, compute_tuples

__all__ = ["NO_PDF", "HmmState", "Topology", "Tuple", "TransitionModel", "compute_tuples"]
