"""Cross-entropy training of a TDNN on egs (Kaldi's steps/nnet3/train_dnn.py, in one process
per GPU).

Schedule, as Kaldi's: the training data are processed in *iterations* of ``frames_per_iter``
frames per job (Kaldi: one archive per job per iteration); with ``num_jobs`` ranks
(DistributedDataParallel, gradients averaged) an iteration covers ``num_jobs x
frames_per_iter`` frames. The learning rate of iteration ``i`` of ``N`` is
``num_jobs x initial x (final/initial)^(i/N)`` (Kaldi's effective learning rate times the number
of jobs, exponential decay); the dropout proportion follows Kaldi's dropout-schedule string at
data fraction ``i/N``.

Optimizer: ``adam`` (default; the learning rate is the Adam step size, so Kaldi's effective
rates 0.001 → 0.0001 apply as they are) or ``sgd`` (plain SGD with optional momentum on the
frame-summed gradient, i.e. Kaldi's learning-rate semantics without natural-gradient
preconditioning). Both get Kaldi's max-change: per minibatch, the change of each component's
parameters is scaled down to norm ``max_change`` (1.5 for the output layer), then the whole
change to ``max_param_change``.

Files, in ``dir``: ``<iter>.pt`` after each iteration (checkpoint: model, optimizer, config;
written to a temporary name and renamed, so the highest ``<iter>.pt`` is always complete),
``log/train.<iter>.log``, ``log/compute_prob_{train,valid}.<iter>.log`` every
``diagnostic_interval`` iterations and for ``final``, ``log/combine.log``, ``final.pt``.
A killed run resumes from its last checkpoint and reproduces the uninterrupted run (data order,
dropout masks and the orthonormal-constraint steps are functions of the seed and the
minibatch/iteration index).

The objective is a hook: :class:`CeObjective` (cross-entropy on frame labels, the default)
builds the model, the datasets, the per-minibatch loss, the train/diagnostic log lines and the
extras of ``final.pt``; another objective (e.g. LF-MMI in :mod:`hybrid.chain.train`) passes
its own object with the same methods as ``train(..., objective=...)``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hybrid.nnet.data import IGNORE, ChunkDataset, EgsSet, MinibatchSchedule, make_loader, read_kaldi_vector
from hybrid.nnet.model import Tdnn, TdnnConfig, build_model, dropout_at, parse_dropout_schedule

log = logging.getLogger(__name__)

__all__ = ["TrainOptions", "CeObjective", "train", "compute_prob", "format_compute_prob", "learning_rate", "latest_checkpoint",
           "save_checkpoint", "load_checkpoint", "average_state_dicts", "combine_models", "dist_info"]


@dataclass
class TrainOptions:
    num_epochs: float = 4.0
    initial_effective_lrate: float = 0.001
    final_effective_lrate: float = 0.0001
    minibatch_size: int = 64          # chunks per minibatch per job
    chunk_width: int = 150
    frames_per_iter: int = 400000     # per job
    optimizer: str = "adam"           # adam | sgd
    momentum: float = 0.0             # sgd only
    l2_regularize: float = 0.0        # weight decay on weight matrices
    max_change: float = 0.75
    max_change_output: float = 1.5
    max_param_change: float = 2.0
    dropout_schedule: str = ""
    orthonormal_interval: int = 4
    diagnostic_interval: int = 1
    max_models_combine: int = 20
    seed: int = 0
    num_workers: int = 2
    device: str = "cpu"
    amp: bool = False                 # bf16 autocast on CUDA
    max_iters_this_run: int = -1      # stop (with a checkpoint) after this many iterations
    cleanup_keep: int = 0             # >0: delete checkpoints older than the last N (+ every 100th)


def dist_info() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment (0, 1, 0 without it)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def learning_rate(it: int, num_iters: int, num_jobs: int, initial: float, final: float) -> float:
    """Kaldi's get_learning_rate: num_jobs x initial x exp(it/num_iters x log(final/initial))."""
    frac = it / max(num_iters, 1)
    return num_jobs * initial * math.exp(frac * math.log(final / initial))


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """torch.save to a temporary file in the same directory, then rename."""
    from hybrid.nnet._atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    return torch.load(path, map_location=device, weights_only=False)


def latest_checkpoint(dir: str | os.PathLike) -> int:
    """Highest N with ``dir/N.pt`` (-1 if none). Temporary files never match."""
    its = [int(p.stem) for p in Path(dir).glob("*.pt") if p.stem.isdigit()]
    return max(its) if its else -1


def average_state_dicts(states: list[dict]) -> dict:
    """Parameter (and BatchNorm-statistics) average, like nnet3-average."""
    out = {}
    for k, v in states[0].items():
        if torch.is_floating_point(v):
            out[k] = sum(s[k].double() for s in states).div(len(states)).to(v.dtype)
        else:
            out[k] = v.clone()
    return out


# ---------------------------------------------------------------------------- diagnostics
@torch.no_grad()
def compute_prob(model: Tdnn, egs: EgsSet, chunk_width: int = 150, batch: int = 64,
                 device: str | torch.device = "cpu") -> tuple[float, float, int]:
    """(total log-likelihood of the reference pdfs, number correct, frames) in eval mode."""
    was = model.training
    model.eval()
    ds = ChunkDataset(egs, chunk_width, model.left_context, model.right_context)
    tot_ll, tot_acc, tot_n = 0.0, 0.0, 0
    for a in range(0, len(ds), batch):
        x, y = ds[np.arange(a, min(a + batch, len(ds)))]
        x, y = x.to(device), y.to(device)
        logp = F.log_softmax(model(x).float(), dim=-1)
        m = y != IGNORE
        ys = y.clamp(min=0)
        ll = logp.gather(-1, ys.unsqueeze(-1)).squeeze(-1)
        tot_ll += float(ll[m].double().sum())
        tot_acc += float((logp.argmax(-1) == y)[m].sum())
        tot_n += int(m.sum())
    model.train(was)
    return tot_ll, tot_acc, tot_n


def format_compute_prob(tot_ll: float, tot_acc: float, n: int, output: str = "output") -> str:
    """Kaldi's nnet3-compute-prob summary lines (parsed by Kaldi's and our plot scripts)."""
    n1 = max(n, 1)
    return (f"LOG (nnet3-compute-prob[hybrid]:PrintTotalStats():nnet-diagnostics.cc:194) Overall log-likelihood "
            f"for '{output}' is {tot_ll / n1:.6g} per frame, over {n} frames.\n"
            f"LOG (nnet3-compute-prob[hybrid]:PrintTotalStats():nnet-diagnostics.cc:206) Overall accuracy "
            f"for '{output}' is {tot_acc / n1:.6g} per frame, over {n} frames.\n")


def _write_log(path: Path, text: str) -> None:
    from hybrid.nnet._atomic import atomic_write

    with atomic_write(path) as f:
        f.write(text)


def _diagnostics(model: Tdnn, dir: Path, tag: str, sets: dict, chunk_width: int, device,
                 objective: "CeObjective | None" = None) -> dict:
    objective = objective or CeObjective()
    out = {}
    for name, egs in sets.items():
        t0 = time.time()
        text, res = objective.compute_prob(model, egs, chunk_width, device)
        _write_log(dir / "log" / f"compute_prob_{name}.{tag}.log",
                   f"# {objective.compute_prob_prog} {dir}/{tag}.pt egs/{'valid' if name == 'valid' else 'train_diag'}\n"
                   + text + f"# Accounting: time={time.time() - t0:.2f}\n")
        out[name] = res
    return out


# ---------------------------------------------------------------------------- objectives
class CeObjective:
    """Cross-entropy on per-frame pdf labels (Kaldi's nnet3 'output' with log-softmax): the
    default objective of :func:`train`. An objective object provides:

    - ``build_model(config_dict)`` and ``initial_config(model_config, info) -> dict``;
    - ``init_dir(egs_dir, dir)``: files written next to ``0.pt`` (here ``pdf_counts``);
    - ``load_sets(egs_dir) -> (train_set, {"train": diag_set, "valid": valid_set})`` and
      ``dataset(set, chunk_width, model)``: ``ds[indices]`` gives a minibatch;
    - ``num_stats`` and ``step(ddp, batch, device, opts) -> (loss, stats)`` (``stats``: a
      float64 tensor of ``num_stats`` sums, all-reduced over ranks);
    - ``train_log_lines(stats) -> str`` and ``summary(stats) -> str`` (train.N.log);
    - ``compute_prob(model, set, chunk_width, device) -> (log text, (objective per frame, ...))``:
      the first number is what ``combine`` maximises;
    - ``final_extras(dir) -> dict`` (stored in ``final.pt``).
    """

    prog = "nnet3-train"
    compute_prob_prog = "nnet3-compute-prob"
    combine_prog = "nnet3-combine"
    num_stats = 3  # objf, correct, frames

    def build_model(self, cfg: dict | TdnnConfig) -> torch.nn.Module:
        return build_model(cfg)

    def initial_config(self, model_config, info: dict) -> dict:
        cfg = model_config if isinstance(model_config, TdnnConfig) else TdnnConfig(**(model_config or {}))
        cfg.feat_dim, cfg.num_pdfs = info["feat_dim"], info["num_pdfs"]
        return cfg.to_dict()

    def init_dir(self, egs_dir: Path, dir: Path) -> None:
        counts = read_kaldi_vector(egs_dir / "pdf_counts")
        _write_log(dir / "pdf_counts", "[ " + " ".join(f"{c:g}" for c in counts) + " ]\n")

    def load_sets(self, egs_dir: Path):
        return EgsSet.load(egs_dir / "train"), {"train": EgsSet.load(egs_dir / "train_diag"),
                                                "valid": EgsSet.load(egs_dir / "valid")}

    def dataset(self, egs, chunk_width: int, model) -> ChunkDataset:
        return ChunkDataset(egs, chunk_width, model.left_context, model.right_context)

    def step(self, ddp, batch, device, opts: "TrainOptions") -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=opts.amp and device.type == "cuda"):
            logits = ddp(x)
        logp = F.log_softmax(logits.float(), dim=-1)
        loss_sum = F.nll_loss(logp.reshape(-1, logp.shape[-1]), y.reshape(-1), ignore_index=IGNORE,
                              reduction="sum")
        loss = loss_sum / float(opts.minibatch_size * opts.chunk_width)
        with torch.no_grad():
            m = y != IGNORE
            stats = torch.stack([-loss_sum.detach().double(), ((logp.argmax(-1) == y) & m).sum().double(),
                                 m.sum().double()])
        return loss, stats

    def train_log_lines(self, stats: list[float]) -> str:
        obj, acc, n = stats
        nf = max(n, 1)
        return (f"LOG ({self.prog}[hybrid]) Overall average objective function for 'output' is "
                f"{obj / nf:.6g} over {int(n)} frames.\n"
                f"LOG ({self.prog}[hybrid]) Overall average accuracy for 'output' is {acc / nf:.6g} "
                f"over {int(n)} frames.\n")

    def summary(self, stats: list[float]) -> str:
        nf = max(stats[-1], 1)
        return f"objf {stats[0] / nf:.4f} acc {stats[1] / nf:.4f}"

    def frames(self, stats: list[float]) -> int:
        return int(stats[-1])

    def compute_prob(self, model, egs, chunk_width: int, device) -> tuple[str, tuple]:
        ll, acc, n = compute_prob(model, egs, chunk_width, device=device)
        return format_compute_prob(ll, acc, n), (ll / max(n, 1), acc / max(n, 1), n)

    def combine_line(self, res: tuple) -> str:
        return f"objective {res[0]:.6g}, accuracy {res[1]:.6g} over {res[2]} frames"

    def final_extras(self, dir: Path) -> dict:
        counts = read_kaldi_vector(dir / "pdf_counts")
        priors = (counts + 1.0) / (counts + 1.0).sum()
        return {"log_priors": torch.from_numpy(np.log(priors)).float()}


# ---------------------------------------------------------------------------- max-change
def _components(model: torch.nn.Module) -> list[tuple[str, list[torch.nn.Parameter]]]:
    comps = []
    for name, mod in model.named_modules():
        ps = [p for p in mod.parameters(recurse=False) if p.requires_grad]
        if ps:
            comps.append((name, ps))
    return comps


@torch.no_grad()
def _apply_max_change(comps, old: list[list[torch.Tensor]], max_change: float, max_change_output: float,
                      max_param_change: float) -> torch.Tensor:
    """Scale each component's change to at most its max-change (Kaldi's per-component
    max-change), then the whole change to ``max_param_change``. No host synchronisation;
    returns (as a tensor) how many components were limited."""
    params = [p for _, ps in comps for p in ps]
    olds = [o for os_ in old for o in os_]
    deltas = [p - o for p, o in zip(params, olds)]
    comp_of = [i for i, (_, ps) in enumerate(comps) for _ in ps]
    dev = params[0].device
    p2 = torch.stack([d.float().pow(2).sum() for d in deltas])
    cn = torch.zeros(len(comps), device=dev).index_add_(0, torch.tensor(comp_of, device=dev), p2).sqrt()
    lim = torch.tensor([(max_change_output if n.endswith("output") else max_change) if max_change > 0 else math.inf
                        for n, _ in comps], device=dev)
    s = torch.clamp(lim / cn.clamp_min(1e-30), max=1.0)
    tot = (s * cn).norm()
    g = torch.clamp(max_param_change / tot.clamp_min(1e-30), max=1.0) if max_param_change > 0 else torch.ones((), device=dev)
    f = s * g
    for p, o, d, i in zip(params, olds, deltas, comp_of):
        p.copy_(o + d * f[i].to(d.dtype))
    return (s < 1.0).sum()


def _make_optimizer(model: torch.nn.Module, opts: TrainOptions) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": opts.l2_regularize}, {"params": no_decay, "weight_decay": 0.0}]
    if opts.optimizer == "adam":
        return torch.optim.Adam(groups, lr=opts.initial_effective_lrate)
    if opts.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=opts.initial_effective_lrate, momentum=opts.momentum)
    raise ValueError(f"unknown optimizer {opts.optimizer!r} (adam | sgd)")


# ---------------------------------------------------------------------------- the loop
def train(egs_dir: str | os.PathLike, dir: str | os.PathLike, model_config: TdnnConfig | dict | None = None,
          opts: TrainOptions | None = None, objective: CeObjective | None = None) -> dict:
    """Train (or resume training) ``dir`` on ``egs_dir``; returns a summary dict.

    Under torchrun (WORLD_SIZE > 1) each process trains on its share of every minibatch
    (gloo on CPU, nccl on CUDA) and rank 0 writes checkpoints and logs. ``objective``: see
    :class:`CeObjective` (the default).
    """
    opts = opts or TrainOptions()
    obj = objective or CeObjective()
    egs_dir, dir = Path(egs_dir), Path(dir)
    rank, world, local_rank = dist_info()
    distributed = world > 1
    device = torch.device(opts.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank if device.index is None else device.index)
        torch.cuda.set_device(device)
    if distributed and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    (dir / "log").mkdir(parents=True, exist_ok=True)
    info = json.loads((egs_dir / "info.json").read_text())

    # ---- initial model (rank 0), then everyone loads the last complete checkpoint
    if rank == 0 and latest_checkpoint(dir) < 0:
        cfg = obj.initial_config(model_config, info)
        torch.manual_seed(opts.seed)
        m0 = obj.build_model(cfg)
        save_checkpoint(dir / "0.pt", {"iter": 0, "config": cfg, "model": m0.state_dict(),
                                       "optimizer": None, "opts": asdict(opts)})
        obj.init_dir(egs_dir, dir)
        _write_log(dir / "num_jobs", f"{world}\n")
    if distributed:
        torch.distributed.barrier()
    start = latest_checkpoint(dir)
    ckpt = load_checkpoint(dir / f"{start}.pt")
    model = obj.build_model(ckpt["config"]).to(device)
    model.load_state_dict(ckpt["model"])
    optimizer = _make_optimizer(model, opts)
    if ckpt.get("optimizer"):
        optimizer.load_state_dict(ckpt["optimizer"])
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if distributed else model
    comps = _components(model)

    train_egs, diag_sets = obj.load_sets(egs_dir)
    ds = obj.dataset(train_egs, opts.chunk_width, model)
    global_batch = opts.minibatch_size * world
    sched = MinibatchSchedule(len(ds), global_batch, opts.num_epochs, opts.seed)
    batches_per_iter = max(1, int(round(opts.frames_per_iter / (opts.minibatch_size * opts.chunk_width))))
    num_iters = int(math.ceil(sched.num_batches / batches_per_iter))
    dropout_sched = parse_dropout_schedule(opts.dropout_schedule) if opts.dropout_schedule else None
    if rank == 0 and start == 0:
        log.info("%d chunks of %d frames, %d minibatches of %d chunks (%s jobs), %d iterations",
                 len(ds), opts.chunk_width, sched.num_batches, global_batch, world, num_iters)

    it = start
    stop_at = num_iters if opts.max_iters_this_run < 0 else min(num_iters, start + opts.max_iters_this_run)
    while it < stop_at:
        if rank == 0 and it % opts.diagnostic_interval == 0 and not (dir / "log" / f"compute_prob_valid.{it}.log").exists():
            _diagnostics(model, dir, str(it), diag_sets, opts.chunk_width, device, obj)
        lr = learning_rate(it, num_iters, world, opts.initial_effective_lrate, opts.final_effective_lrate)
        if opts.optimizer == "sgd":
            lr_eff = lr * opts.minibatch_size * opts.chunk_width  # frame-summed gradient semantics
        else:
            lr_eff = lr
        for g in optimizer.param_groups:
            g["lr"] = lr_eff
        dropout = dropout_at(dropout_sched, it / num_iters) if dropout_sched else 0.0
        model.set_dropout(dropout)
        torch.manual_seed(opts.seed * 1000003 + it * 1009 + rank)
        b0, b1 = it * batches_per_iter, min((it + 1) * batches_per_iter, sched.num_batches)
        loader = make_loader(ds, sched, b0, b1, rank=rank, world=world, num_workers=opts.num_workers,
                             pin_memory=device.type == "cuda")
        t0 = time.time()
        acc_t = torch.zeros(obj.num_stats + 1, dtype=torch.float64, device=device)  # objective's sums, limited
        lines = []
        model.train()
        for k, batch in zip(range(b0, b1), loader):
            loss, stats = obj.step(ddp, batch, device, opts)
            old = [[p.detach().clone() for p in ps] for _, ps in comps] if opts.max_change > 0 or \
                opts.max_param_change > 0 else None
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if old is not None:
                acc_t[-1] += _apply_max_change(comps, old, opts.max_change, opts.max_change_output,
                                               opts.max_param_change)
            if opts.orthonormal_interval > 0 and k % opts.orthonormal_interval == 0:
                model.constrain_orthonormal()
            acc_t[:-1] += stats.to(device=device, dtype=torch.float64)
        if distributed:
            torch.distributed.all_reduce(acc_t)
        sums = acc_t.tolist()
        stats_sums, limited_total = sums[:-1], int(sums[-1])
        tot_frames = obj.frames(stats_sums)
        dt = time.time() - t0
        it += 1
        if rank == 0:
            lines.append(f"# hybrid nnet-train iteration {it - 1} of {num_iters}: {b1 - b0} minibatches "
                         f"({b0}..{b1 - 1}), epoch {sched.epoch_of(b0):.3f}, {world} job(s)\n")
            lines.append(f"LOG ({obj.prog}[hybrid]) learning rate {lr:.6g} (optimizer {opts.optimizer}), "
                         f"dropout {json.dumps(dropout)}\n")
            lines.append(obj.train_log_lines(stats_sums))
            lines.append(f"LOG ({obj.prog}[hybrid]) Per-component max-change was active on "
                         f"{limited_total} component-minibatches.\n")
            lines.append(f"# Accounting: time={dt:.2f} frames/sec={tot_frames / max(dt, 1e-9):.0f}\n")
            _write_log(dir / "log" / f"train.{it - 1}.log", "".join(lines))
            save_checkpoint(dir / f"{it}.pt", {"iter": it, "config": ckpt["config"], "model": model.state_dict(),
                                               "optimizer": optimizer.state_dict(), "opts": asdict(opts),
                                               "num_iters": num_iters})
            if opts.cleanup_keep > 0:
                for old_it in range(0, it - opts.cleanup_keep):
                    p = dir / f"{old_it}.pt"
                    if old_it % 100 != 0 and p.exists() and old_it < num_iters - opts.max_models_combine:
                        p.unlink()
            log.info("iter %d/%d lr %.3g %s (%.0f frames/s)", it - 1, num_iters, lr, obj.summary(stats_sums),
                     tot_frames / max(dt, 1e-9))
        if distributed:
            torch.distributed.barrier()

    summary = {"num_iters": num_iters, "iter": it, "finished": it >= num_iters}
    if it >= num_iters and rank == 0:
        if not (dir / "final.pt").exists():
            _diagnostics(model, dir, str(it), diag_sets, opts.chunk_width, device, obj)
            best = combine_models(dir, num_iters, diag_sets["train"], opts, device, obj)
            summary["combine"] = best
        final = load_checkpoint(dir / "final.pt", device)
        model.load_state_dict(final["model"])
        res = _diagnostics(model, dir, "final", diag_sets, opts.chunk_width, device, obj)
        summary["final"] = res
    if distributed:
        torch.distributed.barrier()
    return summary


def combine_models(dir: Path, num_iters: int, egs, opts: TrainOptions, device,
                   objective: CeObjective | None = None) -> dict:
    """Kaldi's combine stage: average the last n models (n = 1..max_models_combine), keep the
    n whose average has the best objective on the train-diagnostic subset (Kaldi combines on
    a train subset); write ``final.pt`` with the objective's extras (CE: the log-priors from
    the pdf counts)."""
    obj = objective or CeObjective()
    first = max(1, num_iters - opts.max_models_combine + 1)
    avail = [i for i in range(num_iters, first - 1, -1) if (dir / f"{i}.pt").exists()]
    base = load_checkpoint(dir / f"{num_iters}.pt")
    model = obj.build_model(base["config"]).to(device)
    states, lines, best = [], [], None
    for n, i in enumerate(avail, 1):
        states.append(load_checkpoint(dir / f"{i}.pt")["model"])
        avg = average_state_dicts(states)
        model.load_state_dict(avg)
        _text, res = obj.compute_prob(model, egs, opts.chunk_width, device)
        lines.append(f"LOG ({obj.combine_prog}[hybrid]) Averaging the last {n} models (iterations {i}..{num_iters}): "
                     f"{obj.combine_line(res)}\n")
        if best is None or res[0] > best[1]:
            best = (n, res[0], avg)
    n, objf, avg = best
    lines.append(f"LOG ({obj.combine_prog}[hybrid]) Combining the last {n} models: objective {objf:.6g} per frame\n")
    save_checkpoint(dir / "final.pt", {"iter": "final", "config": base["config"], "model": avg,
                                       **obj.final_extras(dir), "num_models_combined": n})
    _write_log(dir / "log" / "combine.log", "".join(lines))
    return {"num_models": n, "objective": objf}
