"""Feature-space transforms: LDA, MLLT (semi-tied covariance) and fMLLR (CMLLR), Kaldi's algorithms.

- :mod:`hybrid.transform.lda`: acc-lda / est-lda (``0.mat``).
- :mod:`hybrid.transform.mllt`: gmm-acc-mllt / est-mllt; compose with the LDA matrix, transform the means.
- :mod:`hybrid.transform.fmllr`: per-speaker fMLLR (gmm-est-fmllr, also with Gaussian posteriors
  from the SI alignment model); transforms are d × (d+1) matrices in ``trans.JOB`` archives.
- :mod:`hybrid.transform.sat`: gmm-acc-stats-twofeats (the SAT alignment model).
- :mod:`hybrid.transform.common`: matrix files, compose-transforms, gmm-transform-means, posteriors.
"""

from hybrid.transform.common import (
    ali_to_pdf_weights,
    post_to_pdf_weights,
    compose_transforms,
    gauss_posteriors,
    read_matrix,
    transform_means,
    write_matrix,
)
from hybrid.transform.lda import LdaResult, LdaStats, estimate_lda, sum_lda_stats
from hybrid.transform.mllt import MlltAccumulator, MlltResult, MlltStats, estimate_mllt, mllt_auxf, sum_mllt_stats
from hybrid.transform.fmllr import (
    FmllrAccumulator,
    FmllrOptions,
    FmllrResult,
    FmllrStats,
    estimate_fmllr,
    fmllr_auxf,
)
from hybrid.transform.sat import accumulate_twofeats

__all__ = [
    "ali_to_pdf_weights", "post_to_pdf_weights", "compose_transforms", "gauss_posteriors", "read_matrix", "transform_means",
    "write_matrix", "LdaResult", "LdaStats", "estimate_lda", "sum_lda_stats", "MlltAccumulator", "MlltResult",
    "MlltStats", "estimate_mllt", "mllt_auxf", "sum_mllt_stats", "FmllrAccumulator", "FmllrOptions",
    "FmllrResult", "FmllrStats", "estimate_fmllr", "fmllr_auxf", "accumulate_twofeats",
]
