"""Progress bars on long loops when a person watches a terminal; quiet in logs and pipes."""

from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], desc: str = "", total: int | None = None, unit: str = "utt") -> Iterable[T] | Iterator[T]:
    """``items`` wrapped in a tqdm bar when stderr is a terminal (and HYBRID_PROGRESS != 0), else as is."""
    if os.environ.get("HYBRID_PROGRESS", "1") == "0" or not sys.stderr.isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but the GPU machine may lack it
        return items
    return tqdm(items, desc=desc, total=total, unit=unit, leave=False, file=sys.stderr)
