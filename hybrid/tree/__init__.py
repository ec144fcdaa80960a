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
]
