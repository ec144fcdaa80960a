"""LF-MMI anomaly guard (hybrid.chain.train.ChainObjective): a minibatch with a non-finite chain
objective, xent objective or parameter gradient is skipped, logged with its position in the
iteration and counted in train.N.log, and no NaN/inf reaches a saved model; too many skips stop
training with a clear error before the iteration's checkpoint is written.

Faults are injected by wrapping the objective functions the trainer calls (tiny synthetic chain
setup of tests/test_chain_train.py).
"""

from __future__ import annotations

import re

import pytest
import torch

import hybrid.chain.train as ct
from test_chain_train import chain_setup  # noqa: F401  (module-scoped fixture)

SKIP_RE = re.compile(r"WARNING \(nnet3-chain-train\[hybrid\]\) (\d+) of (\d+) minibatches skipped "
                     r"\(chain objective anomaly\); positions in this iteration: (.*)")


def _cfg_opts(**kw):
    from hybrid.nnet.model import TdnnConfig
    from hybrid.nnet.train import TrainOptions

    cfg = TdnnConfig(hidden_dim=16, splices="-1,0,1 -1,0,1", time_strides="0,3", bottleneck_dim=8,
                     prefinal_bottleneck_dim=8)
    base = dict(num_epochs=2, initial_effective_lrate=0.01, final_effective_lrate=0.005, minibatch_size=8,
                chunk_width=45, frames_per_iter=720, num_workers=0, max_models_combine=2, seed=3)
    base.update(kw)
    return cfg, TrainOptions(**base)


def _train(chain_setup, d, objective=None, **kw):  # noqa: F811
    from hybrid.chain.loss import ChainOptions
    from hybrid.nnet.train import train

    cfg, opts = _cfg_opts(**kw)
    obj = objective or ct.ChainObjective(ChainOptions(xent_regularize=0.1))
    return train(chain_setup["root"] / "egs", d, cfg, opts, objective=obj)


def _training_calls(fn, bad_calls, make_bad):
    """Wrap ``fn``: calls made with autograd on (training steps, not diagnostics) are numbered
    from 1; those in ``bad_calls`` go through ``make_bad``."""
    n = {"calls": 0}

    def wrapper(*a, **k):
        if not torch.is_grad_enabled():
            return fn(*a, **k)
        n["calls"] += 1
        return make_bad(fn, a, k) if n["calls"] in bad_calls else fn(*a, **k)

    return wrapper, n


def _skips(log: str) -> tuple[int, int, str] | None:
    m = SKIP_RE.search(log)
    return None if m is None else (int(m.group(1)), int(m.group(2)), m.group(3))


def _assert_finite_checkpoints(d):
    pts = sorted(d.glob("*.pt"))
    assert pts
    for p in pts:
        state = torch.load(p, weights_only=False)["model"]
        bad = [k for k, v in state.items() if torch.is_floating_point(v) and not torch.isfinite(v).all()]
        assert not bad, f"{p.name}: non-finite {bad}"


class _NanGrad(torch.autograd.Function):
    """Adds 0 to the loss; its gradient is NaN."""

    @staticmethod
    def forward(ctx, y):
        ctx.shape = y.shape
        return y.new_zeros(())

    @staticmethod
    def backward(ctx, g):
        return torch.full(ctx.shape, float("nan"))


def test_reference_run_has_no_skips(chain_setup, tmp_path):  # noqa: F811
    d = tmp_path / "ref"
    s = _train(chain_setup, d)
    assert s["finished"]
    logs = [(d / "log" / f"train.{i}.log").read_text() for i in range(s["num_iters"])]
    assert s["num_iters"] >= 2 and not any("skipped" in t for t in logs)
    _assert_finite_checkpoints(d)


@pytest.mark.parametrize("fault", ["chain_nan_output", "xent_nan", "nan_gradient"])
def test_anomalous_minibatch_is_skipped_logged_and_counted(chain_setup, tmp_path, monkeypatch, caplog,  # noqa: F811
                                                           fault):
    """Training call 2 (minibatch 1 of iteration 0) is made anomalous; it is skipped, named in the
    log, counted once; training goes on and every checkpoint (and final.pt) is finite."""
    if fault == "chain_nan_output":  # NaN network output: the denominator forward-backward fails
        wrapper, n = _training_calls(ct.chain_objective, {2},
                                     lambda fn, a, k: fn(a[0] + float("nan"), *a[1:], **k))
        monkeypatch.setattr(ct, "chain_objective", wrapper)
        reason = "denominator forward-backward failed"
    elif fault == "xent_nan":  # finite chain objective, NaN xent regulariser
        wrapper, n = _training_calls(ct.xent_objective, {2}, lambda fn, a, k: fn(*a, **k) * float("nan"))
        monkeypatch.setattr(ct, "xent_objective", wrapper)
        reason = "xent objective is nan"
    else:  # finite objectives, NaN gradient: the update is dropped
        def bad(fn, a, k):
            res = fn(*a, **k)
            res.loss = res.loss + _NanGrad.apply(a[0])
            return res

        wrapper, n = _training_calls(ct.chain_objective, {2}, bad)
        monkeypatch.setattr(ct, "chain_objective", wrapper)
        reason = "non-finite gradient"
    d = tmp_path / fault
    with caplog.at_level("WARNING", logger="hybrid.chain.train"):
        s = _train(chain_setup, d)
    assert s["finished"] and n["calls"] >= 4
    log0 = (d / "log" / "train.0.log").read_text()
    got = _skips(log0)
    assert got is not None, log0
    skipped, total, where = got
    assert (skipped, total) == (1, 2), log0
    assert where.startswith("1 (") and reason in where, where
    assert re.search(r"Overall average objective function for 'output' is -?[0-9.]+(e-?\d+)? \+ "
                     r"-?[0-9.e-]+ = -?[0-9.e-]+ over \d+ frames", log0), log0  # the good minibatch: finite
    assert all(_skips((d / "log" / f"train.{i}.log").read_text()) is None for i in range(1, s["num_iters"]))
    assert any("minibatch 1 of this iteration skipped" in r.getMessage() and reason in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    _assert_finite_checkpoints(d)
    assert (d / "final.pt").exists()


def test_nan_gradient_leaves_parameters_untouched(chain_setup, tmp_path, monkeypatch):  # noqa: F811
    """A minibatch with a NaN gradient gets no update at all: when both minibatches of iteration 0
    have one (and the share limit is off), 1.pt holds the parameters of 0.pt (the batch-norm
    statistics, updated by the forward pass, may differ)."""
    from hybrid.chain.loss import ChainOptions

    def bad(fn, a, k):
        res = fn(*a, **k)
        res.loss = res.loss + _NanGrad.apply(a[0])
        return res

    wrapper, _ = _training_calls(ct.chain_objective, {1, 2}, bad)
    monkeypatch.setattr(ct, "chain_objective", wrapper)
    d = tmp_path / "g"
    obj = ct.ChainObjective(ChainOptions(xent_regularize=0.1), max_skip_share=1.0)
    _train(chain_setup, d, obj, max_iters_this_run=1, orthonormal_interval=0)
    p0 = torch.load(d / "0.pt", weights_only=False)["model"]
    p1 = torch.load(d / "1.pt", weights_only=False)["model"]
    cfg = torch.load(d / "0.pt", weights_only=False)["config"]
    names = [n for n, _ in ct.build_chain_model(cfg).named_parameters()]
    assert names and set(names) <= set(p0)
    for k in names:
        assert torch.equal(p0[k], p1[k]), k
    assert _skips((d / "log" / "train.0.log").read_text())[:2] == (2, 2)


def test_too_many_skips_in_an_iteration_stop_training(chain_setup, tmp_path, monkeypatch):  # noqa: F811
    wrapper, _ = _training_calls(ct.xent_objective, set(range(1, 100)), lambda fn, a, k: fn(*a, **k) * float("inf"))
    monkeypatch.setattr(ct, "xent_objective", wrapper)
    d = tmp_path / "many"
    with pytest.raises(ct.ChainAnomalyError) as e:
        _train(chain_setup, d)
    msg = str(e.value)
    assert "2 of 2 minibatches of this iteration" in msg and "more than 50%" in msg, msg
    assert "xent objective is inf" in msg and "last complete iteration is kept" in msg, msg
    assert sorted(p.name for p in d.glob("*.pt")) == ["0.pt"], "a checkpoint was written after the failure"
    assert not (d / "log" / "train.0.log").exists()


def test_consecutive_skips_stop_training_early(chain_setup, tmp_path, monkeypatch):  # noqa: F811
    from hybrid.chain.loss import ChainOptions

    wrapper, n = _training_calls(ct.chain_objective, set(range(1, 100)),
                                 lambda fn, a, k: fn(a[0] * float("inf"), *a[1:], **k))
    monkeypatch.setattr(ct, "chain_objective", wrapper)
    d = tmp_path / "row"
    obj = ct.ChainObjective(ChainOptions(xent_regularize=0.1), max_consecutive_skips=3)
    with pytest.raises(ct.ChainAnomalyError, match=r"3 minibatches in a row had a non-finite objective"):
        _train(chain_setup, d, obj, frames_per_iter=100000)  # one iteration of all minibatches
    assert n["calls"] == 3, "training went on after the limit"
    assert sorted(p.name for p in d.glob("*.pt")) == ["0.pt"]


def test_non_finite_model_is_never_saved(chain_setup, tmp_path, monkeypatch):  # noqa: F811
    """Whatever slipped through (here: a parameter set to NaN behind the guard's back after the
    last update of iteration 0) stops training before the checkpoint is written."""
    orig = ct.ChainObjective.train_log_lines

    def train_log_lines(self, stats):
        with torch.no_grad():
            next(self._model.parameters()).view(-1)[0] = float("nan")
        return orig(self, stats)

    monkeypatch.setattr(ct.ChainObjective, "train_log_lines", train_log_lines)
    d = tmp_path / "poison"
    with pytest.raises(ct.ChainAnomalyError, match=r"the model has NaN/inf values after this iteration"):
        _train(chain_setup, d)
    assert sorted(p.name for p in d.glob("*.pt")) == ["0.pt"]
