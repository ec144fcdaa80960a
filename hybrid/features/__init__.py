"""Kaldi-compatible features: MFCC/fbank, CMVN, deltas, splicing, transforms, the feature pipeline.

Defaults and option names are Kaldi's (compute-mfcc-feats, compute-fbank-feats); features agree
with kaldi-native-fbank to ~1e-3 (tests/test_features.py). Storage is Kaldi ark/scp via hybrid.io.

Importing this package does not import torch (the GMM stages use :func:`iter_features` and must
stay torch-free); the extractors in :mod:`hybrid.features.mfcc` load it on first use.
"""

from hybrid.features.options import (
    ConfigError,
    FbankOptions,
    FeatureOptions,
    MfccOptions,
    fbank_options,
    mfcc_options,
    read_kaldi_config,
)
from hybrid.features.cmvn import acc_cmvn_stats, apply_cmvn, compute_cmvn_stats
from hybrid.features.transforms import add_deltas, apply_transform, delta_scales, splice_feats
from hybrid.features.pipeline import (
    FeatJobStats,
    compute_feats_to_table,
    iter_computed_features,
    iter_features,
    iter_utterance_audio,
)

__all__ = [
    "ConfigError", "FbankOptions", "FeatureOptions", "MfccOptions", "fbank_options", "mfcc_options",
    "read_kaldi_config", "compute_fbank", "compute_features", "compute_mfcc", "num_frames", "utt_seed",
    "acc_cmvn_stats", "apply_cmvn", "compute_cmvn_stats", "add_deltas", "apply_transform", "delta_scales",
    "splice_feats", "FeatJobStats", "compute_feats_to_table", "iter_computed_features", "iter_features",
    "iter_utterance_audio",
]

_LAZY = {"compute_fbank", "compute_features", "compute_mfcc", "num_frames", "utt_seed"}


def __getattr__(name: str):
    if name in _LAZY:
        from hybrid.features import mfcc

        return getattr(mfcc, name)
    raise AttributeError(f"module 'hybrid.features' has no attribute {name!r}")
