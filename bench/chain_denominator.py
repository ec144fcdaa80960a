#!/usr/bin/env python3
"""LF-MMI cost per minibatch vs a TDNN-F-sized network's forward+backward, CPU and CUDA.

    .venv/bin/python bench/chain_denominator.py [--states 4000 --arcs 40000 --pdfs 2000]
        [--batch 128 --frames 50] [--devices cpu,cuda] [--reps 3] [--out bench/out/chain_denominator.json]

A random sparse denominator graph of Kaldi's size (about 4000 states, 40000 arcs, 2000 pdfs;
initial probabilities as Kaldi's DenominatorGraph), a minibatch of 128 chunks x 50 frames
(150 frames at the 1/3 rate) and random time-indexed numerator FSAs (8 states and 16 arcs per
frame per chunk). Timed: denominator forward-backward (csr, index_add and, on CUDA with Triton,
the fused Triton kernels), numerator forward-backward (torch and Triton), the whole objective
(num+den, forward+backward through autograd, default methods), and a stand-in TDNN-F network (13 factorised layers, 768 wide, bottleneck 96, 2000-pdf chain and
xent heads; about 6M parameters) forward+backward on the same minibatch.
Self-contained: torch, numpy and hybrid.chain (itself torch + numpy only).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hybrid.chain.graph import denominator_graph, fsa_from_arcs  # noqa: E402
from hybrid.chain.loss import (ChainOptions, batch_numerators, chain_objective,  # noqa: E402
                               denominator_forward_backward, numerator_forward_backward, prepare_den_graph,
                               triton_usable)


def random_den_graph(S: int, A: int, P: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    per = A // S
    src = np.repeat(np.arange(S), per)
    dst = rng.integers(0, S, size=src.size)
    dst[::per] = src[::per]  # a self-loop on every state, as the chain HMM has
    pdf = rng.integers(0, P, size=src.size)
    w = rng.uniform(0.05, 1.0, size=src.size)
    w /= np.bincount(src, weights=w)[src] * 1.05
    arcs = np.stack([src, dst, pdf, np.log(w)], 1)
    return denominator_graph(fsa_from_arcs(S, arcs, 0, np.full(S, 0.0)))


def random_numerators(B: int, T: int, P: int, k: int = 8, seed: int = 1):
    rng = np.random.default_rng(seed)
    fsas, frames = [], []
    for _ in range(B):
        arcs = []
        for t in range(T):
            for i in range(k):
                for d in rng.choice(k, 2, replace=False):
                    arcs.append((t * k + i, (t + 1) * k + int(d), int(rng.integers(P)), -0.5))
        S = (T + 1) * k
        init = np.full(S, -np.inf)
        init[:k] = -np.log(k)
        fin = np.full(S, -np.inf)
        fin[T * k:] = 0.0
        fsas.append(fsa_from_arcs(S, arcs, init, fin))
        frames.append(torch.arange(S) // k)
    return fsas, frames


class TdnnF(torch.nn.Module):
    """Stand-in TDNN-F: conv front end, subsampling by 3, factorised residual layers, two heads."""

    def __init__(self, feat_dim=40, dim=768, bottleneck=96, layers=13, pdfs=2000):
        super().__init__()
        self.front = torch.nn.Sequential(torch.nn.Conv1d(feat_dim, dim, 5, padding=2), torch.nn.ReLU(),
                                         torch.nn.BatchNorm1d(dim), torch.nn.Conv1d(dim, dim, 3, stride=3),
                                         torch.nn.ReLU(), torch.nn.BatchNorm1d(dim))
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers - 1):
            self.blocks.append(torch.nn.Sequential(
                torch.nn.Conv1d(dim, bottleneck, 2, padding=1, bias=False),
                torch.nn.Conv1d(bottleneck, dim, 2), torch.nn.ReLU(), torch.nn.BatchNorm1d(dim)))
        self.pre_chain = torch.nn.Sequential(torch.nn.Conv1d(dim, 192, 1), torch.nn.Conv1d(192, dim, 1), torch.nn.ReLU())
        self.pre_xent = torch.nn.Sequential(torch.nn.Conv1d(dim, 192, 1), torch.nn.Conv1d(192, dim, 1), torch.nn.ReLU())
        self.out = torch.nn.Conv1d(dim, pdfs, 1)
        self.xent = torch.nn.Conv1d(dim, pdfs, 1)

    def forward(self, x):  # x: (B, feat, 3T)
        h = self.front(x)
        for b in self.blocks:
            h = 0.66 * h + b(h)
        return self.out(self.pre_chain(h)).transpose(1, 2), self.xent(self.pre_xent(h)).transpose(1, 2)


def timeit(fn, dev, reps):
    fn()  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--states", type=int, default=4000)
    ap.add_argument("--arcs", type=int, default=40000)
    ap.add_argument("--pdfs", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--devices", default="cpu,cuda")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "chain_denominator.json"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    B, T, P = args.batch, args.frames, args.pdfs
    t0 = time.perf_counter()
    den = random_den_graph(args.states, args.arcs, P)
    fsas, frames = random_numerators(B, T, P)
    print(f"graphs built in {time.perf_counter() - t0:.1f} s: den {den.num_states} states {den.num_arcs} arcs; "
          f"minibatch {B} x {T} frames, {P} pdfs", flush=True)
    results = {"states": den.num_states, "arcs": den.num_arcs, "pdfs": P, "batch": B, "frames": T,
               "torch": torch.__version__, "host": platform.node(), "threads": torch.get_num_threads(),
               "devices": {}}
    for name in args.devices.split(","):
        if name == "cuda" and not torch.cuda.is_available():
            print("cuda: not available, skipped")
            continue
        dev = torch.device(name)
        r: dict = {"device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()}
        gen = torch.Generator(device="cpu").manual_seed(0)
        x = (torch.randn(B, T, P, generator=gen) * 2).to(dev)
        num = batch_numerators(fsas, T, frames, device=dev)
        opts = ChainOptions()
        methods = ["csr", "index_add"] + (["triton"] if triton_usable(dev) else [])
        for method in methods:
            g = prepare_den_graph(den, dev, num_pdfs=P, method=method)
            r[f"den_fwd_bwd_{method}_s"] = timeit(lambda: denominator_forward_backward(x, g, 0.1), dev, args.reps)
            print(f"{name}: den fwd+bwd ({method}) {r[f'den_fwd_bwd_{method}_s'] * 1000:.2f} ms", flush=True)
        method = min(methods, key=lambda m: r[f"den_fwd_bwd_{m}_s"])
        g = prepare_den_graph(den, dev, num_pdfs=P, method=method)
        r["method"] = method
        if method != "csr":  # agreement of the fastest method with the csr one (float32)
            ref = denominator_forward_backward(x, prepare_den_graph(den, dev, num_pdfs=P, method="csr"), 0.1)
            got = denominator_forward_backward(x, g, 0.1)
            r[f"den_{method}_vs_csr_logprob_max_abs_per_frame"] = float((got[0] - ref[0]).abs().max()) / T
            r[f"den_{method}_vs_csr_post_max_abs"] = float((got[1] - ref[1]).abs().max())
        num_methods = ["torch"] + (["triton"] if triton_usable(dev) else [])
        for m in num_methods:
            r[f"num_fwd_bwd_{m}_s"] = timeit(lambda: numerator_forward_backward(x, num, method=m), dev, args.reps)
            print(f"{name}: num fwd+bwd ({m}) {r[f'num_fwd_bwd_{m}_s'] * 1000:.2f} ms", flush=True)
        if "triton" in num_methods:
            a = numerator_forward_backward(x, num, method="torch")
            b = numerator_forward_backward(x, num, method="triton")
            r["num_triton_vs_torch_logprob_max_abs"] = float((a[0] - b[0]).abs().max())
            r["num_triton_vs_torch_post_max_abs"] = float((a[1] - b[1]).abs().max())
        r["num_fwd_bwd_s"] = timeit(lambda: numerator_forward_backward(x, num), dev, args.reps)
        # float32 (chosen method) vs float64 agreement of the den log-likelihood (per frame)
        g64 = prepare_den_graph(den, dev, num_pdfs=P, dtype=torch.float64,
                                method="csr" if method in ("triton", "ell") else method)
        lp32 = denominator_forward_backward(x, g, 0.1)
        lp64 = denominator_forward_backward(x.double(), g64, 0.1)
        r["den_f32_vs_f64_logprob_max_abs_per_frame"] = float((lp32[0] - lp64[0]).abs().max()) / T
        r["den_f32_vs_f64_post_max_abs"] = float((lp32[1].double() - lp64[1]).abs().max())
        r["den_f32_ok"] = bool(lp32[2].all())

        def objective():
            y = x.clone().requires_grad_()
            res = chain_objective(y, g, num, opts)
            res.loss.backward()
            return res

        res = objective()
        r["objf_per_frame"] = res.objf_per_frame
        r["objective_fwd_bwd_s"] = timeit(objective, dev, args.reps)
        net = TdnnF(pdfs=P).to(dev)
        r["net_params"] = sum(p.numel() for p in net.parameters())
        feats = torch.randn(B, 40, 3 * T + 0, generator=gen).to(dev)

        def network():
            net.zero_grad(set_to_none=True)
            y, z = net(feats)
            (y.square().mean() + z.square().mean()).backward()

        r["net_fwd_bwd_s"] = timeit(network, dev, args.reps)
        r["objective_frames_per_s"] = B * T / r["objective_fwd_bwd_s"]
        r["objective_over_net"] = r["objective_fwd_bwd_s"] / r["net_fwd_bwd_s"]
        print(f"{name}: num fwd+bwd {r['num_fwd_bwd_s'] * 1000:.1f} ms; objective (num+den, fwd+bwd) "
              f"{r['objective_fwd_bwd_s'] * 1000:.1f} ms = {r['objective_frames_per_s']:.0f} frames/s; "
              f"network fwd+bwd {r['net_fwd_bwd_s'] * 1000:.1f} ms ({r['net_params'] / 1e6:.1f}M params); "
              f"ratio {r['objective_over_net']:.2f}; f32 vs f64 den logprob "
              f"{r['den_f32_vs_f64_logprob_max_abs_per_frame']:.2e}/frame", flush=True)
        results["devices"][name] = r
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
