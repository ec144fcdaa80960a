"""Training graphs, equal alignment and Viterbi forced alignment (Kaldi's compile-train-graphs,
align-equal-compiled, gmm-align-compiled, and gmm-align-acc = alignment + gmm-acc-stats-ali in one
pass) and the job drivers behind the CLI. numba is loaded only when an alignment is computed."""

from hybrid.align.graph import (
    TrainingGraph,
    TrainingGraphCompiler,
    careful_graph,
    equal_align,
    read_graphs,
    transition_costs,
    write_graphs,
)
from hybrid.align.viterbi import AlignResult, viterbi_align, viterbi_align_gmm
from hybrid.align.jobs import (
    AlignOptions,
    align_equal_compiled,
    compile_train_graphs,
    feature_reader,
    gmm_acc_stats_ali,
    gmm_align_acc,
    gmm_align_compiled,
    read_transcripts,
)

__all__ = [
    "TrainingGraph", "TrainingGraphCompiler", "careful_graph", "equal_align", "read_graphs", "transition_costs",
    "write_graphs", "AlignResult", "viterbi_align", "viterbi_align_gmm", "AlignOptions", "align_equal_compiled",
    "compile_train_graphs", "feature_reader", "gmm_acc_stats_ali", "gmm_align_acc", "gmm_align_compiled",
    "read_transcripts",
]
