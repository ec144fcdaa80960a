"""Compact (CSR) numpy arrays of an OpenFst StdArc graph, for the numba decoder.

The graph is written as an OpenFst *const* FST (kaldifst) and the file is parsed with
``np.frombuffer``: header, then one 20-byte record per state (final f32, pos i32,
narcs i32, nie i32, noe i32), then one 16-byte record per arc (ilabel i32, olabel i32,
weight f32, nextstate i32). A graph that already is a const FST on disk is parsed
directly. The arrays can be cached as ``<graph>.npz`` beside the graph.

Costs are tropical (-log) weights; a non-final state has final cost ``+inf``.
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FST_MAGIC = 2125659606
SYMTAB_MAGIC = 2125658996
_HAS_ISYMBOLS, _HAS_OSYMBOLS, _IS_ALIGNED = 1, 2, 4

STATE_DTYPE = np.dtype([("final", "<f4"), ("pos", "<i4"), ("narcs", "<i4"), ("nie", "<i4"), ("noe", "<i4")])
ARC_DTYPE = np.dtype([("ilabel", "<i4"), ("olabel", "<i4"), ("weight", "<f4"), ("nextstate", "<i4")])


@dataclass
class CompactGraph:
    """A graph as flat arrays: arcs of state ``s`` are ``arc_start[s]:arc_start[s+1]``.

    Within each state, arcs keep the graph's order (this fixes the decoder's tie-break).
    """

    start: int
    final: np.ndarray      # float32 (S,) final cost, +inf if not final
    arc_start: np.ndarray  # int64 (S+1,)
    ilabel: np.ndarray     # int32 (A,) transition-id, 0 = epsilon
    olabel: np.ndarray     # int32 (A,) word id, 0 = epsilon
    weight: np.ndarray     # float32 (A,) graph cost
    nextstate: np.ndarray  # int32 (A,)

    @property
    def num_states(self) -> int:
        return int(self.final.shape[0])

    @property
    def num_arcs(self) -> int:
        return int(self.ilabel.shape[0])

    def save_npz(self, path: str | os.PathLike) -> None:
        from hybrid.io import atomic_path
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, start=np.int64(self.start), final=self.final, arc_start=self.arc_start,
                         ilabel=self.ilabel, olabel=self.olabel, weight=self.weight, nextstate=self.nextstate)

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> "CompactGraph":
        with np.load(path) as z:
            return cls(start=int(z["start"]), final=z["final"], arc_start=z["arc_start"], ilabel=z["ilabel"],
                       olabel=z["olabel"], weight=z["weight"], nextstate=z["nextstate"])


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def i32(self) -> int:
        v = struct.unpack_from("<i", self.buf, self.pos)[0]
        self.pos += 4
        return v

    def i64(self) -> int:
        v = struct.unpack_from("<q", self.buf, self.pos)[0]
        self.pos += 8
        return v

    def string(self) -> str:
        n = self.i32()
        s = self.buf[self.pos:self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s

    def skip_symtab(self, what: str) -> None:
        if self.i32() != SYMTAB_MAGIC:
            raise ValueError(f"bad symbol table magic in {what}")
        self.string()  # name
        self.i64()  # available key
        for _ in range(self.i64()):
            self.string()
            self.i64()

    def align(self) -> None:
        self.pos = (self.pos + 15) // 16 * 16


def parse_const_fst(buf: bytes, what: str = "<buffer>") -> CompactGraph:
    """Parse the bytes of an OpenFst const FST of StdArc (``fsttype const``, ``arctype standard``)."""
    r = _Reader(buf)
    if r.i32() != FST_MAGIC:
        raise ValueError(f"{what}: not an OpenFst binary file")
    fsttype, arctype = r.string(), r.string()
    if fsttype != "const" or arctype != "standard":
        raise ValueError(f"{what}: expected a const FST of standard arcs, got {fsttype}/{arctype}")
    r.i32()  # version
    flags = r.i32()
    r.i64()  # properties
    start, nstates, narcs = r.i64(), r.i64(), r.i64()
    if flags & _HAS_ISYMBOLS:
        r.skip_symtab(what)
    if flags & _HAS_OSYMBOLS:
        r.skip_symtab(what)
    if flags & _IS_ALIGNED:
        r.align()
    states = np.frombuffer(buf, dtype=STATE_DTYPE, count=nstates, offset=r.pos)
    r.pos += nstates * STATE_DTYPE.itemsize
    if flags & _IS_ALIGNED:
        r.align()
    arcs = np.frombuffer(buf, dtype=ARC_DTYPE, count=narcs, offset=r.pos)
    arc_start = np.empty(nstates + 1, dtype=np.int64)
    if nstates:
        arc_start[:-1] = states["pos"]
        arc_start[-1] = int(states["pos"][-1]) + int(states["narcs"][-1])
    else:
        arc_start[0] = 0
    if nstates and not np.array_equal(arc_start[1:-1], states["pos"][:-1] + states["narcs"][:-1]):
        raise ValueError(f"{what}: const FST arcs are not contiguous per state")
    return CompactGraph(
        start=int(start) if start >= 0 else -1,
        final=np.ascontiguousarray(states["final"], dtype=np.float32),
        arc_start=arc_start,
        ilabel=np.ascontiguousarray(arcs["ilabel"], dtype=np.int32),
        olabel=np.ascontiguousarray(arcs["olabel"], dtype=np.int32),
        weight=np.ascontiguousarray(arcs["weight"], dtype=np.float32),
        nextstate=np.ascontiguousarray(arcs["nextstate"], dtype=np.int32),
    )


def compact_from_fst(fst) -> CompactGraph:
    """Convert an in-memory kaldifst StdFst (vector or const) to a :class:`CompactGraph`."""
    import kaldifst

    const = fst if fst.type == "const" else kaldifst.StdConstFst(fst)
    fd, tmp = tempfile.mkstemp(suffix=".fst")
    os.close(fd)
    try:
        if not const.write(tmp):
            raise OSError("kaldifst could not write a const FST")
        return parse_const_fst(Path(tmp).read_bytes(), "<fst>")
    finally:
        os.unlink(tmp)


def _fst_type(path: Path) -> tuple[str, str]:
    with open(path, "rb") as f:
        head = f.read(256)
    r = _Reader(head)
    if r.i32() != FST_MAGIC:
        raise ValueError(f"{path}: not an OpenFst binary file")
    return r.string(), r.string()


def load_compact_graph(path: str | os.PathLike, cache: bool = True) -> CompactGraph:
    """Load ``HCLG.fst`` (vector or const, StdArc) as a :class:`CompactGraph`.

    With ``cache``, ``<path>.npz`` is written beside the graph (when the directory is
    writable) and reused while it is newer than the graph.
    """
    path = Path(path)
    npz = path.with_name(path.name + ".npz")
    if cache and npz.exists() and npz.stat().st_mtime >= path.stat().st_mtime:
        try:
            return CompactGraph.load_npz(npz)
        except Exception:  # a stale or broken cache is rebuilt
            pass
    fsttype, _ = _fst_type(path)
    if fsttype == "const":
        g = parse_const_fst(path.read_bytes(), str(path))
    else:
        import kaldifst
        g = compact_from_fst(kaldifst.StdVectorFst.read(str(path)))
    if cache:
        try:
            g.save_npz(npz)
        except OSError:
            pass
    return g
