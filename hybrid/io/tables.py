"""Kaldi tables (archives and scripts) through kaldiio.

Alignments are archives of int32 vectors of transition-ids, usually gzipped
(``ali.JOB.gz``), exactly as Kaldi writes them, so ``copy-int-vector`` and kaldiio
read ours and we read Kaldi's. Features are float matrices in ``ark,scp`` pairs.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Mapping

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


def rspecifier_path(spec: str | os.PathLike) -> str:
    """What an archive rspecifier reads: ``ark[,opts]:x`` -> ``x`` (a path or ``cmd |``); a plain path as is."""
    spec = str(spec)
    head, sep, rest = spec.partition(":")
    return rest if sep and head.split(",")[0] == "ark" else spec


@contextmanager
def open_rspecifier(spec: str | os.PathLike, check: bool = False) -> Iterator[BinaryIO]:
    """A binary stream of an archive rspecifier: a path or ``ark[,opts]:path`` (gzip detected by its
    magic bytes), or ``ark:cmd |`` (the command's output; with ``check``, a non-zero exit status raises
    ``subprocess.CalledProcessError`` once the stream is closed)."""
    path = rspecifier_path(spec)
    if path.rstrip().endswith("|"):
        cmd = path.rstrip()[:-1]
        p = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE)
        try:
            yield p.stdout
        finally:
            p.stdout.close()
            p.wait()
        if check and p.returncode != 0:
            raise subprocess.CalledProcessError(p.returncode, cmd)
        return
    with _open_maybe_gzip(path) as f:
        yield f


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


def sum_tables(first: Iterable[tuple[str, np.ndarray]], others: list[Mapping[str, np.ndarray]],
               average: bool = False, errors: list[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Kaldi's matrix-sum in table mode: for each key of ``first``, the sum (or with ``average`` the
    mean) of its matrix and the same key's matrix in each of ``others``.

    A key missing from one of ``others``, or with a different shape there, is not output; a line saying
    which key and which input (1-based, ``first`` is 1) is appended to ``errors`` when given.
    """
    for key, m in first:
        acc = np.array(m, dtype=np.float64)
        bad = None
        for i, tab in enumerate(others, start=2):
            o = tab.get(key)
            if o is None:
                bad = f"no matrix for {key} in input {i}"
                break
            if np.shape(o) != acc.shape:
                bad = f"matrix for {key} in input {i} is {np.shape(o)}, in input 1 {acc.shape}"
                break
            acc += o
        if bad is not None:
            if errors is not None:
                errors.append(bad)
            continue
        if average:
            acc /= 1 + len(others)
        yield key, acc.astype(np.float32)


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


# Kaldi's binary int32 vector: "\0B", then a size byte 4 and the value for the length and each element
_INT32_ELEM = np.dtype([("size", "u1"), ("value", "<i4")])


def _decode_int32_vectors(data: bytes, what: str) -> dict[str, np.ndarray] | None:
    """Parse a whole archive of binary int32 vectors with numpy; None if it holds anything else."""
    res: dict[str, np.ndarray] = {}
    pos, n = 0, len(data)
    while pos < n:
        sp = data.find(b" ", pos)
        if sp < 0 or data[sp + 1:sp + 4] != b"\0B\4":
            return None  # not (only) binary int32 vectors: let kaldiio handle it
        key = data[pos:sp].decode()
        length = int.from_bytes(data[sp + 4:sp + 8], "little", signed=True)
        end = sp + 3 + 5 * (length + 1)
        if length < 0 or end > n:
            raise ValueError(f"{what}: alignment of {key!r} is truncated")
        rec = np.frombuffer(data, dtype=_INT32_ELEM, count=length + 1, offset=sp + 3)
        if np.any(rec["size"] != 4):
            raise ValueError(f"{what}: alignment of {key!r} is not a vector of int32")
        res[key] = rec["value"][1:].copy()
        pos = end
    return res


def read_ali_ark(spec: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read alignments (int32 vectors of transition-ids) from ``ali.N.gz`` or an rspecifier."""
    s = str(spec)
    if not s.startswith(("ark:", "scp:", "ark,", "scp,")) and not s.endswith(".scp"):
        with _open_maybe_gzip(s) as f:
            got = _decode_int32_vectors(f.read(), s)
        if got is not None:
            return got
    return {k: np.asarray(v, dtype=np.int32) for k, v in iter_table(spec)}


def write_ali_ark(alis: Iterable[tuple[str, np.ndarray]] | Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write alignments as a (gzipped, when ``path`` ends in .gz) archive of int32 vectors."""
    if isinstance(alis, Mapping):
        alis = alis.items()
    parts = []
    for key, v in alis:  # the bytes kaldiio writes, built with numpy rather than 5 bytes at a time
        v = np.asarray(v, dtype=np.int32).ravel()
        rec = np.empty(len(v) + 1, dtype=_INT32_ELEM)
        rec["size"] = 4
        rec["value"][0] = len(v)
        rec["value"][1:] = v
        parts.append(f"{key} ".encode() + b"\0B" + rec.tobytes())
    data = b"".join(parts)
    with atomic_path(path) as tmp:
        # gzip level 6 as Kaldi's "ark:| gzip -c >" (level 9 costs 10x the CPU for 6 % smaller files)
        tmp.write_bytes(gzip.compress(data, compresslevel=6) if Path(path).suffix == ".gz" else data)
