"""Shared fixtures. Tests that need a real corpus skip with a reason when it is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPORA = Path(os.environ.get("HYBRID_CORPORA", REPO.parent / "shared" / "corpora"))

os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))


def _corpus(name: str) -> Path:
    d = SHARED_CORPORA / name
    if not d.is_dir():
        pytest.skip(f"corpus {name} not found at {d} (set HYBRID_CORPORA to its parent directory)")
    return d


@pytest.fixture(scope="session")
def an4_dir() -> Path:
    """../shared/corpora/an4 (CMU AN4, SPHERE audio); skips when absent."""
    return _corpus("an4")


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """../shared/corpora/fsdd (Free Spoken Digit Dataset); skips when absent."""
    return _corpus("fsdd")


def require_binary(name: str) -> str:
    """Return the path of a program on PATH, or skip the test naming what is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (tools/setup.sh installs it as root on Debian)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
