"""Kaldi tables (archives and scripts) through kaldiio.

Alignments are archives of int32 vectors of transition-ids, usually gzipped
(``ali.JOB.gz``), exactly as Kaldi writes them, so ``copy-int-vector`` and kaldiio
read ours and we read Kaldi's. Features are float matrices in ``ark,scp`` pairs.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import kaldiio
import numpy as np

from hybrid.io.atomic import atomic_path


def _open_maybe_gzip(path: str | os.PathLike) -> io.BufferedIOBase:
    path = str(path)
    f = open(path, "rb")
    if f.read(2) == b"\x1f\x8b":
        f.close()
        return gzip.open(path, "rb")
    f.seek(0)
    return f


def iter_table(spec: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """Iterate ``(key, array)`` over an archive or script.

    ``spec`` is a path (``.scp`` → script, anything else → archive, gzip detected by its
    magic bytes) or a Kaldi rspecifier (``ark:...``, ``scp:...``, ``ark:gunzip -c x.gz|``).
    """
    spec = str(spec)
    if spec.startswith(("ark:", "scp:", "ark,", "scp,")):
        with kaldiio.ReadHelper(spec) as reader:
            yield from reader
        return
    if spec.endswith(".scp"):
        for key, value in kaldiio.load_scp_sequential(spec):
            yield key, value
        return
    with _open_maybe_gzip(spec) as f:
        yield from kaldiio.load_ark(f)


def read_table(spec: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a whole table into a dict (order preserved)."""
    return dict(iter_table(spec))


def write_table(items: Iterable[tuple[str, np.ndarray]] | Mapping[str, np.ndarray], ark: str | os.PathLike,
                scp: str | os.PathLike | None = None, compress_gzip: bool | None = None) -> None:
    """Write an archive (binary Kaldi format) atomically, with an optional script file.

    gzip is used when ``compress_gzip`` is true or ``ark`` ends in ``.gz`` (no scp then).
    """
    ark = Path(ark)
    if isinstance(items, Mapping):
        items = items.items()
    gz = compress_gzip if compress_gzip is not None else ark.suffix == ".gz"
    if gz:
        if scp is not None:
            raise ValueError("a gzipped archive cannot have a script file")
        with atomic_path(ark) as tmp:
            with gzip.open(tmp, "wb") as f:
                for key, value in items:
                    kaldiio.save_ark(f, {key: value})
        return
    if scp is None:
        with atomic_path(ark) as tmp:
            with open(tmp, "wb") as f:
                for key, value in items:
                    kaldiio.save_ark(f, {key: value})
        return
    scp = Path(scp)
    # inner context exits first: the ark is in place before the scp that points into it
    with atomic_path(scp) as tmp_scp, atomic_path(ark) as tmp_ark:
        with open(tmp_ark, "wb") as f:
            lines = []
            for key, value in items:
                f.write(f"{key} ".encode())
                offset = f.tell()
                _write_value(f, value)
                lines.append(f"{key} {ark.resolve() if ark.is_absolute() else ark}:{offset}\n")
        with open(tmp_scp, "w", encoding="utf-8") as g:
            g.writelines(lines)


def _write_value(f, value: np.ndarray) -> None:
    """Write one value in Kaldi binary form (after the key has been written)."""
    buf = io.BytesIO()
    kaldiio.save_ark(buf, {"x": value})
    f.write(buf.getvalue()[2:])  # drop "x "


def write_mats_ark_scp(items: Iterable[tuple[str, np.ndarray]], ark: str | os.PathLike, scp: str | os.PathLike) -> None:
    """Write float matrices as ``ark,scp`` (features, CMVN stats)."""
    write_table(items, ark, scp)


def read_ali_ark(spec: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read alignments (int32 vectors of transition-ids) from ``ali.N.gz`` or an rspecifier."""
    return {k: np.asarray(v, dtype=np.int32) for k, v in iter_table(spec)}


def write_ali_ark(alis: Iterable[tuple[str, np.ndarray]] | Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write alignments as a (gzipped, when ``path`` ends in .gz) archive of int32 vectors."""
    if isinstance(alis, Mapping):
        alis = alis.items()
    write_table(((k, np.asarray(v, dtype=np.int32)) for k, v in alis), path)
