"""Training examples for the TDNN: Kaldi's get_egs, as memory-mapped numpy arrays.

``prepare_egs(data_dir, ali_dir, egs_dir)`` reads features (``feats.scp``), applies per-speaker
CMVN from the stored stats (``cmvn.scp`` + ``utt2spk``), converts the alignments
(``ali.*.gz``, transition-ids) to pdf-ids through ``ali_dir/final.mdl`` and writes three sets:

- ``egs_dir/valid``: a speaker-disjoint held-out subset (Kaldi's get_egs holds out
  ``num_utts_subset=300`` utterances; we take ``min(300, 5 %)``, whole speakers, a speaker's
  speed-perturbed copies ``sp<factor>-<spk>`` with it),
- ``egs_dir/train_diag``: a random subset of the training utterances of the same size,
- ``egs_dir/train``: every other utterance,

each as ``feats.npy`` (frames x dim, float32), ``labels.npy`` (pdf-id per frame, int32) and
``utts.txt`` (``utt spk offset num_frames``), plus ``egs_dir/info.json`` and
``egs_dir/pdf_counts`` (Kaldi vector text). Training then needs torch and numpy only.

:class:`ChunkDataset` cuts utterances into chunks of ``chunk_width`` output frames (the last
chunk of an utterance padded, its padded frames labelled -100 = ignored), each with
``left_context``/``right_context`` extra input frames; frames outside the utterance repeat the
edge frame, as Kaldi does at utterance ends. :class:`MinibatchSchedule` gives a seeded,
epoch-by-epoch shuffled stream of minibatches that can be entered at any minibatch index (for
resuming) and split across ranks. :func:`make_loader` wraps it in a torch DataLoader with
workers, pinned memory and prefetching.

Only torch, numpy and the standard library are imported at module level; Kaldi tables are read
through ``hybrid.io`` (kaldiio) inside the functions that need them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

log = logging.getLogger(__name__)

IGNORE = -100

__all__ = [
    "IGNORE", "read_pdf_alignments", "iter_cmvn_feats", "apply_cmvn_stats", "select_subsets", "base_speaker",
    "prepare_egs", "EgsSet", "ChunkDataset", "MinibatchSchedule", "make_loader", "read_kaldi_vector",
    "write_kaldi_vector",
]


# ---------------------------------------------------------------------------- small readers
def _read_map(path: Path) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise ValueError(f"{path}:{n}: expected '<key> <value>', got {line.rstrip()!r}")
            out[parts[0]] = parts[1]
    return out


def read_kaldi_vector(path: str | os.PathLike) -> np.ndarray:
    """Read a Kaldi text vector ``[ 1 2 3 ]``."""
    text = Path(path).read_text().replace("[", " ").replace("]", " ")
    return np.array([float(x) for x in text.split()], dtype=np.float64)


def write_kaldi_vector(path: str | os.PathLike, v: np.ndarray) -> None:
    from hybrid.nnet._atomic import atomic_write

    with atomic_write(path) as f:
        f.write("[ " + " ".join(f"{x:g}" for x in np.asarray(v).ravel()) + " ]\n")


def read_tid2pdf(model: str | os.PathLike) -> np.ndarray:
    """Transition-id → pdf-id table of the transition model at the head of ``final.mdl``."""
    from hybrid.hmm import TransitionModel
    from hybrid.io.kaldi_text import KaldiTextReader

    return TransitionModel.parse_reader(KaldiTextReader.from_file(str(model))).tid2pdf


def read_pdf_alignments(ali_dir: str | os.PathLike, model: str | os.PathLike | None = None
                        ) -> tuple[dict[str, np.ndarray], int]:
    """pdf-id sequences of ``ali_dir/ali.*.gz`` (Kaldi's ali-to-pdf), and the number of pdfs."""
    from hybrid.io import iter_table

    ali_dir = Path(ali_dir)
    tid2pdf = read_tid2pdf(model or ali_dir / "final.mdl")
    num_pdfs = int(tid2pdf.max()) + 1
    files = sorted(ali_dir.glob("ali.*.gz"), key=lambda p: int(p.name.split(".")[1]) if p.name.split(".")[1].isdigit() else 0)
    if not files:
        raise FileNotFoundError(f"no ali.*.gz in {ali_dir}")
    out: dict[str, np.ndarray] = {}
    for f in files:
        for utt, tids in iter_table(f):
            tids = np.asarray(tids, dtype=np.int64)
            if tids.size and (tids.min() < 1 or tids.max() >= len(tid2pdf)):
                log.warning("%s: utterance %s has transition-ids outside 1..%d; skipped", f, utt, len(tid2pdf) - 1)
                continue
            out[utt] = tid2pdf[tids].astype(np.int32)
    return out, num_pdfs


def apply_cmvn_stats(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False) -> np.ndarray:
    """Kaldi's apply-cmvn with a 2 x (dim+1) stats matrix (mean, optionally variance)."""
    dim = feats.shape[1]
    stats = np.asarray(stats, dtype=np.float64)
    count = stats[0, dim]
    if count < 1.0:
        raise ValueError(f"insufficient CMVN stats: count = {count}")
    mean = stats[0, :dim] / count
    out = feats - mean
    if norm_vars:
        var = np.maximum(stats[1, :dim] / count - mean * mean, 1e-20)
        out = out / np.sqrt(var)
    return out.astype(np.float32)


def iter_cmvn_feats(data_dir: str | os.PathLike, cmvn: bool = True, norm_vars: bool = False
                    ) -> Iterator[tuple[str, str, np.ndarray]]:
    """``(utt, spk, feats)`` of a data dir with per-speaker CMVN applied from ``cmvn.scp``."""
    from hybrid.io import iter_table, read_table

    d = Path(data_dir)
    utt2spk = _read_map(d / "utt2spk") if (d / "utt2spk").exists() else {}
    stats = None
    if cmvn:
        if (d / "cmvn.scp").exists():
            stats = read_table(d / "cmvn.scp")
        else:
            log.warning("%s has no cmvn.scp: features are used without CMVN", d)
    for utt, feats in iter_table(d / "feats.scp"):
        spk = utt2spk.get(utt, utt)
        feats = np.asarray(feats, dtype=np.float32)
        if stats is not None:
            if spk not in stats:
                log.warning("%s: no CMVN stats for speaker %s of utterance %s; skipped", d / "cmvn.scp", spk, utt)
                continue
            feats = apply_cmvn_stats(feats, stats[spk], norm_vars)
        yield utt, spk, feats


# ---------------------------------------------------------------------------- subsets
_PERTURB_PREFIX = re.compile(r"^sp[0-9]+(?:\.[0-9]+)?-")


def base_speaker(spk: str) -> str:
    """The speaker id without the ``sp<factor>-`` prefix of Kaldi's perturb_data_dir_speed.sh
    (``sp0.9-fash`` → ``fash``); other ids are returned unchanged."""
    return _PERTURB_PREFIX.sub("", spk, count=1)


def select_subsets(utt2spk: dict[str, str], num_utts_subset: int = 300, valid_fraction: float = 0.05,
                   seed: int = 0) -> tuple[list[str], list[str]]:
    """Held-out validation utterances and a train-diagnostic subset of the remaining
    utterances, both of about ``min(num_utts_subset, valid_fraction x #utts)`` utterances (at
    least 1).

    The validation subset is made of whole *base* speakers: a speed-perturbed copy's speaker
    ``sp<factor>-X`` (Kaldi's perturb_data_dir_speed.sh) counts as speaker ``X``, so a held-out
    speaker's perturbed recordings are held out with it and none of them is in training."""
    utts = sorted(utt2spk)
    n = max(1, min(num_utts_subset, int(round(valid_fraction * len(utts)))))
    spk2utts: dict[str, list[str]] = {}
    for u in utts:
        spk2utts.setdefault(base_speaker(utt2spk[u]), []).append(u)
    spks = sorted(spk2utts)
    rng = random.Random(seed)
    rng.shuffle(spks)
    valid: list[str] = []
    if len(spks) < 2:
        log.warning("only one speaker: the validation subset cannot be speaker-disjoint")
        valid = rng.sample(utts, min(n, max(len(utts) - 1, 0)))
    else:
        taken = 0
        for s in spks:
            if len(valid) >= n or taken == len(spks) - 1:
                break
            if valid and len(valid) + len(spk2utts[s]) > 2 * n:
                continue
            valid.extend(spk2utts[s])
            taken += 1
    valid_set = set(valid)
    rest = [u for u in utts if u not in valid_set]
    diag = sorted(rng.sample(rest, min(n, len(rest))))
    return sorted(valid), diag


def prepare_egs(data_dir: str | os.PathLike, ali_dir: str | os.PathLike, egs_dir: str | os.PathLike, *,
                num_utts_subset: int = 300, valid_fraction: float = 0.05, seed: int = 0,
                cmvn: bool = True, norm_vars: bool = False, model: str | os.PathLike | None = None) -> dict:
    """Write ``egs_dir/{train,valid,train_diag}`` and ``info.json`` (see the module doc).

    Utterances without an alignment, or whose alignment length differs from their number of
    feature frames, are reported and skipped. Returns the info dict.
    """
    from hybrid.nnet._atomic import atomic_path, atomic_write

    data_dir, egs_dir = Path(data_dir), Path(egs_dir)
    pdfs, num_pdfs = read_pdf_alignments(ali_dir, model)
    utt2spk = _read_map(data_dir / "utt2spk")
    feats: dict[str, np.ndarray] = {}
    skipped = 0
    for utt, spk, f in iter_cmvn_feats(data_dir, cmvn, norm_vars):
        a = pdfs.get(utt)
        if a is None:
            log.warning("No alignment for utterance %s; skipped", utt)
            skipped += 1
            continue
        if len(a) != len(f):
            log.warning("utterance %s: alignment has %d frames, features %d; skipped", utt, len(a), len(f))
            skipped += 1
            continue
        feats[utt] = f
    if not feats:
        raise ValueError(f"no usable utterances in {data_dir} with alignments from {ali_dir}")
    utt2spk = {u: utt2spk.get(u, u) for u in feats}
    valid, diag = select_subsets(utt2spk, num_utts_subset, valid_fraction, seed)
    valid_set = set(valid)
    train = [u for u in sorted(feats) if u not in valid_set]
    counts = np.zeros(num_pdfs, dtype=np.float64)
    for u in train:
        counts += np.bincount(pdfs[u], minlength=num_pdfs)
    feat_dim = next(iter(feats.values())).shape[1]
    for name, utts in (("train", train), ("valid", valid), ("train_diag", diag)):
        sub = egs_dir / name
        sub.mkdir(parents=True, exist_ok=True)
        total = sum(len(feats[u]) for u in utts)
        with atomic_path(sub / "feats.npy") as tmp:
            mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(total, feat_dim))
            lab = np.empty(total, dtype=np.int32)
            off = 0
            lines = []
            for u in utts:
                n = len(feats[u])
                mm[off:off + n] = feats[u]
                lab[off:off + n] = pdfs[u]
                lines.append(f"{u} {utt2spk[u]} {off} {n}\n")
                off += n
            mm.flush()
            del mm
        with atomic_path(sub / "labels.npy") as tmp:
            with open(tmp, "wb") as f:
                np.save(f, lab)
        with atomic_write(sub / "utts.txt") as f:
            f.writelines(lines)
    info = {"feat_dim": int(feat_dim), "num_pdfs": int(num_pdfs), "num_utts": {"train": len(train),
            "valid": len(valid), "train_diag": len(diag)}, "num_frames": int(sum(len(feats[u]) for u in train)),
            "num_skipped": skipped, "cmvn": bool(cmvn), "norm_vars": bool(norm_vars), "seed": seed,
            "data_dir": str(data_dir), "ali_dir": str(ali_dir)}
    write_kaldi_vector(egs_dir / "pdf_counts", counts)
    with atomic_write(egs_dir / "info.json") as f:
        json.dump(info, f, indent=1)
    log.info("Wrote egs to %s: %d train utterances (%d frames), %d valid, %d train_diag; %d skipped",
             egs_dir, len(train), info["num_frames"], len(valid), len(diag), skipped)
    return info


# ---------------------------------------------------------------------------- datasets
@dataclass
class EgsSet:
    """One egs subset on disk (memory-mapped)."""

    feats: np.ndarray
    labels: np.ndarray
    utts: list[str]
    offsets: np.ndarray
    lengths: np.ndarray

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> "EgsSet":
        p = Path(path)
        feats = np.load(p / "feats.npy", mmap_mode="r" if mmap else None)
        labels = np.load(p / "labels.npy", mmap_mode="r" if mmap else None)
        utts, offs, lens = [], [], []
        with open(p / "utts.txt", encoding="utf-8") as f:
            for line in f:
                u, _spk, o, n = line.split()
                utts.append(u)
                offs.append(int(o))
                lens.append(int(n))
        return cls(feats, labels, utts, np.array(offs, dtype=np.int64), np.array(lens, dtype=np.int64))

    @property
    def num_frames(self) -> int:
        return int(self.lengths.sum())


class ChunkDataset(torch.utils.data.Dataset):
    """Chunks of ``chunk_width`` labelled frames with edge-repeated context; ``ds[indices]``
    (a sequence of chunk indices) returns a whole minibatch ``(x, y)`` with
    x: (B, chunk_width + left + right, dim) float32 and y: (B, chunk_width) int64."""

    def __init__(self, egs: EgsSet, chunk_width: int, left_context: int, right_context: int) -> None:
        self.egs = egs
        self.chunk_width = chunk_width
        self.left, self.right = left_context, right_context
        starts, utt_idx = [], []
        for i, n in enumerate(egs.lengths):
            for s in range(0, int(n), chunk_width):
                starts.append(s)
                utt_idx.append(i)
        self.chunk_start = np.array(starts, dtype=np.int64)
        self.chunk_utt = np.array(utt_idx, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.chunk_start)

    def __getitem__(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        u = self.chunk_utt[idx]
        off = self.egs.offsets[u][:, None]
        n = self.egs.lengths[u][:, None]
        start = self.chunk_start[idx][:, None]
        w = self.chunk_width + self.left + self.right
        t = start - self.left + np.arange(w)[None, :]
        fidx = off + np.clip(t, 0, n - 1)
        x = np.asarray(self.egs.feats[fidx.ravel()]).reshape(len(idx), w, -1)
        tl = start + np.arange(self.chunk_width)[None, :]
        y = np.asarray(self.egs.labels[(off + np.minimum(tl, n - 1)).ravel()]).reshape(len(idx), -1).astype(np.int64)
        y[tl >= n] = IGNORE
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y)


class MinibatchSchedule:
    """Seeded stream of minibatches over epochs: epoch e is a permutation of all chunks
    (``numpy.random.default_rng([seed, e])``); the stream of epochs is cut into global
    minibatches of ``global_batch`` chunks (a minibatch may straddle two epochs). Rank r of
    ``world`` takes the r-th slice of each global minibatch."""

    def __init__(self, num_chunks: int, global_batch: int, num_epochs: float, seed: int = 0) -> None:
        self.num_chunks = num_chunks
        self.global_batch = global_batch
        self.seed = seed
        self.num_batches = max(1, int(math.ceil(num_epochs * num_chunks / global_batch)))
        self._perm_cache: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perm_cache:
            if len(self._perm_cache) > 4:
                self._perm_cache.clear()
            self._perm_cache[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.num_chunks)
        return self._perm_cache[epoch]

    def batch(self, k: int, rank: int = 0, world: int = 1) -> np.ndarray:
        """Chunk indices of rank ``rank``'s share of global minibatch ``k``."""
        a = k * self.global_batch
        pos = np.arange(a, a + self.global_batch)
        ep = pos // self.num_chunks
        out = np.empty(len(pos), dtype=np.int64)
        for e in np.unique(ep):
            m = ep == e
            out[m] = self._perm(int(e))[pos[m] % self.num_chunks]
        per = self.global_batch // world
        return out[rank * per:(rank + 1) * per]

    def epoch_of(self, k: int) -> float:
        return k * self.global_batch / self.num_chunks


class _BatchIndexSampler:
    def __init__(self, schedule: MinibatchSchedule, start: int, end: int, rank: int, world: int) -> None:
        self.schedule, self.start, self.end, self.rank, self.world = schedule, start, end, rank, world

    def __iter__(self):
        for k in range(self.start, self.end):
            yield self.schedule.batch(k, self.rank, self.world)

    def __len__(self) -> int:
        return self.end - self.start


def make_loader(dataset: ChunkDataset, schedule: MinibatchSchedule, start: int, end: int, *, rank: int = 0,
                world: int = 1, num_workers: int = 2, pin_memory: bool = False,
                prefetch_factor: int = 4) -> torch.utils.data.DataLoader:
    """DataLoader over global minibatches ``start..end-1`` (this rank's share), in order."""
    kw = {}
    if num_workers > 0:
        kw = {"prefetch_factor": prefetch_factor, "persistent_workers": False}
    return torch.utils.data.DataLoader(dataset, sampler=_BatchIndexSampler(schedule, start, end, rank, world),
                                       batch_size=None, num_workers=num_workers, pin_memory=pin_memory, **kw)
