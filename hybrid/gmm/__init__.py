"""Diagonal GMMs: models and ``.mdl`` files, statistics, EM update, mixing up, gmm-init-mono.

Used by the decoder: ``tm, am = read_model(path)``; ``am.log_likelihoods(feats) -> (T, num_pdfs)``.
"""

from hybrid.gmm.model import AmDiagGmm, DiagGmm, boost_silence, model_info, read_model, write_model
from hybrid.gmm.accs import GmmAccs, sum_accs
from hybrid.gmm.update import (
    EstOptions,
    MleDiagGmmOptions,
    UpdateStats,
    get_split_targets,
    global_mean_var,
    gmm_est,
    init_mono,
    mle_am_diag_gmm_update,
    mle_diag_gmm_update,
    split_by_count,
)

__all__ = [
    "AmDiagGmm", "DiagGmm", "boost_silence", "model_info", "read_model", "write_model",
    "GmmAccs", "sum_accs", "EstOptions", "MleDiagGmmOptions", "UpdateStats", "get_split_targets",
    "global_mean_var", "gmm_est", "init_mono", "mle_am_diag_gmm_update", "mle_diag_gmm_update",
    "split_by_count",
]
