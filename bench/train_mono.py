#!/usr/bin/env python3
"""Benchmark steps/train_mono.sh on a prepared data dir (default: AN4 train of egs/an4/s5).

Runs in a scratch directory (data dir and lang dir copied there, never inside the repo), then
writes bench/out/train_mono.json: wall time, CPU time (user+sys of all child processes),
Gaussian-only average log-likelihood per frame per iteration (from the acc logs), alignment
failures per realignment pass, #Gaussians, and an md5 of final.mdl (identical models across code
changes mean unchanged results).

  .venv/bin/python bench/train_mono.py [--data D] [--lang L] [--nj 2] [--extra "--num-iters 40"]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_logs(exp: Path) -> dict:
    likes: dict[int, list[tuple[float, float]]] = {}
    for f in exp.glob("log/acc.*.*.log"):
        it = int(f.name.split(".")[1])
        m = re.search(r"Overall avg like per frame \(Gaussian only\) = (\S+) over (\S+) frames", f.read_text())
        if m:
            likes.setdefault(it, []).append((float(m.group(1)), float(m.group(2))))
    per_iter = {it: sum(v * n for v, n in vals) / sum(n for _, n in vals) for it, vals in sorted(likes.items())}
    align = {}
    # pass 0 (equal alignment) logs to align.0.JOB.log; realignment passes run gmm-align-acc, whose
    # alignment summary ("Done N, errors on M") is in acc.X.JOB.log (older runs: align.X.JOB.log)
    for f in list(exp.glob("log/align.*.*.log")) + list(exp.glob("log/acc.*.*.log")):
        it = int(f.name.split(".")[1])
        m = re.search(r"Done (\d+), errors on (\d+)", f.read_text())
        if m:
            d, e = align.get(it, (0, 0))
            align[it] = (d + int(m.group(1)), e + int(m.group(2)))
    return {"avg_like_per_frame": per_iter, "align_done_errors": dict(sorted(align.items()))}


def main() -> None:
    ap = argparse.ArgumentParser()
    s5 = REPO / "egs" / "an4" / "s5"
    ap.add_argument("--data", default=str(s5 / "data" / "train"))
    ap.add_argument("--lang", default=str(s5 / "data" / "lang"))
    ap.add_argument("--nj", type=int, default=2)
    ap.add_argument("--extra", default="")
    ap.add_argument("--keep", default=None, help="keep the scratch dir here")
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "train_mono.json"))
    a = ap.parse_args()
    work = Path(a.keep or tempfile.mkdtemp(prefix="bench_mono_"))
    work.mkdir(parents=True, exist_ok=True)
    for x in ("steps", "utils"):
        if not (work / x).exists():
            (work / x).symlink_to(REPO / x)
    shutil.copytree(a.data, work / "data" / "train", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("split*"))
    shutil.copytree(a.lang, work / "data" / "lang", dirs_exist_ok=True)
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{os.environ['PATH']}", LC_ALL="C",
               NUMBA_CACHE_DIR=os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".numba_cache")))
    cmd = f"steps/train_mono.sh --nj {a.nj} {a.extra} data/train data/lang exp/mono"
    load0 = os.getloadavg()
    t0 = time.time()
    r0 = os.times()
    p = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    r1 = os.times()
    if p.returncode != 0:
        print(p.stdout[-3000:], p.stderr[-3000:])
        raise SystemExit(f"train_mono failed (scratch dir {work})")
    exp = work / "exp" / "mono"
    res = parse_logs(exp)
    info = subprocess.run(["hybrid", "gmm-info", str(exp / "final.mdl")], env=env, capture_output=True, text=True).stdout
    import hashlib

    res.update(command=cmd, nj=a.nj, wall_s=round(wall, 1),
               cpu_s=round((r1.children_user - r0.children_user) + (r1.children_system - r0.children_system), 1),
               gmm_info=info.strip().splitlines(), final_mdl_md5=hashlib.md5((exp / "final.mdl").read_bytes()).hexdigest(),
               load_avg_before=load0, load_avg_after=os.getloadavg(), scratch_dir=str(work), host_cpus=os.cpu_count())
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
