"""Context dependency and phonetic decision trees (Kaldi's ``tree`` files)."""

from hybrid.tree.context_dependency import (
    ContextDependency,
    monophone_context_dependency,
    monophone_context_dependency_shared,
    read_tree,
    write_tree,
)
from hybrid.tree.event_map import (
    PDF_CLASS,
    ConstantEventMap,
    EventMap,
    SplitEventMap,
    TableEventMap,
)
from hybrid.tree.stats import TreeStats, TreeStatsAccumulator, acc_tree_stats, gauss_objf, sum_tree_stats
from hybrid.tree.questions import Questions, cluster_phones, compile_questions
from hybrid.tree.build import Roots, build_tree, map_events, read_roots
from hybrid.tree.init_model import convert_alignment, gmm_init_model
from hybrid.tree.draw import format_tree_leaves, tree_to_dot

__all__ = [
    "ContextDependency",
    "monophone_context_dependency",
    "monophone_context_dependency_shared",
    "read_tree",
    "write_tree",
    "PDF_CLASS",
    "ConstantEventMap",
    "EventMap",
    "SplitEventMap",
    "TableEventMap",
    "TreeStats",
    "TreeStatsAccumulator",
    "acc_tree_stats",
    "gauss_objf",
    "sum_tree_stats",
    "Questions",
    "cluster_phones",
    "compile_questions",
    "Roots",
    "build_tree",
    "map_events",
    "read_roots",
    "convert_alignment",
    "gmm_init_model",
    "format_tree_leaves",
    "tree_to_dot",
]
