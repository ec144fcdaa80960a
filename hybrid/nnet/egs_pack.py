"""Pack egs feature arrays to 8 bits per value for transport, and unpack them.

Kaldi stores egs compressed (CompressedMatrix: 8 bits per value per column); this is the same
idea in its simplest form: per-dimension linear quantization between the column's min and max
(error ≤ (max−min)/510 per value). Used to send egs to a GPU machine under a size limit; the
unpacked ``feats.npy`` is float32 again and training reads it as usual. torch-free, numpy only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def pack_feats(npy: str | os.PathLike) -> Path:
    """``feats.npy`` → ``feats.u8.npy`` + ``feats.range.npy`` (per-dim min and max); returns the u8 path."""
    npy = Path(npy)
    x = np.load(npy, mmap_mode="r")
    lo = np.asarray(x.min(axis=0), dtype=np.float32)
    hi = np.asarray(x.max(axis=0), dtype=np.float32)
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0).astype(np.float32)
    q = np.empty(x.shape, dtype=np.uint8)
    step = 1 << 16
    for i in range(0, x.shape[0], step):
        q[i:i + step] = np.clip(np.rint((x[i:i + step] - lo) / scale), 0, 255).astype(np.uint8)
    out = npy.with_name(npy.stem + ".u8.npy")
    np.save(out, q)
    np.save(npy.with_name(npy.stem + ".range.npy"), np.stack([lo, scale]))
    return out


def unpack_feats(u8: str | os.PathLike) -> Path:
    """Inverse of :func:`pack_feats`: writes ``feats.npy`` (float32) next to ``feats.u8.npy``."""
    u8 = Path(u8)
    stem = u8.name[: -len(".u8.npy")]
    lo, scale = np.load(u8.with_name(stem + ".range.npy"))
    q = np.load(u8, mmap_mode="r")
    out = u8.with_name(stem + ".npy")
    x = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=q.shape)
    step = 1 << 16
    for i in range(0, q.shape[0], step):
        x[i:i + step] = q[i:i + step].astype(np.float32) * scale + lo
    x.flush()
    return out


def pack_dir(egs_dir: str | os.PathLike) -> list[Path]:
    """Pack every ``feats.npy`` below ``egs_dir``."""
    return [pack_feats(p) for p in sorted(Path(egs_dir).rglob("feats.npy"))]


def unpack_dir(egs_dir: str | os.PathLike) -> list[Path]:
    """Unpack every ``feats.u8.npy`` below ``egs_dir``."""
    return [unpack_feats(p) for p in sorted(Path(egs_dir).rglob("feats.u8.npy"))]


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] not in ("pack", "unpack"):
        sys.exit("usage: python -m hybrid.nnet.egs_pack pack|unpack <egs-dir>")
    for p in (pack_dir if sys.argv[1] == "pack" else unpack_dir)(sys.argv[2]):
        print(p)
