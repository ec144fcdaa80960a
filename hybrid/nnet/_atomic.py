"""Atomic writes for hybrid/nnet: ``hybrid.io``'s, or a stdlib copy where kaldiio is missing
(the GPU machines have torch and numpy only, and ``hybrid.io`` imports kaldiio)."""

from __future__ import annotations

try:
    from hybrid.io.atomic import atomic_path, atomic_write
except ImportError:  # pragma: no cover - exercised only without kaldiio
    import contextlib
    import os
    import tempfile
    from pathlib import Path

    @contextlib.contextmanager
    def atomic_path(path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            yield Path(tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
        with atomic_path(path) as tmp:
            with open(tmp, mode, encoding=None if "b" in mode else encoding) as f:
                yield f

__all__ = ["atomic_path", "atomic_write"]
