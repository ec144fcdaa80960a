"""Chain (LF-MMI) training and decoding commands: chain-gen-topo, chain-convert-ali (convert-ali
--frame-subsampling-factor), subsample-feats, chain-get-egs, chain-train, chain-compute-prob,
chain-compute (nnet3-compute of a chain model), lattice-scale."""

from __future__ import annotations

import logging
import sys

import click

log = logging.getLogger("hybrid.chain")


from hybrid.cli.cmd_nnet import _bool, _setup_logging, network_and_options, network_training_options  # noqa: F401


def _csl(s: str) -> list[int]:
    return [int(x) for x in s.replace(",", ":").split(":") if x]


@click.command("chain-gen-topo")
@click.option("--num-states", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="1: Kaldi's chain topology (forward pdf-class 0, self-loop pdf-class 1); 2: the 2-state form.")
@click.argument("nonsilence_phones")
@click.argument("silence_phones")
def chain_gen_topo_cmd(num_states, nonsilence_phones, silence_phones):
    """Print a chain topology (Kaldi's steps/nnet3/chain/gen_topo.py).

    Usage: hybrid chain-gen-topo 4:5:6:7 1:2:3 > data/lang_chain/topo
    """
    from hybrid.chain.topo import chain_topo_text

    click.echo(chain_topo_text(_csl(nonsilence_phones), _csl(silence_phones), int(num_states)), nl=False)


@click.command("chain-convert-ali")
@click.option("--frame-subsampling-factor", type=int, default=1, show_default=True,
              help="Subsample the alignment by this factor (phone boundaries at (t + f - 1) / f).")
@click.option("--reorder", type=str, default="true", show_default=True,
              help="Self-loops after the forward transition (Kaldi's default).")
@click.argument("old_model")
@click.argument("new_model")
@click.argument("new_tree")
@click.argument("alignments_in")
@click.argument("alignments_out")
def chain_convert_ali_cmd(frame_subsampling_factor, reorder, old_model, new_model, new_tree, alignments_in,
                          alignments_out):
    """Kaldi's convert-ali with a changed topology and --frame-subsampling-factor: keeps each
    utterance's phone sequence, maps phone lengths to the new rate, and takes a path through the
    new topology and tree.

    Usage: hybrid chain-convert-ali [--frame-subsampling-factor 3] old.mdl new.mdl new.tree ali.1.gz new/ali.1.gz
    """
    _setup_logging("convert-ali")
    from hybrid.chain.topo import convert_alignment_chain
    from hybrid.hmm import read_transition_model
    from hybrid.io import iter_table, write_ali_ark
    from hybrid.tree import read_tree

    old_tm, new_tm = read_transition_model(old_model), read_transition_model(new_model)
    ctx = read_tree(new_tree)
    done = failed = 0

    def gen():
        nonlocal done, failed
        for utt, ali in iter_table(alignments_in):
            new = convert_alignment_chain(old_tm, new_tm, ctx, ali, frame_subsampling_factor, _bool(reorder))
            if new is None:
                log.warning("Could not convert alignment for key %s (possibly truncated alignment?)", utt)
                failed += 1
                continue
            done += 1
            yield utt, new

    write_ali_ark(gen(), alignments_out)
    log.info("Succeeded converting alignments for %d files, failed for %d", done, failed)
    if done == 0 and failed:
        raise SystemExit(1)


def _feature_options(f):
    from hybrid.cli.cmd_gmm import feature_options

    return feature_options(f)


@click.command("subsample-feats")
@click.option("--n", "n", type=int, default=1, show_default=True, help="Keep every n'th frame.")
@click.option("--offset", type=int, default=0, show_default=True, help="First frame kept.")
@_feature_options
@click.argument("features")
@click.argument("wspecifier")
def subsample_feats_cmd(n, offset, features, wspecifier, **kw):
    """Kaldi's subsample-feats, after the feature pipeline options (FEATURES: data dir or rspecifier).

    Usage: hybrid subsample-feats --n=3 [--splice 3 --transform final.mat] data/train ark:sub.ark
    """
    _setup_logging("subsample-feats")
    from hybrid.chain.topo import subsample_feats
    from hybrid.cli.cmd_gmm import open_features
    from hybrid.cli.cmd_nnet import _open_writer

    if n < 1 or offset < 0:
        raise click.UsageError("--n must be >= 1 and --offset >= 0")
    count = [0]

    def items():
        for utt, x in open_features(features, kw):
            y = subsample_feats(x, n, offset)
            if len(y) == 0:
                log.warning("For utterance %s, output would have no rows, producing no output.", utt)
                continue
            count[0] += 1
            yield utt, y

    _open_writer(wspecifier)(items())
    log.info("Processed %d feature matrices", count[0])


@click.command("chain-get-egs", context_settings={"show_default": True})
@click.option("--chunk-width", type=int, default=150, help="Input frames per chunk (multiple of the subsampling).")
@click.option("--frame-subsampling-factor", type=int, default=3)
@click.option("--left-tolerance", type=int, default=5)
@click.option("--right-tolerance", type=int, default=5)
@click.option("--num-utts-subset", type=int, default=300)
@click.option("--valid-fraction", type=float, default=0.05)
@click.option("--seed", type=int, default=0)
@click.option("--cmvn", type=str, default="true")
@click.option("--norm-vars", type=str, default="false")
@click.argument("data_dir")
@click.argument("ali_dir")
@click.argument("den_fst")
@click.argument("egs_dir")
def chain_get_egs_cmd(chunk_width, frame_subsampling_factor, left_tolerance, right_tolerance, num_utts_subset,
                      valid_fraction, seed, cmvn, norm_vars, data_dir, ali_dir, den_fst, egs_dir):
    """Features + alignments of the chain tree dir (ali.*.gz, final.mdl, tree) + den.fst → chain
    egs (numerator FSAs composed with the normalization FSA, numpy arrays).

    Usage: hybrid chain-get-egs [options] <data-dir> <tree-dir> <den.fst> <egs-dir>
    """
    _setup_logging("nnet3-chain-get-egs")
    from hybrid.chain.egs import prepare_chain_egs

    try:
        prepare_chain_egs(data_dir, ali_dir, den_fst, egs_dir, chunk_width=chunk_width,
                          frame_subsampling_factor=frame_subsampling_factor, left_tolerance=left_tolerance,
                          right_tolerance=right_tolerance, num_utts_subset=num_utts_subset,
                          valid_fraction=valid_fraction, seed=seed, cmvn=_bool(cmvn), norm_vars=_bool(norm_vars))
    except (ValueError, FileNotFoundError) as e:
        logging.error("%s", e)
        raise SystemExit(1)


@click.command("chain-train", context_settings={"show_default": True})
@network_training_options
@click.option("--layer-l2-regularize", "l2_regularize", type=float, default=0.0,
              help="Weight decay on the layers (Kaldi's per-layer l2-regularize).")
@click.option("--l2-regularize", "chain_l2", type=float, default=0.00005,
              help="l2 on the chain output (Kaldi's --chain.l2-regularize).")
@click.option("--xent-regularize", type=float, default=0.1)
@click.option("--leaky-hmm-coefficient", type=float, default=0.1)
@click.option("--den-method", type=click.Choice(["auto", "csr", "index_add", "ell", "triton"]), default="auto",
              help="Denominator forward-backward implementation.")
@click.argument("egs_dir")
@click.argument("dir")
def chain_train_cmd(chain_l2, xent_regularize, leaky_hmm_coefficient, den_method, egs_dir, dir, **kw):
    """Train a chain TDNN-F on chain egs (resumes from the last checkpoint in <dir>); under
    torchrun, one process per GPU.

    Usage: hybrid chain-train [options] <egs-dir> <dir>
    """
    _setup_logging("nnet3-chain-train")
    from hybrid.chain.loss import ChainOptions
    from hybrid.chain.train import train_chain

    cfg, opts = network_and_options(**kw)
    copts = ChainOptions(leaky_hmm_coefficient=leaky_hmm_coefficient, l2_regularize=chain_l2,
                         xent_regularize=xent_regularize)
    summary = train_chain(egs_dir, dir, cfg, opts, copts, den_method=den_method)
    logging.info("%s", summary)


@click.command("chain-compute-prob", context_settings={"show_default": True})
@click.option("--use-gpu", type=click.Choice(["yes", "no", "wait"]), default="no")
@click.option("--xent-regularize", type=float, default=0.1)
@click.option("--leaky-hmm-coefficient", type=float, default=0.1)
@click.option("--l2-regularize", type=float, default=0.00005)
@click.argument("model")
@click.argument("egs_dir")
@click.argument("subset", default="valid")
def chain_compute_prob_cmd(use_gpu, xent_regularize, leaky_hmm_coefficient, l2_regularize, model, egs_dir, subset):
    """Kaldi's nnet3-chain-compute-prob: chain and xent log-probabilities of a model on an egs
    subset (valid, train_diag or train), Kaldi's 'Overall log-probability' lines.

    Usage: hybrid chain-compute-prob [options] <model.pt> <egs-dir> [valid|train_diag|train]
    """
    from pathlib import Path

    from hybrid.chain.egs import ChainEgsSet
    from hybrid.chain.loss import ChainOptions
    from hybrid.chain.train import ChainObjective, load_chain_model

    device = "cuda" if use_gpu in ("yes", "wait") else "cpu"
    net = load_chain_model(model, device)
    obj = ChainObjective(ChainOptions(leaky_hmm_coefficient=leaky_hmm_coefficient, l2_regularize=l2_regularize,
                                      xent_regularize=xent_regularize))
    obj.load_sets(Path(egs_dir))
    text, _ = obj.compute_prob(net, ChainEgsSet.load(Path(egs_dir) / subset), 0, device)
    sys.stderr.write(text)


@click.command("chain-compute", context_settings={"show_default": True})
@click.option("--use-gpu", type=click.Choice(["yes", "no", "wait"]), default="no")
@click.option("--cmvn", type=str, default="true", help="When given a data dir: apply its cmvn.scp.")
@click.option("--norm-vars", type=str, default="false")
@click.argument("model")
@click.argument("features")
@click.argument("wspecifier")
def chain_compute_cmd(use_gpu, cmvn, norm_vars, model, features, wspecifier):
    """The chain output of each utterance (nnet3-compute --frame-subsampling-factor of a chain
    model: ceil(T/f) rows, no log-softmax, no priors), as a table of matrices for
    latgen-faster-mapped --acoustic-scale 1.0.

    Usage: hybrid chain-compute [options] final.pt <data-dir|feats-rspecifier> <wspecifier>
    """
    _setup_logging("nnet3-compute")
    from pathlib import Path

    import numpy as np
    import torch

    from hybrid.chain.train import compute_chain_output, load_chain_model
    from hybrid.cli.cmd_nnet import _open_writer

    device = "cuda" if use_gpu in ("yes", "wait") else "cpu"
    net = load_chain_model(model, device)
    if Path(features).is_dir():
        from hybrid.nnet.data import iter_cmvn_feats

        feats = ((u, f) for u, _s, f in iter_cmvn_feats(features, _bool(cmvn), _bool(norm_vars)))
    else:
        from hybrid.io import iter_table

        feats = ((u, np.asarray(f, dtype=np.float32)) for u, f in iter_table(features))
    count = [0, 0]

    def items():
        for utt, f in feats:
            if len(f) == 0:
                logging.warning("utterance %s has no frames; skipped", utt)
                continue
            y = compute_chain_output(net, f, device)
            count[0] += 1
            count[1] += len(y)
            yield utt, y.astype(np.float32)

    with torch.inference_mode():
        _open_writer(wspecifier)(items())
    logging.info("Processed %d utterances, %d output frames", count[0], count[1])
    if count[0] == 0:
        raise SystemExit(1)


@click.command("lattice-scale")
@click.option("--acoustic-scale", type=float, default=1.0, show_default=True, help="Scale on the acoustic costs.")
@click.option("--lm-scale", type=float, default=1.0, show_default=True, help="Scale on the graph (LM) costs.")
@click.option("--inv-acoustic-scale", type=float, default=1.0, show_default=True, help="Divide acoustic costs by this.")
@click.argument("lats_rspecifier")
@click.argument("lats_wspecifier")
def lattice_scale_cmd(acoustic_scale, lm_scale, inv_acoustic_scale, lats_rspecifier, lats_wspecifier):
    """Kaldi's lattice-scale: scale the acoustic and graph costs of compact lattices (chain decoding
    writes lattices at --acoustic-scale 1.0 and scales them by --post-decode-acwt 10).

    Usage: hybrid lattice-scale --acoustic-scale=10.0 lat.1.gz lat.scaled.1.gz
    """
    _setup_logging("lattice-scale")
    from dataclasses import replace

    from hybrid.decode.lattice import iter_lattices, write_lattices

    a = acoustic_scale / inv_acoustic_scale
    n = [0]

    def items():
        for utt, lat in iter_lattices(lats_rspecifier):
            n[0] += 1
            fa = lat.final_acoustic
            fin = lat.final_graph
            yield utt, replace(lat, graph=lat.graph * lm_scale, acoustic=lat.acoustic * a,
                               final_graph=fin * lm_scale, final_acoustic=fa * a)

    write_lattices(items(), lats_wspecifier)
    logging.info("Done %d lattices.", n[0])


COMMANDS = [chain_gen_topo_cmd, chain_convert_ali_cmd, subsample_feats_cmd, chain_get_egs_cmd, chain_train_cmd,
            chain_compute_prob_cmd, chain_compute_cmd, lattice_scale_cmd]
