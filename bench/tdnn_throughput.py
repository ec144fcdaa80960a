#!/usr/bin/env python3
"""TDNN-F training throughput: frames/second of forward + backward + optimizer step (with
max-change and the semi-orthogonal constraint, as hybrid/nnet/train.py does them), on CPU and on
CUDA when present, and the share of wall time the GPU is busy with data coming through the
real DataLoader (workers, pinned memory, prefetch) from memory-mapped synthetic egs.

Model (Kaldi-sized TDNN-F, as in Kaldi's larger tdnn_1* recipes): 40-dim input, tdnn1
Append(-1,0,1) 1536, 12 tdnnf layers 1536/160 with time-strides 1,1,1,0,3,3,3,3,3,3,3,3,
prefinal 1536/256, 3500 pdfs; 150-frame chunks (+28 context frames each side); minibatch
128 chunks on GPU (19 200 labelled frames), 8 on CPU (to keep the run short). Self-contained:
torch + numpy + this repo's hybrid/nnet; writes bench/out/tdnn_throughput.json.

Usage: python bench/tdnn_throughput.py [--steps 30] [--minibatch 128] [--amp] [--cpu-only]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from hybrid.nnet.data import ChunkDataset, EgsSet, MinibatchSchedule, make_loader  # noqa: E402
from hybrid.nnet.model import TdnnConfig, build_model  # noqa: E402
from hybrid.nnet.train import _apply_max_change, _components  # noqa: E402

CFG = dict(feat_dim=40, num_pdfs=3500, hidden_dim=1536, bottleneck_dim=160, prefinal_bottleneck_dim=256,
           splices="-1,0,1", time_strides="1,1,1,0,3,3,3,3,3,3,3,3")


def synthetic_egs(root: Path, num_utts: int = 400, seed: int = 0) -> EgsSet:
    rng = np.random.default_rng(seed)
    lens = rng.integers(300, 1500, size=num_utts)
    total = int(lens.sum())
    d = root / "train"
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "feats.npy", rng.standard_normal((total, 40), dtype=np.float32))
    np.save(d / "labels.npy", rng.integers(0, CFG["num_pdfs"], size=total, dtype=np.int32))
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]])
    (d / "utts.txt").write_text("".join(f"u{i} s{i} {o} {n}\n" for i, (o, n) in enumerate(zip(offs, lens))))
    return EgsSet.load(d)


def run(device: str, egs: EgsSet, minibatch: int, steps: int, warmup: int, amp: bool, workers: int) -> dict:
    torch.manual_seed(0)
    dev = torch.device(device)
    model = build_model(TdnnConfig(**CFG)).to(dev)
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    comps = _components(model)
    ds = ChunkDataset(egs, 150, model.left_context, model.right_context)
    sched = MinibatchSchedule(len(ds), minibatch, num_epochs=100, seed=0)
    loader = make_loader(ds, sched, 0, warmup + steps, num_workers=workers, pin_memory=dev.type == "cuda")
    cuda = dev.type == "cuda"
    ev = []
    frames = 0
    t_start = None
    for k, (x, y) in enumerate(loader):
        if k == warmup:
            if cuda:
                torch.cuda.synchronize()
            t_start = time.perf_counter()
        if cuda and k >= warmup:
            e0 = torch.cuda.Event(enable_timing=True)
            e0.record()
        x = x.to(dev, non_blocking=True)
        y = y.to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp and cuda):
            out = model(x)
        loss = F.cross_entropy(out.float().reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=-100,
                               reduction="sum") / (minibatch * 150)
        old = [[p.detach().clone() for p in ps] for _, ps in comps]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _apply_max_change(comps, old, 0.75, 1.5, 2.0)
        if k % 4 == 0:
            model.constrain_orthonormal()
        if cuda and k >= warmup:
            e1 = torch.cuda.Event(enable_timing=True)
            e1.record()
            ev.append((e0, e1))
        if k >= warmup:
            frames += minibatch * 150
    if cuda:
        torch.cuda.synchronize()
    wall = time.perf_counter() - t_start
    res = {"device": torch.cuda.get_device_name(dev) if cuda else f"cpu ({torch.get_num_threads()} threads)",
           "minibatch_chunks": minibatch, "chunk_frames": 150, "steps": steps, "amp_bf16": bool(amp and cuda),
           "params": nparams, "wall_s": round(wall, 3), "frames_per_s": round(frames / wall, 1),
           "step_ms": round(1000 * wall / steps, 2), "loader_workers": workers}
    if cuda:
        busy = sum(a.elapsed_time(b) for a, b in ev) / 1000.0
        res["gpu_busy_fraction"] = round(busy / wall, 4)
        res["max_memory_GiB"] = round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--minibatch", type=int, default=128, help="chunks per minibatch on GPU")
    ap.add_argument("--cpu-minibatch", type=int, default=8)
    ap.add_argument("--cpu-steps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--amp", action="store_true", help="also run bf16 autocast on GPU")
    ap.add_argument("--cpu-only", action="store_true")
    ap.add_argument("--no-cpu", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "tdnn_throughput.json"))
    a = ap.parse_args()
    results = {"config": CFG, "torch": torch.__version__, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        egs = synthetic_egs(Path(tmp))
        if not a.no_cpu:
            r = run("cpu", egs, a.cpu_minibatch, a.cpu_steps, 1, False, min(a.workers, 2))
            print(json.dumps(r), flush=True)
            results["runs"].append(r)
        if torch.cuda.is_available() and not a.cpu_only:
            for amp in ([False, True] if a.amp else [False]):
                r = run("cuda", egs, a.minibatch, a.steps, a.warmup, amp, a.workers)
                print(json.dumps(r), flush=True)
                results["runs"].append(r)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmpf = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmpf.write_text(json.dumps(results, indent=1) + "\n")
    os.replace(tmpf, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
