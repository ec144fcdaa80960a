"""GMM commands (Kaldi's gmm-* binaries): gmm-init-mono, gmm-acc-stats-ali, gmm-sum-accs, gmm-est,
gmm-info, gmm-boost-silence."""

from __future__ import annotations

import logging
import sys

import click


class _KaldiFormatter(logging.Formatter):
    def __init__(self, prog: str) -> None:
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        level = {"INFO": "LOG", "WARNING": "WARNING", "ERROR": "ERROR"}.get(record.levelname, record.levelname)
        return f"{level} ({self.prog}) {record.getMessage()}"


def setup_logging(prog: str) -> None:
    """Kaldi-like log lines on stderr (``LOG (prog) ...``, ``WARNING (prog) ...``)."""
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(_KaldiFormatter(prog))
    root = logging.getLogger()
    root.handlers[:] = [h]
    root.setLevel(logging.INFO)
    print(" ".join([prog] + sys.argv[2:]), file=sys.stderr)


def feature_options(f):
    """Options of the feature pipeline (apply-cmvn | add-deltas | splice-feats | transform-feats)."""
    f = click.option("--transform", default=None, help="feature transform matrix (final.mat)")(f)
    f = click.option("--splice", type=int, default=None, help="splice ±N frames (splice-feats)")(f)
    f = click.option("--delta-order", type=int, default=0, show_default=True, help="add-deltas order")(f)
    f = click.option("--norm-vars", is_flag=True, help="apply-cmvn --norm-vars=true")(f)
    f = click.option("--no-cmvn", is_flag=True, help="do not apply CMVN")(f)
    return f


def open_features(spec: str, kw: dict):
    from hybrid.align import feature_reader

    return feature_reader(spec, cmvn=not kw.pop("no_cmvn"), norm_vars=kw.pop("norm_vars"),
                          delta_order=kw.pop("delta_order"), splice=kw.pop("splice"), transform=kw.pop("transform"))


def _fail(msg: str) -> None:
    logging.getLogger("hybrid").error(msg)
    sys.exit(1)


@click.command("gmm-init-mono")
@click.option("--shared-phones", default=None, help="phones/sets.int: phones sharing pdfs, one set per line")
@click.option("--train-feats", default=None, help="data dir (or rspecifier) for the global mean/variance")
@click.option("--num-utts", type=int, default=10, show_default=True, help="use the first N utterances (subset-feats --n)")
@feature_options
@click.argument("topo")
@click.argument("dim", type=int)
@click.argument("model_out")
@click.argument("tree_out")
def gmm_init_mono(shared_phones, train_feats, num_utts, topo, dim, model_out, tree_out, **kw):
    """Initialise a monophone model (one Gaussian per pdf with the global mean/variance) and its tree.

    DIM 0 takes the dimension from --train-feats."""
    setup_logging("gmm-init-mono")
    import itertools

    from hybrid.gmm import global_mean_var, init_mono, write_model
    from hybrid.hmm import Topology

    mean = var = None
    if train_feats:
        feats = (x for _, x in itertools.islice(open_features(train_feats, kw), num_utts))
        mean, var, count = global_mean_var(feats)
        logging.info("Initialized from %d frames", count)
    sets = None
    if shared_phones:
        with open(shared_phones) as f:
            sets = [[int(x) for x in line.split()] for line in f if line.strip()]
    if dim <= 0:
        if mean is None:
            raise click.UsageError("DIM 0 (take it from the features) needs --train-feats")
        dim = len(mean)
    ctx, tm, am = init_mono(Topology.read(topo), dim, sets, mean, var)
    write_model(model_out, tm, am)
    ctx.write(tree_out)


@click.command("gmm-info")
@click.argument("model")
def gmm_info(model):
    """Print the numbers of phones, pdfs, transition-ids, Gaussians and the dimension of a model."""
    from hybrid.gmm import model_info, read_model

    click.echo(model_info(*read_model(model)), nl=False)


@click.command("gmm-boost-silence")
@click.option("--boost", type=float, default=1.5, show_default=True, help="factor on the silence pdfs' weights")
@click.argument("silence_phones")
@click.argument("model_in")
@click.argument("model_out")
def gmm_boost_silence(boost, silence_phones, model_in, model_out):
    """Scale the weights of the silence phones' pdfs (colon-separated phone ids) by --boost."""
    setup_logging("gmm-boost-silence")
    from hybrid.gmm import boost_silence, read_model, write_model

    tm, am = read_model(model_in)
    n = boost_silence(tm, am, [int(x) for x in silence_phones.split(":") if x], boost)
    logging.info("Boosted weights for %d pdfs, by factor of %g", n, boost)
    write_model(model_out, tm, am)


@click.command("gmm-acc-stats-ali")
@feature_options
@click.argument("model")
@click.argument("features")
@click.argument("alignments")
@click.argument("stats_out")
def gmm_acc_stats_ali(model, features, alignments, stats_out, **kw):
    """Accumulate GMM and transition statistics from alignments (Viterbi)."""
    setup_logging("gmm-acc-stats-ali")
    from hybrid.align import gmm_acc_stats_ali as acc
    from hybrid.gmm import read_model
    from hybrid.io import read_ali_ark

    tm, am = read_model(model)
    accs = acc(tm, am, open_features(features, kw), read_ali_ark(alignments))
    accs.write(stats_out)


@click.command("gmm-sum-accs")
@click.argument("stats_out")
@click.argument("stats_in", nargs=-1, required=True)
def gmm_sum_accs(stats_out, stats_in):
    """Sum accumulators."""
    setup_logging("gmm-sum-accs")
    from hybrid.gmm import sum_accs

    tot = sum_accs(list(stats_in))
    tot.write(stats_out)
    logging.info("Summed %d stats, total count %g, avg like/frame %g", len(stats_in), tot.tot_t,
                 tot.tot_like / tot.tot_t if tot.tot_t else 0.0)


@click.command("gmm-est")
@click.option("--mix-up", type=int, default=0, help="increase the number of Gaussians to this")
@click.option("--power", type=float, default=0.2, show_default=True, help="exponent on occupancy for mixing up")
@click.option("--min-count", type=float, default=20.0, show_default=True, help="minimum count per Gaussian when mixing up")
@click.option("--perturb-factor", type=float, default=0.01, show_default=True)
@click.option("--write-occs", default=None, help="write pdf occupancies (text vector)")
@click.option("--min-gaussian-weight", type=float, default=1e-5, show_default=True)
@click.option("--min-gaussian-occupancy", type=float, default=10.0, show_default=True)
@click.option("--min-variance", type=float, default=0.001, show_default=True)
@click.option("--remove-low-count-gaussians", type=bool, default=True, show_default=True)
@click.option("--transition-floor", type=float, default=0.01, show_default=True)
@click.option("--transition-min-count", type=float, default=5.0, show_default=True)
@click.option("--update-flags", default="mvwt", show_default=True, help="t: transitions (m, v, w always)")
@click.option("--seed", type=int, default=777, show_default=True, help="seed for splitting Gaussians")
@click.argument("args", nargs=-1, required=True)
def gmm_est(mix_up, power, min_count, perturb_factor, write_occs, min_gaussian_weight, min_gaussian_occupancy,
            min_variance, remove_low_count_gaussians, transition_floor, transition_min_count, update_flags, seed,
            args):
    """gmm-est MODEL_IN STATS_IN... MODEL_OUT: ML re-estimation (several stats files are summed)."""
    setup_logging("gmm-est")
    import numpy as np

    from hybrid.gmm import EstOptions, MleDiagGmmOptions, gmm_est as est, read_model, sum_accs, write_model
    from hybrid.io import atomic_write
    from hybrid.io.kaldi_text import format_vector

    if len(args) < 3:
        raise click.UsageError("expected MODEL_IN STATS_IN... MODEL_OUT")
    tm, am = read_model(args[0])
    accs = sum_accs(list(args[1:-1]))
    opts = EstOptions(mix_up=mix_up, power=power, min_count=min_count, perturb_factor=perturb_factor,
                      transition_floor=transition_floor, transition_min_count=transition_min_count, seed=seed,
                      update_transitions="t" in update_flags,
                      gmm=MleDiagGmmOptions(min_gaussian_weight, min_gaussian_occupancy, min_variance,
                                            remove_low_count_gaussians))
    occs = est(tm, am, accs, opts)
    write_model(args[-1], tm, am)
    if write_occs:
        with atomic_write(write_occs) as f:
            f.write(" " + format_vector(occs.astype(np.float32)) + "\n")
    logging.info("Written model to %s", args[-1])


COMMANDS = [gmm_init_mono, gmm_info, gmm_boost_silence, gmm_acc_stats_ali, gmm_sum_accs, gmm_est]
