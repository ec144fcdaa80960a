"""Network forward for decoding (Kaldi's nnet3-compute with priors): log-likelihoods
``log p(pdf | x) - log P(pdf)`` per frame, from a ``final.pt`` of :mod:`hybrid.nnet.train`."""

from __future__ import annotations

import os
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from hybrid.nnet.model import Tdnn, build_model

__all__ = ["load_model", "compute_loglikes", "iter_loglikes"]


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Tdnn, torch.Tensor | None]:
    """The model (eval mode) and its log-priors (None when the checkpoint has none)."""
    ckpt = torch.load(path, map_location=device, weights_only=False)
    model = build_model(ckpt["config"]).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    lp = ckpt.get("log_priors")
    return model, (lp.to(device) if lp is not None else None)


@torch.no_grad()
def compute_loglikes(model: Tdnn, feats: np.ndarray, log_priors: torch.Tensor | None = None,
                     device: str | torch.device = "cpu", apply_log_softmax: bool = True) -> np.ndarray:
    """(T, num_pdfs) float32: log-softmax of the whole utterance (edge frames repeated for the
    context) minus ``log_priors``. Without a log-softmax, the raw network output."""
    x = torch.as_tensor(np.asarray(feats, dtype=np.float32), device=device)
    lc, rc = model.left_context, model.right_context
    x = torch.cat([x[:1].expand(lc, -1), x, x[-1:].expand(rc, -1)], dim=0)
    y = model(x.unsqueeze(0))[0].float()
    if apply_log_softmax:
        y = F.log_softmax(y, dim=-1)
        if log_priors is not None:
            y = y - log_priors
    return y.cpu().numpy()


def iter_loglikes(model: Tdnn, feats: Iterable[tuple[str, np.ndarray]], log_priors: torch.Tensor | None = None,
                  device: str | torch.device = "cpu") -> Iterator[tuple[str, np.ndarray]]:
    for utt, f in feats:
        if len(f) == 0:
            continue
        yield utt, compute_loglikes(model, f, log_priors, device)
