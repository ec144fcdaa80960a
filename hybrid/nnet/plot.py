"""Accuracy/objective curves from nnet3 diagnostics logs (ours and Kaldi's).

Reads ``<dir>/log/compute_prob_{train,valid}.<iter>.log`` with Kaldi's own parser regex
(steps/libs/nnet3/report/log_parse.py): ``Overall ([a-zA-Z\\-]+) for '<output>'.*is
([0-9.\\-e]+) .*per frame``. CE logs give ``log-likelihood`` and ``accuracy``; chain logs give
``log-probability`` (and ``output-xent`` has its own lines, which are not read for 'output').
matplotlib is imported only inside :func:`plot_accuracy`.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DiagPoint", "read_diagnostics", "format_tsv", "plot_accuracy"]

_NAME = re.compile(r"compute_prob_(train|valid)\.(\d+|final)\.log$")
OBJECTIVES = ("log-likelihood", "log-probability", "objective")


def _regex(output: str) -> re.Pattern:
    return re.compile(r"Overall ([a-zA-Z\-]+) for '" + re.escape(output) + r"'.*is ([0-9.\-e]+) .*per frame")


@dataclass
class DiagPoint:
    dir: str
    set: str            # train | valid
    iter: int | str     # int, or "final"
    objective: float    # log-likelihood (CE) or log-probability (chain); nan if absent
    accuracy: float     # nan if absent (chain)


def read_diagnostics(exp_dir: str | os.PathLike, output: str = "output") -> list[DiagPoint]:
    """All diagnostic points of one experiment dir, sorted by set and iteration (final last)."""
    rx = _regex(output)
    pts = []
    logdir = Path(exp_dir) / "log"
    for p in logdir.glob("compute_prob_*.log") if logdir.is_dir() else []:
        m = _NAME.search(p.name)
        if not m:
            continue
        vals: dict[str, float] = {}
        for line in p.read_text(errors="replace").splitlines():
            mm = rx.search(line)
            if mm:
                try:
                    vals[mm.group(1)] = float(mm.group(2))
                except ValueError:
                    continue
        if not vals:
            continue
        obj = next((vals[k] for k in OBJECTIVES if k in vals), math.nan)
        it = m.group(2)
        pts.append(DiagPoint(str(exp_dir), m.group(1), int(it) if it.isdigit() else it, obj,
                             vals.get("accuracy", math.nan)))
    pts.sort(key=lambda d: (d.set, (1, 0) if d.iter == "final" else (0, d.iter)))
    return pts


def format_tsv(points: list[DiagPoint]) -> str:
    """``dir set iter objective accuracy`` rows (tab-separated, with a header)."""
    rows = ["dir\tset\titer\tobjective\taccuracy"]
    for d in points:
        rows.append(f"{d.dir}\t{d.set}\t{d.iter}\t{d.objective:g}\t{d.accuracy:g}")
    return "\n".join(rows) + "\n"


def plot_accuracy(dirs: list[str], out: str | os.PathLike, output: str = "output") -> list[DiagPoint]:
    """Two panels (frame accuracy, objective) against iteration: one line per set and dir."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hybrid.nnet._atomic import atomic_path

    allpts = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for d in dirs:
        pts = read_diagnostics(d, output)
        allpts.extend(pts)
        for s, style in (("train", "-"), ("valid", "--")):
            sp = [p for p in pts if p.set == s and p.iter != "final"]
            if not sp:
                continue
            it = [p.iter for p in sp]
            label = f"{d} {s}"
            if any(not math.isnan(p.accuracy) for p in sp):
                axes[0].plot(it, [p.accuracy for p in sp], style, marker=".", label=label)
            axes[1].plot(it, [p.objective for p in sp], style, marker=".", label=label)
    axes[0].set_title("Frame accuracy ('output')")
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("accuracy")
    axes[1].set_title("Objective per frame ('output')")
    axes[1].set_xlabel("iteration")
    axes[1].set_ylabel("log-likelihood / log-probability")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle("nnet training diagnostics: " + ", ".join(dirs))
    fig.tight_layout()
    out = Path(out)
    fmt = out.suffix.lstrip(".") or "png"
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=fmt, dpi=100)
    plt.close(fig)
    return allpts
