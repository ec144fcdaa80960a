"""TDNN / TDNN-F acoustic models trained with cross-entropy on GMM alignments.

Modules: :mod:`~hybrid.nnet.model` (networks, dropout schedule, semi-orthogonal constraint),
:mod:`~hybrid.nnet.data` (egs preparation, chunked datasets, minibatch schedule, loader),
:mod:`~hybrid.nnet.train` (training loop, diagnostics, combination), :mod:`~hybrid.nnet.compute`
(log-likelihoods for decoding), :mod:`~hybrid.nnet.plot` (accuracy plots),
:mod:`~hybrid.nnet.perturb` (speed-perturbed data dirs).

Only torch, numpy and the standard library are imported at module level in this package.
"""

from hybrid.nnet.model import Tdnn, TdnnConfig, build_model, tdnn_1k_config, tdnn_ce_config

__all__ = ["Tdnn", "TdnnConfig", "build_model", "tdnn_1k_config", "tdnn_ce_config"]
