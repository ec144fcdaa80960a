"""TDNN commands: nnet-get-egs, nnet-train, nnet-compute, nnet-compute-prob, plot-accuracy,
perturb-data-dir-speed-3way (Kaldi's names where Kaldi has one)."""

from __future__ import annotations

import logging
import sys

import click


def _setup_logging(prog: str) -> None:
    class _Fmt(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            lvl = {"INFO": "LOG", "WARNING": "WARNING", "ERROR": "ERROR"}.get(record.levelname, record.levelname)
            return f"{lvl} ({prog}) {record.getMessage()}"

    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(_Fmt())
    root = logging.getLogger()
    root.handlers[:] = [h]
    root.setLevel(logging.INFO)


def _bool(s: str) -> bool:
    return str(s).lower() in ("true", "1", "yes")


@click.command("nnet-get-egs", context_settings={"show_default": True})
@click.option("--num-utts-subset", type=int, default=300, help="Max utterances held out (valid) and in train_diag.")
@click.option("--valid-fraction", type=float, default=0.05, help="...but at most this share of the utterances.")
@click.option("--seed", type=int, default=0)
@click.option("--cmvn", "cmvn", type=str, default="true", help="Apply per-speaker CMVN (cmvn.scp).")
@click.option("--norm-vars", type=str, default="false", help="Normalize variances in CMVN.")
@click.argument("data_dir")
@click.argument("ali_dir")
@click.argument("egs_dir")
def nnet_get_egs(num_utts_subset, valid_fraction, seed, cmvn, norm_vars, data_dir, ali_dir, egs_dir):
    """Features + pdf alignments → egs_dir/{train,valid,train_diag} (numpy) and info.json.

    Usage: hybrid nnet-get-egs [options] <data-dir> <ali-dir> <egs-dir>
    """
    _setup_logging("nnet-get-egs")
    from hybrid.nnet.data import prepare_egs

    prepare_egs(data_dir, ali_dir, egs_dir, num_utts_subset=num_utts_subset, valid_fraction=valid_fraction,
                seed=seed, cmvn=_bool(cmvn), norm_vars=_bool(norm_vars))


def network_training_options(f):
    """The network and schedule options shared by ``nnet-train`` and ``chain-train`` (Kaldi's
    train_dnn.py / chain/train.py names); each command adds its own regularization options."""
    opts = [
        click.option("--config-type", type=click.Choice(["tdnn", "tdnnf"]), default="tdnnf",
                     help="tdnn: plain relu-batchnorm TDNN; tdnnf: tdnn_1k-style factorized TDNN."),
        click.option("--hidden-dim", type=int, default=None, help="Layer width (default 512 tdnn, 768 tdnnf)."),
        click.option("--bottleneck-dim", type=int, default=96, help="TDNN-F bottleneck."),
        click.option("--prefinal-bottleneck-dim", type=int, default=192),
        click.option("--splices", default=None, help="Offsets of the plain TDNN layers, e.g. '-2,-1,0,1,2 -1,0,1'."),
        click.option("--time-strides", default=None, help="One TDNN-F layer per stride, e.g. '1,1,1,0,3,3,3'."),
        click.option("--batchnorm", type=str, default="true"),
        click.option("--num-epochs", type=float, default=4.0),
        click.option("--initial-effective-lrate", type=float, default=0.001),
        click.option("--final-effective-lrate", type=float, default=0.0001),
        click.option("--minibatch-size", type=int, default=64, help="Chunks per minibatch (per job)."),
        click.option("--chunk-width", type=int, default=150, help="Input frames per chunk (the egs')."),
        click.option("--frames-per-iter", type=int, default=400000, help="Frames per job per iteration."),
        click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam"),
        click.option("--momentum", type=float, default=0.0),
        click.option("--max-param-change", type=float, default=2.0),
        click.option("--max-change", type=float, default=0.75),
        click.option("--dropout-schedule", default="", help="Kaldi's, e.g. '0,0@0.20,0.5@0.50,0'."),
        click.option("--diagnostic-interval", type=int, default=1),
        click.option("--max-models-combine", type=int, default=20),
        click.option("--seed", type=int, default=0),
        click.option("--num-workers", type=int, default=2, help="DataLoader worker processes."),
        click.option("--use-gpu", type=click.Choice(["yes", "no", "wait"]), default="no"),
        click.option("--amp", type=str, default="false", help="bf16 autocast on GPU."),
        click.option("--max-iters-this-run", type=int, default=-1, help="Stop after this many iterations (resumable)."),
        click.option("--cleanup-keep", type=int, default=0, help=">0: keep only the last N checkpoints (+ every 100th)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def network_and_options(config_type, hidden_dim, bottleneck_dim, prefinal_bottleneck_dim, splices, time_strides,
                        batchnorm, use_gpu, amp, **kw):
    """(TdnnConfig, TrainOptions) from the options of :func:`network_training_options`."""
    import torch

    from hybrid.nnet.model import TdnnConfig
    from hybrid.nnet.train import TrainOptions

    if config_type == "tdnn":
        cfg = TdnnConfig(hidden_dim=hidden_dim or 512)
    else:
        cfg = TdnnConfig(hidden_dim=hidden_dim or 768, splices="-1,0,1", time_strides="1,1,1,0,3,3,3,3,3,3,3,3",
                         bottleneck_dim=bottleneck_dim, prefinal_bottleneck_dim=prefinal_bottleneck_dim)
    if splices is not None:
        cfg.splices = splices
    if time_strides is not None:
        cfg.time_strides = time_strides
    cfg.batchnorm = _bool(batchnorm)
    device = "cpu"
    if use_gpu in ("yes", "wait"):
        if not torch.cuda.is_available():
            raise click.ClickException("--use-gpu yes but no CUDA device is available")
        device = "cuda"
    return cfg, TrainOptions(device=device, amp=_bool(amp), **kw)


@click.command("nnet-train", context_settings={"show_default": True})
@network_training_options
@click.option("--l2-regularize", type=float, default=0.0)
@click.argument("egs_dir")
@click.argument("dir")
def nnet_train(egs_dir, dir, **kw):
    """Train a TDNN on egs (resumes from the last checkpoint in <dir>). Under torchrun, one
    process per GPU (DistributedDataParallel).

    Usage: hybrid nnet-train [options] <egs-dir> <dir>
    """
    _setup_logging("nnet-train")
    from hybrid.nnet.train import train

    cfg, opts = network_and_options(**kw)
    summary = train(egs_dir, dir, cfg, opts)
    logging.info("%s", summary)


def _open_writer(wspec: str):
    """(write(items) function) for ``ark:x.ark``, ``ark,scp:x.ark,x.scp`` or a plain ark path."""
    from hybrid.io import write_table

    if wspec.startswith("ark,scp:"):
        ark, scp = wspec.split(":", 1)[1].split(",")
        return lambda items: write_table(items, ark, scp)
    if wspec.startswith("ark:"):
        return lambda items: write_table(items, wspec[4:])
    return lambda items: write_table(items, wspec)


@click.command("nnet-compute", context_settings={"show_default": True})
@click.option("--use-gpu", type=click.Choice(["yes", "no", "wait"]), default="no")
@click.option("--use-priors", type=str, default="true", help="Subtract the log-priors stored in the model.")
@click.option("--apply-exp", type=str, default="false", help="Output posteriors (exp) instead of log values.")
@click.option("--cmvn", type=str, default="true", help="When given a data dir: apply its cmvn.scp.")
@click.option("--norm-vars", type=str, default="false")
@click.argument("model")
@click.argument("features")
@click.argument("wspecifier")
def nnet_compute(use_gpu, use_priors, apply_exp, cmvn, norm_vars, model, features, wspecifier):
    """Log-likelihoods (log-softmax minus log-priors) per frame, as a table of matrices.

    <features> is a data dir (feats.scp + per-speaker CMVN) or a features rspecifier (used as is).
    Usage: hybrid nnet-compute [options] final.pt <data-dir|feats-rspecifier> <loglikes-wspecifier>
    """
    _setup_logging("nnet-compute")
    from pathlib import Path

    import numpy as np
    import torch

    from hybrid.nnet.compute import iter_loglikes, load_model

    device = "cuda" if use_gpu in ("yes", "wait") else "cpu"
    net, log_priors = load_model(model, device)
    if not _bool(use_priors):
        log_priors = None
    if Path(features).is_dir():
        from hybrid.nnet.data import iter_cmvn_feats

        feats = ((u, f) for u, _s, f in iter_cmvn_feats(features, _bool(cmvn), _bool(norm_vars)))
    else:
        from hybrid.io import iter_table

        feats = ((u, np.asarray(f, dtype=np.float32)) for u, f in iter_table(features))
    count = [0, 0]

    def items():
        for utt, ll in iter_loglikes(net, feats, log_priors, device):
            count[0] += 1
            count[1] += len(ll)
            yield utt, (np.exp(ll) if _bool(apply_exp) else ll).astype(np.float32)

    with torch.inference_mode():
        _open_writer(wspecifier)(items())
    logging.info("Processed %d utterances, %d frames", count[0], count[1])
    if count[0] == 0:
        raise SystemExit(1)


@click.command("nnet-compute-prob", context_settings={"show_default": True})
@click.option("--use-gpu", type=click.Choice(["yes", "no", "wait"]), default="no")
@click.option("--chunk-width", type=int, default=150)
@click.argument("model")
@click.argument("egs_subset_dir")
def nnet_compute_prob(use_gpu, chunk_width, model, egs_subset_dir):
    """Kaldi's nnet3-compute-prob: log-likelihood and accuracy of a model on an egs subset
    (e.g. egs/valid); prints Kaldi's 'Overall ... for 'output' is ... per frame' lines.

    Usage: hybrid nnet-compute-prob [options] <model.pt> <egs-subset-dir>
    """
    from hybrid.nnet.compute import load_model
    from hybrid.nnet.data import EgsSet
    from hybrid.nnet.train import compute_prob, format_compute_prob

    device = "cuda" if use_gpu in ("yes", "wait") else "cpu"
    net, _ = load_model(model, device)
    ll, acc, n = compute_prob(net, EgsSet.load(egs_subset_dir), chunk_width, device=device)
    sys.stderr.write(format_compute_prob(ll, acc, n))


@click.command("plot-accuracy", context_settings={"show_default": True})
@click.option("--out", default="accuracy.png", help="Image to write (png, pdf, svg by suffix).")
@click.option("--format", "fmt", type=click.Choice(["png", "tsv"]), default="png",
              help="png: draw the plot; tsv: print 'dir set iter objective accuracy' rows.")
@click.option("--output-name", default="output", help="Network output whose lines are read.")
@click.argument("dirs", nargs=-1, required=True)
def plot_accuracy_cmd(out, fmt, output_name, dirs):
    """Train/valid frame accuracy and objective against iteration from
    <dir>/log/compute_prob_{train,valid}.*.log (ours, Kaldi nnet3 and chain logs).

    Usage: hybrid plot-accuracy [--out accuracy.png] [--format png|tsv] exp/tdnn [exp/other ...]
    """
    from hybrid.nnet.plot import format_tsv, plot_accuracy, read_diagnostics

    if fmt == "tsv":
        pts = [p for d in dirs for p in read_diagnostics(d, output_name)]
        if not pts:
            raise click.ClickException(f"no compute_prob_*.log diagnostics in {' '.join(dirs)}")
        click.echo(format_tsv(pts), nl=False)
        return
    pts = plot_accuracy(list(dirs), out, output_name)
    if not pts:
        raise click.ClickException(f"no compute_prob_*.log diagnostics in {' '.join(dirs)}")
    click.echo(f"plot-accuracy: wrote {out} ({len(pts)} points)", err=True)


@click.command("perturb-data-dir-speed-3way")
@click.argument("src_dir")
@click.argument("dst_dir")
def perturb_speed_3way(src_dir, dst_dir):
    """Kaldi's utils/data/perturb_data_dir_speed_3way.sh: <dst> = <src> + sp0.9- and sp1.1-
    copies (sox speed pipes in wav.scp).

    Usage: hybrid perturb-data-dir-speed-3way <src-data-dir> <dst-data-dir>
    """
    from hybrid.nnet.perturb import perturb_data_dir_speed_3way

    perturb_data_dir_speed_3way(src_dir, dst_dir)


COMMANDS = [nnet_get_egs, nnet_train, nnet_compute, nnet_compute_prob, plot_accuracy_cmd, perturb_speed_3way]
