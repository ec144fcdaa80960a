"""LF-MMI (chain) training: the TDNN trainer (:func:`hybrid.nnet.train.train`) with the chain
objective (Kaldi's steps/nnet3/chain/train.py).

- :class:`ChainTdnn`: the TDNN / TDNN-F of :mod:`hybrid.nnet.model` with two heads, as Kaldi's
  tdnn_1k: ``output`` (chain, no log-softmax: the prefinal-chain layers and output layer of
  :class:`~hybrid.nnet.model.Tdnn`) and ``output-xent`` (its own prefinal-xent layers after
  the shared ``prefinal-l``, with log-softmax). The output is frame-subsampled (one output
  every ``frame_subsampling_factor`` input frames): layers whose offsets are all multiples of
  the factor (tdnn_1k's time-stride-3 and -0 layers) and everything after them run at the low
  rate only, as Kaldi's compiler does.
- :class:`ChainObjective`: the objective hook of the TDNN trainer: egs from
  :mod:`hybrid.chain.egs`, loss = chain objective (:func:`hybrid.chain.loss.chain_objective`,
  leaky HMM, output l2) + ``xent_regularize`` x cross-entropy of ``output-xent`` against the
  numerator posteriors (:func:`hybrid.chain.loss.xent_objective`), diagnostics in Kaldi's chain
  wording (``Overall log-probability for 'output' is X + L2 = Y per frame, over N frames.`` and
  the same for ``'output-xent'``); ``final.pt`` has no priors (chain decodes the raw output).
- Anomaly guard (:class:`ChainObjective`): a minibatch whose chain objective, derivative or xent
  objective is not finite (or that leaves non-finite batch-norm statistics) is skipped (zero
  derivative, batch-norm statistics restored); one whose parameter gradient is not finite gets
  no update at all (single-process training: the gradients are dropped before the optimizer
  step). Each skip is logged with its position in the iteration and counted in ``train.N.log``;
  more than ``max_consecutive_skips`` skips in a row, more than ``max_skip_share`` of an
  iteration's minibatches, or a model with NaN/inf at the end of an iteration stop training
  with :class:`ChainAnomalyError` before that iteration's checkpoint is written.
- :func:`train_chain`: ``train(egs_dir, dir, config, opts, objective=ChainObjective(...))``.
- :func:`load_chain_model` / :func:`compute_chain_output`: the model for decoding, and its
  output for one utterance (``ceil(T / f)`` frames).

Only torch, numpy and the standard library are imported here.
"""

from __future__ import annotations

import json
import logging
import math
import os
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from hybrid.chain.egs import ChainChunkDataset, ChainEgsSet, load_den_graph
from hybrid.chain.loss import ChainOptions, chain_objective, prepare_den_graph, xent_objective
from hybrid.nnet.model import SemiOrthLinear, Splice, Tdnn, TdnnConfig, TdnnfLayer, TdnnLayer
from hybrid.nnet.train import CeObjective, TrainOptions, train

__all__ = ["ChainTdnn", "ChainObjective", "ChainAnomalyError", "build_chain_model", "train_chain", "chain_compute_prob",
           "format_chain_compute_prob", "load_chain_model", "compute_chain_output"]

CHAIN_KEYS = ("frame_subsampling_factor", "xent")

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- model
def _splice_low(sp: Splice, x: torch.Tensor, f: int) -> torch.Tensor:
    """A :class:`Splice` whose offsets are multiples of ``f``, on an input at 1/f of the rate."""
    if sp.dilation > 0:
        d = sp.dilation // f if len(sp.offsets) > 1 else 1
        return F.conv1d(x, sp.conv.weight, sp.conv.bias, dilation=d)
    left, right = sp.left // f, sp.right // f
    n = x.shape[-1] - left - right
    parts = [x[:, :, left + o // f: left + o // f + n] for o in sp.offsets]
    return sp.conv(torch.cat(parts, dim=1))


def _layer_low(layer: nn.Module, x: torch.Tensor, f: int) -> torch.Tensor:
    """A TDNN / TDNN-F layer whose offsets are multiples of ``f``, run at 1/f of the rate."""
    if isinstance(layer, TdnnLayer):
        return layer.dropout(layer.bn(F.relu(_splice_low(layer.affine, x, f))))
    y = layer.dropout(layer.bn(F.relu(_splice_low(layer.affine, _splice_low(layer.linear, x, f), f))))
    s = layer.stride // f
    if layer.bypass_scale != 0.0:
        y = y + layer.bypass_scale * (x[:, :, s: x.shape[-1] - s] if s else x)
    return y


def _low_rate_ok(layer: nn.Module, f: int) -> bool:
    if isinstance(layer, TdnnfLayer):
        return layer.stride % f == 0
    return all(o % f == 0 for o in layer.affine.offsets)


class ChainTdnn(Tdnn):
    """:class:`Tdnn` with a chain output and an xent output, frame-subsampled.

    ``forward(x)``: x (B, W, feat_dim) → (chain (B, T, P), xent logits (B, T, P) or None) with
    ``T = ceil((W - left_context - right_context) / f)``: output t is input frame
    ``left_context + t·f``.
    """

    def __init__(self, cfg: TdnnConfig, frame_subsampling_factor: int = 3, xent: bool = True) -> None:
        super().__init__(cfg)
        self.f = int(frame_subsampling_factor)
        if self.f < 1:
            raise ValueError("frame_subsampling_factor must be >= 1")
        k = len(self.layers)
        while k > 0 and _low_rate_ok(self.layers[k - 1], self.f):
            k -= 1
        self.low_rate_from = k  # layers k.. run at the subsampled rate
        dim = cfg.hidden_dim
        self.has_xent = bool(xent)
        if xent:
            if self.prefinal_l is not None:
                pb = cfg.prefinal_bottleneck_dim
                bn = (lambda d: nn.BatchNorm1d(d, affine=False)) if cfg.batchnorm else (lambda d: nn.Identity())
                self.prefinal_xent_big = Splice(pb, dim, [0])
                self.prefinal_xent_bn1 = bn(dim)
                self.prefinal_xent_small = SemiOrthLinear(dim, pb, [0])
                self.prefinal_xent_bn2 = bn(pb)
                out_in = pb
            else:
                out_in = dim
            self.xent_output = nn.Conv1d(out_in, cfg.num_pdfs, 1)
            with torch.no_grad():
                self.xent_output.weight.zero_()
                self.xent_output.bias.zero_()

    def body(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activations (B, C, T_out) before the heads (after ``prefinal-l`` if any)."""
        h = x.transpose(1, 2)
        f = self.f
        for i, layer in enumerate(self.layers):
            if i == self.low_rate_from and f > 1:
                h = h[:, :, ::f]
            h = layer(h) if i < self.low_rate_from or f == 1 else _layer_low(layer, h, f)
        if self.low_rate_from == len(self.layers) and f > 1:
            h = h[:, :, ::f]
        if self.prefinal_l is not None:
            h = self.prefinal_l(h)
        return h

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.body(x)
        if self.prefinal_l is not None:
            c = self.prefinal_bn1(F.relu(self.prefinal_big(h)))
            c = self.prefinal_bn2(self.prefinal_small(c))
        else:
            c = h
        chain = self.output(c).transpose(1, 2)
        if not self.has_xent:
            return chain, None
        if self.prefinal_l is not None:
            z = self.prefinal_xent_bn1(F.relu(self.prefinal_xent_big(h)))
            z = self.prefinal_xent_bn2(self.prefinal_xent_small(z))
        else:
            z = h
        return chain, self.xent_output(z).transpose(1, 2)


def build_chain_model(cfg: dict | TdnnConfig) -> ChainTdnn:
    """A :class:`ChainTdnn` from a checkpoint config (TdnnConfig fields + ``frame_subsampling_factor``,
    ``xent``)."""
    if isinstance(cfg, TdnnConfig):
        return ChainTdnn(cfg)
    cfg = dict(cfg)
    extra = {k: cfg.pop(k) for k in CHAIN_KEYS if k in cfg}
    cfg.pop("model_type", None)
    return ChainTdnn(TdnnConfig(**cfg), extra.get("frame_subsampling_factor", 3), extra.get("xent", True))


# ---------------------------------------------------------------------------- diagnostics
@dataclass
class ChainProb:
    """Sums over a set: chain log-probability (num - den), l2 term, xent log-likelihood, frames."""

    objf: float = 0.0
    l2: float = 0.0
    xent: float = 0.0
    frames: int = 0
    skipped: int = 0
    extra: dict = field(default_factory=dict)


def format_chain_compute_prob(p: ChainProb, output: str = "output") -> str:
    """Kaldi's nnet3-chain-compute-prob summary lines (read by plot-accuracy and Kaldi's scripts)."""
    n = max(p.frames, 1)
    pre = "LOG (nnet3-chain-compute-prob[hybrid]:PrintTotalStats():nnet-chain-diagnostics.cc:194) "
    if p.l2 != 0.0:
        main = (f"{pre}Overall log-probability for '{output}' is {p.objf / n:.6g} + {p.l2 / n:.6g} = "
                f"{(p.objf + p.l2) / n:.6g} per frame, over {p.frames} frames.\n")
    else:
        main = f"{pre}Overall log-probability for '{output}' is {p.objf / n:.6g} per frame, over {p.frames} frames.\n"
    return main + (f"{pre}Overall log-probability for '{output}-xent' is {p.xent / n:.6g} per frame, "
                   f"over {p.frames} frames.\n")


@torch.no_grad()
def chain_compute_prob(model: ChainTdnn, ds: ChainChunkDataset, den_graph, opts: ChainOptions, batch: int = 64,
                       device: str | torch.device = "cpu") -> ChainProb:
    """Chain and xent objectives of a model (eval mode) over every chunk of a dataset."""
    was = model.training
    model.eval()
    out = ChainProb()
    for a in range(0, len(ds), batch):
        x, num = ds[np.arange(a, min(a + batch, len(ds)))]
        chain, xent = model(x.to(device))
        res = chain_objective(chain.float(), den_graph, num.to(device), opts)
        out.frames += res.frames
        if not res.ok:
            out.skipped += 1
            out.objf += -10.0 * res.frames  # Kaldi's value for a failed minibatch
            continue
        out.objf += res.objf
        out.l2 += res.l2_term
        if xent is not None:
            out.xent += -float(xent_objective(xent.float(), res.num_post)) * res.frames
    model.train(was)
    return out


# ---------------------------------------------------------------------------- the objective hook
class ChainAnomalyError(RuntimeError):
    """Training stopped: too many minibatches with a non-finite objective or gradient, or a model
    with NaN/inf values (the iteration's checkpoint is not written)."""


class ChainObjective(CeObjective):
    """LF-MMI + xent regularisation for :func:`hybrid.nnet.train.train` (see the module doc).

    ``max_consecutive_skips`` / ``max_skip_share``: the anomaly guard's limits (skipped minibatches
    in a row; share of an iteration's minibatches).
    """

    prog = "nnet3-chain-train"
    compute_prob_prog = "nnet3-chain-compute-prob"
    combine_prog = "nnet3-chain-combine"
    num_stats = 6  # chain objf, l2 term, xent log-likelihood, frames, skipped minibatches, minibatches

    def __init__(self, chain_opts: ChainOptions | None = None, frame_subsampling_factor: int = 3,
                 den_method: str = "auto", max_consecutive_skips: int = 20, max_skip_share: float = 0.5) -> None:
        self.opts = chain_opts or ChainOptions()
        self.f = int(frame_subsampling_factor)
        self.den_method = den_method
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.max_skip_share = float(max_skip_share)
        self._den = None
        self._den_dev: dict = {}
        self._info: dict = {}
        # anomaly guard state
        self._model: nn.Module | None = None
        self._seed: int | None = None  # the trainer reseeds torch at every iteration
        self._pos = 0  # minibatches seen in this iteration (this process)
        self._skips: list[tuple[int, str]] = []  # (position in the iteration, reason)
        self._consecutive = 0
        self._last_ok = True
        self._bwd: dict | None = None  # the minibatch whose backward pass runs now
        self._hooked: weakref.WeakSet = weakref.WeakSet()  # models whose parameters carry the gradient hook

    # -- model
    def build_model(self, cfg):
        return build_chain_model(cfg)

    def initial_config(self, model_config, info: dict) -> dict:
        cfg = model_config if isinstance(model_config, TdnnConfig) else TdnnConfig(**(model_config or {}))
        cfg.feat_dim, cfg.num_pdfs = info["feat_dim"], info["num_pdfs"]
        f = int(info.get("frame_subsampling_factor", self.f))
        return {**cfg.to_dict(), "frame_subsampling_factor": f, "xent": self.opts.xent_regularize > 0}

    def init_dir(self, egs_dir: Path, dir: Path) -> None:
        from hybrid.nnet._atomic import atomic_write

        info = json.loads((egs_dir / "info.json").read_text())
        with atomic_write(dir / "frame_subsampling_factor") as f:
            f.write(f"{info.get('frame_subsampling_factor', self.f)}\n")
        with atomic_write(dir / "chain_opts.json") as f:
            json.dump(asdict(self.opts), f, indent=1)

    # -- data
    def load_sets(self, egs_dir: Path):
        self._info = json.loads((egs_dir / "info.json").read_text())
        self.f = int(self._info.get("frame_subsampling_factor", self.f))
        self._den = load_den_graph(egs_dir / "den.npz")
        self._den_dev = {}
        return ChainEgsSet.load(egs_dir / "train"), {"train": ChainEgsSet.load(egs_dir / "train_diag"),
                                                     "valid": ChainEgsSet.load(egs_dir / "valid")}

    def dataset(self, egs: ChainEgsSet, chunk_width: int, model) -> ChainChunkDataset:
        C = int(self._info["frames_per_chunk_out"])
        if model.f != self.f:
            raise ValueError(f"model has frame subsampling {model.f}, egs {self.f}")
        return ChainChunkDataset(egs, C, self.f, model.left_context, model.right_context)

    def den_graph(self, device: torch.device, num_pdfs: int):
        key = str(device)
        if key not in self._den_dev:
            self._den_dev[key] = prepare_den_graph(self._den, device=device, dtype=torch.float32, num_pdfs=num_pdfs,
                                                   method=self.den_method)
        return self._den_dev[key]

    # -- training step
    def step(self, ddp, batch, device, opts: TrainOptions):
        model = ddp.module if isinstance(ddp, nn.parallel.DistributedDataParallel) else ddp
        self._begin_minibatch(model, guard_grads=model is ddp)
        pos = self._pos - 1
        x, num = batch
        x = x.to(device, non_blocking=True)
        num = num.to(device)
        bufs = [b for b in model.buffers() if torch.is_floating_point(b)]
        saved = [b.detach().clone() for b in bufs]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=opts.amp and device.type == "cuda"):
            chain, xent = ddp(x)
        chain = chain.float()
        res = chain_objective(chain, self.den_graph(device, chain.shape[-1]), num, self.opts)
        reason = None if res.ok else res.info.get("skipped", "chain objective failed")
        loss = res.loss
        xent_ll = 0.0
        if xent is not None and res.ok:
            xl = xent_objective(xent.float(), res.num_post)
            xv = float(xl.detach())
            xent_ll = -xv * res.frames
            if not math.isfinite(xv):
                reason = f"xent objective is {xv}"
            loss = loss + self.opts.xent_regularize * xl
        if reason is None and bufs and not bool(torch.stack([torch.isfinite(b).all() for b in bufs]).all()):
            reason = "non-finite batch-norm statistics"
        if reason is not None:
            with torch.no_grad():
                for b, v in zip(bufs, saved):
                    b.data.copy_(v)  # .data: batch norm saved them for its backward (unused in training mode)
            # zero derivative (Kaldi's way for a failed minibatch); every parameter stays in the
            # graph, as DDP needs
            loss = 0.0 * chain.sum() + (0.0 * xent.float().sum() if xent is not None else 0.0)
            self._record_skip(pos, reason)
            stats = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
        else:
            stats = torch.tensor([res.objf, res.l2_term, xent_ll, res.frames, 0.0, 1.0], dtype=torch.float64)
        if self._bwd is not None:
            self._bwd.update(stats=stats, pos=pos)
        return loss, stats

    # -- anomaly guard
    def _begin_minibatch(self, model: nn.Module, guard_grads: bool) -> None:
        """Track the position in the iteration, enforce ``max_consecutive_skips``, and (single
        process) hook the parameters so that a non-finite gradient drops the whole update."""
        if self._last_ok:
            self._consecutive = 0
        if self._consecutive >= self.max_consecutive_skips:
            raise ChainAnomalyError(
                f"{self._consecutive} minibatches in a row had a non-finite objective or gradient "
                f"(last: {self._skips[-1][1] if self._skips else '?'}); stopping (the checkpoint of the "
                f"last complete iteration is kept)")
        seed = torch.initial_seed()
        if seed != self._seed:  # a new iteration (the trainer reseeds torch for each)
            self._seed, self._pos, self._skips = seed, 0, []
        self._pos += 1
        self._last_ok = True
        self._model = model
        self._bwd = None
        if guard_grads:
            if model not in self._hooked:  # (hooks of another objective stay inert)
                for p in model.parameters():
                    if p.requires_grad:
                        p.register_post_accumulate_grad_hook(self._on_grad)
                self._hooked.add(model)
            self._bwd = {"bad": None, "queued": False, "stats": None, "pos": self._pos - 1}

    def _on_grad(self, p: torch.Tensor) -> None:
        st = self._bwd
        if st is None or p.grad is None:
            return
        if not st["queued"]:
            st["queued"] = True
            torch.autograd.Variable._execution_engine.queue_callback(self._after_backward)
        bad = ~torch.isfinite(p.grad).all()  # stays on the device: one sync per minibatch
        st["bad"] = bad if st["bad"] is None else st["bad"] | bad

    def _after_backward(self) -> None:
        st, self._bwd = self._bwd, None
        if st is None or st["bad"] is None or not bool(st["bad"]):
            return
        for p in self._model.parameters():
            p.grad = None  # the optimizer skips parameters without a gradient: no update
        if self._last_ok:
            self._record_skip(st["pos"], "non-finite gradient")
            if st["stats"] is not None:  # the trainer adds the stats after the optimizer step
                st["stats"].copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 1.0], dtype=torch.float64))

    def _record_skip(self, pos: int, reason: str) -> None:
        self._last_ok = False
        self._consecutive += 1
        self._skips.append((pos, reason))
        log.warning("chain: minibatch %d of this iteration skipped: %s", pos, reason)

    def _check_model(self) -> None:
        if self._model is None:
            return
        bad = [n for n, t in [*self._model.named_parameters(), *self._model.named_buffers()]
               if torch.is_floating_point(t) and not bool(torch.isfinite(t).all())]
        if bad:
            raise ChainAnomalyError(f"the model has NaN/inf values after this iteration (in {', '.join(bad[:5])}"
                                    f"{' ...' if len(bad) > 5 else ''}); it is not saved, the checkpoint of the "
                                    f"last complete iteration is kept")

    def train_log_lines(self, stats: list[float]) -> str:
        """The iteration's train.N.log lines (rank 0, before its checkpoint is written): also where
        the guard stops training on too many skipped minibatches or a non-finite model."""
        objf, l2, xent, n, skipped, mbs = stats
        nf = max(n, 1)
        p = f"LOG ({self.prog}[hybrid]) "
        lines = (f"{p}Overall average objective function for 'output' is {objf / nf:.6g} + {l2 / nf:.6g} = "
                 f"{(objf + l2) / nf:.6g} over {int(n)} frames.\n"
                 f"{p}Overall average objective function for 'output-xent' is {xent / nf:.6g} over {int(n)} frames.\n")
        if skipped:
            where = ", ".join(f"{k} ({r})" for k, r in self._skips[:10]) + (" ..." if len(self._skips) > 10 else "")
            lines += (f"WARNING ({self.prog}[hybrid]) {int(skipped)} of {int(mbs)} minibatches skipped "
                      f"(chain objective anomaly){'; positions in this iteration: ' + where if where else ''}\n")
        skips, self._skips, self._seed = list(self._skips), [], None
        if mbs and skipped > self.max_skip_share * mbs:
            raise ChainAnomalyError(
                f"{int(skipped)} of {int(mbs)} minibatches of this iteration had a non-finite objective or "
                f"gradient (more than {self.max_skip_share:.0%}; first: "
                f"{', '.join(f'minibatch {k} ({r})' for k, r in skips[:3]) or '?'}); stopping (the checkpoint "
                f"of the last complete iteration is kept)")
        self._check_model()
        return lines

    def summary(self, stats: list[float]) -> str:
        nf = max(stats[3], 1)
        return f"chain {(stats[0] + stats[1]) / nf:.4f} xent {stats[2] / nf:.4f}"

    def frames(self, stats: list[float]) -> int:
        return int(stats[3])

    # -- diagnostics / combination
    def compute_prob(self, model, egs: ChainEgsSet, chunk_width: int, device) -> tuple[str, tuple]:
        ds = self.dataset(egs, chunk_width, model)
        p = chain_compute_prob(model, ds, self.den_graph(torch.device(device), model.cfg.num_pdfs), self.opts,
                               device=device)
        n = max(p.frames, 1)
        return format_chain_compute_prob(p), ((p.objf + p.l2) / n, p.xent / n, p.frames)

    def combine_line(self, res: tuple) -> str:
        return f"objective {res[0]:.6g}, xent {res[1]:.6g} over {res[2]} frames"

    def final_extras(self, dir: Path) -> dict:
        return {"frame_subsampling_factor": self.f}


def train_chain(egs_dir: str | os.PathLike, dir: str | os.PathLike, model_config: TdnnConfig | dict | None = None,
                opts: TrainOptions | None = None, chain_opts: ChainOptions | None = None,
                den_method: str = "auto") -> dict:
    """Train (or resume) a chain model in ``dir`` on chain egs (:func:`hybrid.chain.egs.prepare_chain_egs`)."""
    return train(egs_dir, dir, model_config, opts, objective=ChainObjective(chain_opts, den_method=den_method))


# ---------------------------------------------------------------------------- decoding
def load_chain_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> ChainTdnn:
    """A chain model (eval mode) from ``final.pt`` or ``<iter>.pt``."""
    ckpt = torch.load(path, map_location=device, weights_only=False)
    model = build_chain_model(ckpt["config"]).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model


@torch.no_grad()
def compute_chain_output(model: ChainTdnn, feats: np.ndarray, device: str | torch.device = "cpu") -> np.ndarray:
    """(ceil(T / f), num_pdfs) float32: the chain output of a whole utterance (edge frames
    repeated for the context); no log-softmax, no priors (Kaldi decodes chain models so)."""
    x = torch.as_tensor(np.asarray(feats, dtype=np.float32), device=device)
    lc, rc = model.left_context, model.right_context
    x = torch.cat([x[:1].expand(lc, -1), x, x[-1:].expand(rc, -1)], dim=0)
    y, _ = model(x.unsqueeze(0))
    return y[0].float().cpu().numpy()
