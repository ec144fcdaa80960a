"""TDNN and TDNN-F acoustic models (Kaldi nnet3 xconfig equivalents) in torch.

Layers are 1-d convolutions over time without padding, so a chunk of ``T + left_context +
right_context`` input frames gives ``T`` output frames, as nnet3 computes with its context.

- ``TdnnLayer`` = Kaldi's ``relu-batchnorm-dropout-layer input=Append(o1,o2,...)``: an affine
  map over the spliced frames (a dilated convolution when the offsets are evenly spaced, e.g.
  ``-3,0,3``; a splice + 1x1 convolution otherwise), ReLU, BatchNorm without scale/offset
  (Kaldi's BatchNormComponent, target-rms 1), dropout.
- ``TdnnfLayer`` = Kaldi's ``tdnnf-layer dim=D bottleneck-dim=B time-stride=s bypass-scale=0.66``:
  a linear map of frames (t-s, t) to the bottleneck, constrained to be semi-orthogonal with a
  floating scale (``orthonormal-constraint=-1``), an affine map of (t, t+s) back to D, ReLU,
  BatchNorm, dropout, plus ``bypass_scale`` times the input.
- TDNN-F models end like Kaldi's tdnn_1k: ``linear-component prefinal-l`` (semi-orthogonal),
  ``prefinal-layer big-dim small-dim``, ``output-layer``.

The semi-orthogonal constraint is Kaldi's ``ConstrainOrthonormalInternal`` (nnet-utils.cc):
``M <- M - 4 a (M M^T - s^2 I) M`` with ``s^2 = tr(P P^T)/tr(P)``, ``a = nu/s^2``, ``nu = 1/8``
(halved when far from orthogonal); the trainer calls :meth:`Tdnn.constrain_orthonormal` every
4th minibatch (Kaldi does it with probability 1/4 per minibatch).

Only torch, numpy and the standard library are imported here.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "TdnnConfig", "Tdnn", "TdnnLayer", "TdnnfLayer", "SemiOrthLinear", "GeneralDropout",
    "constrain_orthonormal_", "parse_splices", "parse_dropout_schedule", "dropout_at",
    "build_model", "tdnn_1k_config", "tdnn_ce_config",
]


def parse_splices(spec: str) -> list[list[int]]:
    """``"-2,-1,0,1,2 -1,0,1 -3,0,3"`` → one sorted offset list per layer (space- or ';'-separated)."""
    out = []
    for part in spec.replace(";", " ").split():
        offs = sorted(int(x) for x in part.split(","))
        if len(set(offs)) != len(offs):
            raise ValueError(f"repeated offset in splice {part!r}")
        out.append(offs)
    return out


@dataclass
class TdnnConfig:
    """Network shape. ``splices``: one offset list per plain TDNN layer (the first layers);
    ``time_strides``: one TDNN-F layer per entry (empty: a plain TDNN)."""

    feat_dim: int = 40
    num_pdfs: int = 100
    hidden_dim: int = 512
    splices: str = "-2,-1,0,1,2 -1,0,1 -1,0,1 -3,0,3 -3,0,3 -3,0,3"
    time_strides: str = ""
    bottleneck_dim: int = 160
    prefinal_bottleneck_dim: int = 256
    bypass_scale: float = 0.66
    batchnorm: bool = True
    dropout_per_dim_continuous: bool = True

    def strides(self) -> list[int]:
        return [int(x) for x in self.time_strides.replace(",", " ").split()]

    def to_dict(self) -> dict:
        return asdict(self)


def tdnn_ce_config(feat_dim: int, num_pdfs: int, hidden_dim: int = 512) -> TdnnConfig:
    """Kaldi's plain nnet3 CE TDNN (e.g. egs/*/local/nnet3/run_tdnn.sh): 6 relu-batchnorm layers."""
    return TdnnConfig(feat_dim=feat_dim, num_pdfs=num_pdfs, hidden_dim=hidden_dim)


def tdnn_1k_config(feat_dim: int, num_pdfs: int, hidden_dim: int = 768, bottleneck_dim: int = 96,
                   prefinal_bottleneck_dim: int = 192) -> TdnnConfig:
    """mini_librispeech tdnn_1k shape: tdnn1 Append(-1,0,1), then 12 TDNN-F layers with
    time-strides 1,1,1,0,3,3,3,3,3,3,3,3 (Kaldi's 1536/160/256 for larger sets)."""
    return TdnnConfig(feat_dim=feat_dim, num_pdfs=num_pdfs, hidden_dim=hidden_dim, splices="-1,0,1",
                      time_strides="1,1,1,0,3,3,3,3,3,3,3,3", bottleneck_dim=bottleneck_dim,
                      prefinal_bottleneck_dim=prefinal_bottleneck_dim)


# ---------------------------------------------------------------------------- building blocks
class GeneralDropout(nn.Module):
    """Dropout with Kaldi's GeneralDropoutComponent options.

    ``per_dim_continuous``: one multiplier per (sequence, channel), shared over time, drawn
    uniformly from [1-2p, 1+2p] (Kaldi's ``dropout-per-dim-continuous=true``, used in TDNN-F
    recipes); otherwise standard inverted dropout. ``p`` is set by the dropout schedule.
    """

    def __init__(self, per_dim_continuous: bool = True) -> None:
        super().__init__()
        self.per_dim_continuous = per_dim_continuous
        self.p = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, T)
        if not self.training or self.p <= 0.0:
            return x
        if self.per_dim_continuous:
            mask = 1.0 + 2.0 * self.p * (2.0 * torch.rand(x.shape[0], x.shape[1], 1, device=x.device,
                                                          dtype=x.dtype) - 1.0)
            return x * mask
        return F.dropout(x, self.p, True)


class Splice(nn.Module):
    """Affine (or linear) map of the frames at ``offsets`` around each output frame."""

    def __init__(self, in_dim: int, out_dim: int, offsets: list[int], bias: bool = True) -> None:
        super().__init__()
        self.offsets = sorted(offsets)
        self.left = -self.offsets[0]
        self.right = self.offsets[-1]
        steps = {b - a for a, b in zip(self.offsets, self.offsets[1:])}
        self.dilation = steps.pop() if len(steps) == 1 else 0
        if len(self.offsets) == 1:
            self.dilation = 1
        k = len(self.offsets)
        if self.dilation > 0:
            self.conv = nn.Conv1d(in_dim, out_dim, k, dilation=self.dilation, bias=bias)
        else:  # uneven offsets: splice explicitly, then a 1x1 convolution
            self.conv = nn.Conv1d(in_dim * k, out_dim, 1, bias=bias)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, L) -> (B, out, L - left - right)
        if self.dilation > 0:
            # a dilated convolution covers offsets[0] .. offsets[-1] relative to its first tap
            return self.conv(x)
        n = x.shape[-1] - self.left - self.right
        parts = [x[:, :, self.left + o: self.left + o + n] for o in self.offsets]
        return self.conv(torch.cat(parts, dim=1))

    def weight_matrix(self) -> torch.Tensor:
        """The (out, in*k) parameter matrix as Kaldi stores it (a view for the constraint)."""
        w = self.conv.weight  # (out, in, k)
        return w.reshape(w.shape[0], -1)


def constrain_orthonormal_(M: torch.Tensor, update_speed: float = 0.125) -> float:
    """One step of Kaldi's ConstrainOrthonormalInternal with floating scale, in place.

    Works on the orientation with rows <= cols (transposes otherwise). Returns the relative
    orthogonality error ``||P - s^2 I||_F / ||s^2 I||_F`` before the step.
    """
    with torch.no_grad():
        A = M if M.shape[0] <= M.shape[1] else M.t()
        A64 = A.double()
        P = A64 @ A64.t()
        tr_p = torch.trace(P)
        tr_pp = (P * P).sum()
        if tr_p <= 0:
            return 0.0
        scale2 = tr_pp / tr_p
        ratio = tr_pp * P.shape[0] / (tr_p * tr_p)
        speed = update_speed * (0.5 if ratio > 1.02 else 1.0)
        alpha = speed / scale2
        Q = P - scale2 * torch.eye(P.shape[0], dtype=P.dtype, device=P.device)
        err = float(torch.linalg.matrix_norm(Q) / (scale2 * math.sqrt(P.shape[0])))
        A.sub_((4.0 * alpha * (Q @ A64)).to(A.dtype))
        return err


class SemiOrthLinear(Splice):
    """Linear (no bias) spliced map whose (out, in*k) matrix is kept semi-orthogonal."""

    def __init__(self, in_dim: int, out_dim: int, offsets: list[int]) -> None:
        super().__init__(in_dim, out_dim, offsets, bias=False)
        with torch.no_grad():  # Kaldi: param-stddev = 1/sqrt(input-dim)
            nn.init.normal_(self.conv.weight, 0.0, 1.0 / math.sqrt(in_dim * len(self.offsets)))

    def constrain(self) -> float:
        w = self.conv.weight
        M = w.view(w.shape[0], -1)
        return constrain_orthonormal_(M)


class TdnnLayer(nn.Module):
    """relu-batchnorm-dropout-layer."""

    def __init__(self, in_dim: int, out_dim: int, offsets: list[int], batchnorm: bool, per_dim: bool) -> None:
        super().__init__()
        self.affine = Splice(in_dim, out_dim, offsets)
        self.bn = nn.BatchNorm1d(out_dim, affine=False) if batchnorm else nn.Identity()
        self.dropout = GeneralDropout(per_dim)
        self.left, self.right = self.affine.left, self.affine.right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.bn(F.relu(self.affine(x))))


class TdnnfLayer(nn.Module):
    """tdnnf-layer: semi-orthogonal (t-s, t) → bottleneck, affine (t, t+s) → dim, ReLU, BN,
    dropout, + bypass_scale × input."""

    def __init__(self, dim: int, bottleneck: int, stride: int, bypass_scale: float, batchnorm: bool,
                 per_dim: bool) -> None:
        super().__init__()
        self.stride = stride
        self.linear = SemiOrthLinear(dim, bottleneck, [-stride, 0] if stride else [0])
        self.affine = Splice(bottleneck, dim, [0, stride] if stride else [0])
        self.bn = nn.BatchNorm1d(dim, affine=False) if batchnorm else nn.Identity()
        self.dropout = GeneralDropout(per_dim)
        self.bypass_scale = bypass_scale
        self.left = self.right = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.bn(F.relu(self.affine(self.linear(x)))))
        s = self.stride
        if self.bypass_scale != 0.0:
            y = y + self.bypass_scale * (x[:, :, s: x.shape[-1] - s] if s else x)
        return y


class Tdnn(nn.Module):
    """TDNN / TDNN-F acoustic model: (B, T + lc + rc, feat_dim) → (B, T, num_pdfs) logits."""

    def __init__(self, cfg: TdnnConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        names: list[str] = []
        dim = cfg.feat_dim
        for i, offs in enumerate(parse_splices(cfg.splices)):
            layers.append(TdnnLayer(dim, cfg.hidden_dim, offs, cfg.batchnorm, cfg.dropout_per_dim_continuous))
            names.append(f"tdnn{i + 1}")
            dim = cfg.hidden_dim
        n0 = len(layers)
        strides = cfg.strides()
        if strides and not layers:
            raise ValueError("a TDNN-F model needs at least one plain TDNN layer first (splices)")
        for j, s in enumerate(strides):
            layers.append(TdnnfLayer(dim, cfg.bottleneck_dim, s, cfg.bypass_scale, cfg.batchnorm,
                                     cfg.dropout_per_dim_continuous))
            names.append(f"tdnnf{n0 + j + 1}")
        self.layers = nn.ModuleList(layers)
        self.layer_names = names
        if strides:
            # linear-component prefinal-l + prefinal-layer big-dim small-dim
            pb = cfg.prefinal_bottleneck_dim
            bn = (lambda d: nn.BatchNorm1d(d, affine=False)) if cfg.batchnorm else (lambda d: nn.Identity())
            self.prefinal_l = SemiOrthLinear(dim, pb, [0])
            self.prefinal_big = Splice(pb, dim, [0])
            self.prefinal_bn1 = bn(dim)
            self.prefinal_small = SemiOrthLinear(dim, pb, [0])
            self.prefinal_bn2 = bn(pb)
            out_in = pb
        else:
            self.prefinal_l = None
            out_in = dim
        self.output = nn.Conv1d(out_in, cfg.num_pdfs, 1)
        with torch.no_grad():  # Kaldi output-layer: param-stddev=0, bias-stddev=0
            self.output.weight.zero_()
            self.output.bias.zero_()

    @property
    def left_context(self) -> int:
        return sum(layer.left for layer in self.layers)

    @property
    def right_context(self) -> int:
        return sum(layer.right for layer in self.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)
        for layer in self.layers:
            h = layer(h)
        if self.prefinal_l is not None:
            h = self.prefinal_l(h)
            h = self.prefinal_bn1(F.relu(self.prefinal_big(h)))
            h = self.prefinal_bn2(self.prefinal_small(h))
        return self.output(h).transpose(1, 2)

    def semi_orth_modules(self) -> list[SemiOrthLinear]:
        return [m for m in self.modules() if isinstance(m, SemiOrthLinear)]

    def constrain_orthonormal(self) -> float:
        """Apply one constraint step to every semi-orthogonal matrix; returns the max error."""
        errs = [m.constrain() for m in self.semi_orth_modules()]
        return max(errs) if errs else 0.0

    def set_dropout(self, proportions: dict[str, float] | float) -> None:
        """Set dropout by layer-name pattern (``{"tdnnf*": 0.3}``) or one value for all."""
        for name, layer in zip(self.layer_names, self.layers):
            p = proportions if isinstance(proportions, float) else next(
                (v for pat, v in proportions.items() if fnmatch.fnmatchcase(name, pat)), 0.0)
            layer.dropout.p = float(p)


def build_model(cfg: TdnnConfig | dict) -> Tdnn:
    if isinstance(cfg, dict):
        cfg = TdnnConfig(**cfg)
    return Tdnn(cfg)


# ---------------------------------------------------------------------------- dropout schedule
def parse_dropout_schedule(schedule: str) -> list[tuple[str, list[tuple[float, float]]]]:
    """Kaldi's ``--trainer.dropout-schedule``: ``'0,0@0.20,0.5@0.50,0'`` or
    ``'tdnn*=0,0.3,0 tdnnf*=0,0.5@0.5,0'``; each value is ``proportion[@data-fraction]``, the
    first defaults to fraction 0, the last to 1 and the ones in between are spaced evenly
    between their neighbours (Kaldi's _parse_dropout_string). Returns (pattern, points)."""
    out = []
    for item in schedule.split():
        pattern, _, sched = item.rpartition("=")
        pattern = pattern or "*"
        parts = sched.split(",")
        vals: list[float] = []
        fracs: list[float | None] = []
        for i, p in enumerate(parts):
            if "@" in p:
                v, f = p.split("@")
                vals.append(float(v))
                fracs.append(float(f))
            else:
                vals.append(float(p))
                fracs.append(0.0 if i == 0 else 1.0 if i == len(parts) - 1 else None)
        if len(parts) == 1:
            fracs = [0.0]
        # fill unspecified fractions by even spacing between known ones
        i = 0
        while i < len(fracs):
            if fracs[i] is None:
                j = i
                while fracs[j] is None:
                    j += 1
                a, b = fracs[i - 1], fracs[j]
                for k in range(i, j):
                    fracs[k] = a + (b - a) * (k - i + 1) / (j - i + 1)
                i = j
            i += 1
        for a, b in zip(fracs, fracs[1:]):
            if b < a:
                raise ValueError(f"dropout schedule {sched!r}: data fractions must not decrease")
        for v in vals:
            if not 0.0 <= v < 1.0:
                raise ValueError(f"dropout schedule {sched!r}: proportion {v} not in [0, 1)")
        out.append((pattern, list(zip(fracs, vals))))
    return out


def dropout_at(schedule: list[tuple[str, list[tuple[float, float]]]] | str, data_fraction: float) -> dict[str, float]:
    """Dropout proportion per layer-name pattern at ``data_fraction`` (linear interpolation)."""
    if isinstance(schedule, str):
        schedule = parse_dropout_schedule(schedule)
    out = {}
    for pattern, pts in schedule:
        x = min(max(data_fraction, 0.0), 1.0)
        val = pts[-1][1]
        if x <= pts[0][0]:
            val = pts[0][1]
        else:
            for (f0, v0), (f1, v1) in zip(pts, pts[1:]):
                if f0 <= x <= f1:
                    val = v0 if f1 == f0 else v0 + (v1 - v0) * (x - f0) / (f1 - f0)
                    break
        out[pattern] = val
    return out
