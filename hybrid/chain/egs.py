"""Chain training examples (Kaldi's steps/nnet3/chain/get_egs.sh) as numpy arrays.

``prepare_chain_egs(data_dir, ali_dir, den_fst, egs_dir)`` reads features (``feats.scp``, with
per-speaker CMVN from ``cmvn.scp``), the alignments of the chain tree dir (``ali_dir/ali.*.gz``
through ``ali_dir/final.mdl``, at the input frame rate; their phone segments are the
supervision, as Kaldi's alignment lattices), ``ali_dir/tree`` and the den graph ``den.fst``,
and writes ``egs_dir/{train,valid,train_diag}`` (the same utterance split as the TDNN egs:
:func:`hybrid.nnet.data.select_subsets`), each with

- ``feats.npy`` (frames x dim, float32) and ``utts.txt`` (``utt spk offset num_frames``);
- ``chunks.npy`` (int64, one row per chunk: utterance index, first output frame, first state,
  number of states, first arc, number of arcs);
- the numerator FSAs of all chunks, concatenated: ``num_arcs.npy`` (int32 src, dst, pdf; states
  local to the chunk), ``num_logp.npy`` (float32), ``num_init.npy``, ``num_final.npy``
  (float32 log weights) and ``num_frames.npy`` (int32 frame of every state).

Each utterance of T input frames has ``ceil(T / f)`` output frames (``f`` =
``frame_subsampling_factor``); it is cut into chunks of ``chunk_width / f`` output frames
(evenly spread, overlapping when needed; :func:`hybrid.chain.numerator.chunk_starts`).
Utterances shorter than one chunk are padded: their last phone is extended (and, at training
time, their last feature frame repeated) to one chunk. Every chunk's numerator is the
alignment's phone sequence through the chain HMMs with ``--left-tolerance``/``--right-tolerance``
frames of slack, composed with the normalization FSA (Kaldi's supervision with
AddWeightToSupervisionFst). ``egs_dir/den.npz`` holds the den graph (initial probabilities
included) and ``egs_dir/info.json`` the sizes, so training needs torch and numpy only.

:class:`ChainEgsSet` loads a subset (memory-mapped); :class:`ChainChunkDataset` gives
minibatches ``(x, NumeratorBatch)`` with x of shape (B, chunk_width + left + right, dim).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hybrid.chain.graph import Fsa
from hybrid.chain.loss import NumeratorBatch, batch_numerators

log = logging.getLogger(__name__)

__all__ = ["prepare_chain_egs", "ChainEgsSet", "ChainChunkDataset", "save_den_graph", "load_den_graph",
           "read_alignments"]


# ---------------------------------------------------------------------------- den graph as numpy
def save_den_graph(den: Fsa, path: str | os.PathLike) -> None:
    """Write a den graph (from :func:`hybrid.chain.graph.denominator_graph`) as ``.npz``."""
    from hybrid.nnet._atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, num_states=np.int64(den.num_states), src=den.src.numpy(), dst=den.dst.numpy(),
                     pdf=den.pdf.numpy(), log_prob=den.log_prob.numpy(), initial=den.initial.numpy(),
                     final=den.final.numpy())


def load_den_graph(path: str | os.PathLike) -> Fsa:
    z = np.load(path)
    t = lambda k: torch.from_numpy(np.ascontiguousarray(z[k]))  # noqa: E731
    return Fsa(int(z["num_states"]), t("src"), t("dst"), t("pdf"), t("log_prob"), t("initial"), t("final"))


# ---------------------------------------------------------------------------- inputs
def read_alignments(ali_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Transition-id sequences of ``ali_dir/ali.*.gz``."""
    from hybrid.io import iter_table

    files = sorted(Path(ali_dir).glob("ali.*.gz"),
                   key=lambda p: int(p.name.split(".")[1]) if p.name.split(".")[1].isdigit() else 0)
    if not files:
        raise FileNotFoundError(f"no ali.*.gz in {ali_dir}")
    out = {}
    for f in files:
        for utt, tids in iter_table(f):
            out[utt] = np.asarray(tids, dtype=np.int64)
    return out


def _utterance_chunks(utt: str, tids: np.ndarray, num_frames: int, tm, hmms, den: Fsa, chunk_out: int, f: int,
                      left_tol: int, right_tol: int) -> list:
    from hybrid.chain.numerator import alignment_chunks
    from hybrid.hmm.alignment import phone_segments

    if len(tids) != num_frames:
        raise ValueError(f"alignment has {len(tids)} frames, features {num_frames}")
    if tids.min() < 1 or tids.max() > tm.num_transition_ids:
        raise ValueError("transition-ids outside the model")
    segs = [(s.label, s.start, s.length) for s in phone_segments(tm, tids)]
    T = num_frames
    min_in = chunk_out * f
    if T < min_in:  # pad: extend the last phone to one chunk
        p, s, n = segs[-1]
        segs[-1] = (p, s, n + (min_in - T))
        T = min_in
    return alignment_chunks(segs, T, hmms, den, chunk=chunk_out, subsampling=f, left_tolerance=left_tol,
                            right_tolerance=right_tol)


def prepare_chain_egs(data_dir: str | os.PathLike, ali_dir: str | os.PathLike, den_fst: str | os.PathLike,
                      egs_dir: str | os.PathLike, *, chunk_width: int = 150, frame_subsampling_factor: int = 3,
                      left_tolerance: int = 5, right_tolerance: int = 5, num_utts_subset: int = 300,
                      valid_fraction: float = 0.05, seed: int = 0, cmvn: bool = True, norm_vars: bool = False,
                      tree: str | os.PathLike | None = None, model: str | os.PathLike | None = None) -> dict:
    """Write chain egs (see the module doc); returns the info dict. ``chunk_width`` is in input
    frames (a multiple of ``frame_subsampling_factor``). Utterances without an alignment, with
    a length mismatch or without a numerator path are reported and skipped."""
    from hybrid.chain.graph import denominator_graph
    from hybrid.chain.hmm import PhoneHmms
    from hybrid.chain.kaldifst_io import read_den_fst
    from hybrid.hmm import read_transition_model
    from hybrid.nnet._atomic import atomic_path, atomic_write
    from hybrid.nnet.data import _read_map, iter_cmvn_feats, select_subsets
    from hybrid.tree import read_tree

    f = int(frame_subsampling_factor)
    if chunk_width % f:
        raise ValueError(f"--chunk-width {chunk_width} is not a multiple of --frame-subsampling-factor {f}")
    chunk_out = chunk_width // f
    data_dir, ali_dir, egs_dir = Path(data_dir), Path(ali_dir), Path(egs_dir)
    tm = read_transition_model(model or ali_dir / "final.mdl")
    ctx = read_tree(tree or ali_dir / "tree")
    hmms = PhoneHmms.from_tree(tm.topo, ctx)
    den = denominator_graph(read_den_fst(den_fst))
    num_pdfs = int(ctx.num_pdfs)
    if den.num_pdfs > num_pdfs:
        raise ValueError(f"{den_fst} uses pdf {den.num_pdfs - 1} but the tree has {num_pdfs} pdfs")
    alis = read_alignments(ali_dir)
    utt2spk = _read_map(data_dir / "utt2spk")
    feats: dict[str, np.ndarray] = {}
    chunks: dict[str, list] = {}
    skipped = 0
    for utt, _spk, x in iter_cmvn_feats(data_dir, cmvn, norm_vars):
        a = alis.get(utt)
        if a is None:
            log.warning("No alignment for utterance %s; skipped", utt)
            skipped += 1
            continue
        try:
            c = _utterance_chunks(utt, a, len(x), tm, hmms, den, chunk_out, f, left_tolerance, right_tolerance)
        except ValueError as e:
            log.warning("utterance %s: %s; skipped", utt, e)
            skipped += 1
            continue
        feats[utt], chunks[utt] = x, c
    if not feats:
        raise ValueError(f"no usable utterances in {data_dir} with alignments from {ali_dir}")
    utt2spk = {u: utt2spk.get(u, u) for u in feats}
    valid, diag = select_subsets(utt2spk, num_utts_subset, valid_fraction, seed)
    valid_set = set(valid)
    train = [u for u in sorted(feats) if u not in valid_set]
    feat_dim = next(iter(feats.values())).shape[1]
    num_chunks = {}
    for name, utts in (("train", train), ("valid", valid), ("train_diag", diag)):
        sub = egs_dir / name
        sub.mkdir(parents=True, exist_ok=True)
        total = sum(len(feats[u]) for u in utts)
        rows, arcs, logp, init, fin, frames, lines = [], [], [], [], [], [], []
        off = s_off = a_off = 0
        with atomic_path(sub / "feats.npy") as tmp:
            mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(total, feat_dim))
            for i, u in enumerate(utts):
                n = len(feats[u])
                mm[off:off + n] = feats[u]
                lines.append(f"{u} {utt2spk[u]} {off} {n}\n")
                off += n
                for start, num in chunks[u]:
                    fsa = num.fsa
                    rows.append((i, start, s_off, fsa.num_states, a_off, fsa.num_arcs))
                    arcs.append(np.stack([fsa.src.numpy(), fsa.dst.numpy(), fsa.pdf.numpy()], 1).astype(np.int32))
                    logp.append(fsa.log_prob.numpy().astype(np.float32))
                    init.append(fsa.initial.numpy().astype(np.float32))
                    fin.append(fsa.final.numpy().astype(np.float32))
                    frames.append(num.state_frames.numpy().astype(np.int32))
                    s_off += fsa.num_states
                    a_off += fsa.num_arcs
            mm.flush()
            del mm
        cat = lambda xs, shape, dt: np.concatenate(xs) if xs else np.zeros(shape, dt)  # noqa: E731
        for fname, arr in (("chunks.npy", np.array(rows, dtype=np.int64).reshape(-1, 6)),
                           ("num_arcs.npy", cat(arcs, (0, 3), np.int32)), ("num_logp.npy", cat(logp, (0,), np.float32)),
                           ("num_init.npy", cat(init, (0,), np.float32)), ("num_final.npy", cat(fin, (0,), np.float32)),
                           ("num_frames.npy", cat(frames, (0,), np.int32))):
            with atomic_path(sub / fname) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, arr)
        with atomic_write(sub / "utts.txt") as fh:
            fh.writelines(lines)
        num_chunks[name] = len(rows)
    save_den_graph(den, egs_dir / "den.npz")
    info = {"feat_dim": int(feat_dim), "num_pdfs": num_pdfs, "frame_subsampling_factor": f,
            "chunk_width": int(chunk_width), "frames_per_chunk_out": chunk_out,
            "left_tolerance": left_tolerance, "right_tolerance": right_tolerance,
            "num_utts": {"train": len(train), "valid": len(valid), "train_diag": len(diag)},
            "num_chunks": num_chunks, "num_frames": int(sum(len(feats[u]) for u in train)),
            "num_skipped": skipped, "cmvn": bool(cmvn), "norm_vars": bool(norm_vars), "seed": seed,
            "data_dir": str(data_dir), "ali_dir": str(ali_dir), "den_fst": str(den_fst),
            "den_states": den.num_states, "den_arcs": den.num_arcs}
    with atomic_write(egs_dir / "info.json") as fh:
        json.dump(info, fh, indent=1)
    log.info("Wrote chain egs to %s: %d train utterances (%d chunks), %d valid, %d train_diag; %d skipped",
             egs_dir, len(train), num_chunks["train"], len(valid), len(diag), skipped)
    return info


# ---------------------------------------------------------------------------- datasets
@dataclass
class ChainEgsSet:
    """One chain egs subset on disk (memory-mapped)."""

    feats: np.ndarray
    utts: list[str]
    offsets: np.ndarray
    lengths: np.ndarray
    chunks: np.ndarray
    arcs: np.ndarray
    logp: np.ndarray
    init: np.ndarray
    final: np.ndarray
    frames: np.ndarray

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> "ChainEgsSet":
        p = Path(path)
        ld = lambda n: np.load(p / n, mmap_mode="r" if mmap else None)  # noqa: E731
        utts, offs, lens = [], [], []
        with open(p / "utts.txt", encoding="utf-8") as f:
            for line in f:
                u, _spk, o, n = line.split()
                utts.append(u)
                offs.append(int(o))
                lens.append(int(n))
        return cls(ld("feats.npy"), utts, np.array(offs, dtype=np.int64), np.array(lens, dtype=np.int64),
                   np.load(p / "chunks.npy"), ld("num_arcs.npy"), ld("num_logp.npy"), ld("num_init.npy"),
                   ld("num_final.npy"), ld("num_frames.npy"))

    @property
    def num_chunks(self) -> int:
        return int(len(self.chunks))

    def numerator(self, c: int) -> tuple[Fsa, torch.Tensor]:
        """The numerator FSA of chunk ``c`` and its states' frames."""
        _u, _s, so, ns, ao, na = (int(v) for v in self.chunks[c])
        a = np.asarray(self.arcs[ao:ao + na], dtype=np.int64)
        t = lambda x: torch.from_numpy(np.array(x, dtype=np.float64))  # noqa: E731
        fsa = Fsa(ns, torch.from_numpy(a[:, 0].copy()), torch.from_numpy(a[:, 1].copy()),
                  torch.from_numpy(a[:, 2].copy()), t(self.logp[ao:ao + na]), t(self.init[so:so + ns]),
                  t(self.final[so:so + ns]))
        return fsa, torch.from_numpy(np.array(self.frames[so:so + ns], dtype=np.int64))


class ChainChunkDataset(torch.utils.data.Dataset):
    """``ds[indices]`` → ``(x, num)``: x (B, chunk_width + left + right, dim) float32 input
    frames around the chunks (edge frames repeated; chunk of output frames [s, s + C) covers
    input frames [s·f, s·f + C·f)), num a :class:`NumeratorBatch` of C frames (float32)."""

    def __init__(self, egs: ChainEgsSet, frames_per_chunk: int, frame_subsampling_factor: int,
                 left_context: int, right_context: int) -> None:
        self.egs = egs
        self.C = int(frames_per_chunk)
        self.f = int(frame_subsampling_factor)
        self.left, self.right = left_context, right_context

    def __len__(self) -> int:
        return self.egs.num_chunks

    def __getitem__(self, idx) -> tuple[torch.Tensor, NumeratorBatch]:
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        ch = self.egs.chunks[idx]
        u = ch[:, 0]
        off = self.egs.offsets[u][:, None]
        n = self.egs.lengths[u][:, None]
        start = ch[:, 1][:, None] * self.f
        w = self.C * self.f + self.left + self.right
        t = start - self.left + np.arange(w)[None, :]
        fidx = off + np.clip(t, 0, n - 1)
        x = np.asarray(self.egs.feats[fidx.ravel()]).reshape(len(idx), w, -1)
        fsas, frames = zip(*(self.egs.numerator(int(c)) for c in idx))
        num = batch_numerators(list(fsas), self.C, list(frames), dtype=torch.float32)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), num
