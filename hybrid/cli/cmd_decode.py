"""Decoding commands: ``latgen-faster-mapped`` and ``gmm-latgen-faster`` (Kaldi's names and options)."""

from __future__ import annotations

import logging
import sys

import click

INT32_MAX = 2147483647


def _setup_log(prog: str) -> None:
    """Kaldi-style log lines on stderr: ``LOG (prog) ...`` / ``WARNING (prog) ...``."""

    class _Fmt(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            lvl = {"INFO": "LOG", "WARNING": "WARNING", "ERROR": "ERROR"}.get(record.levelname, record.levelname)
            return f"{lvl} ({prog}) {record.getMessage()}"

    root = logging.getLogger()
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(_Fmt())
    h._kaldi_style = True  # type: ignore[attr-defined]
    root.handlers[:] = [x for x in root.handlers if not getattr(x, "_kaldi_style", False)] + [h]
    root.setLevel(logging.INFO)


def _decoder_options(f):
    opts = [
        click.option("--beam", type=float, default=16.0, show_default=True, help="Decoding beam."),
        click.option("--max-active", type=int, default=INT32_MAX, show_default=True,
                     help="Decoder max active states."),
        click.option("--min-active", type=int, default=200, show_default=True, help="Decoder min active states."),
        click.option("--lattice-beam", type=float, default=10.0, show_default=True, help="Lattice generation beam."),
        click.option("--prune-interval", type=int, default=25, show_default=True,
                     help="Interval (in frames) at which to prune tokens."),
        click.option("--beam-delta", type=float, default=0.5, show_default=True,
                     help="Increment used when the beam is widened for --min-active / --max-active."),
        click.option("--acoustic-scale", type=float, default=0.1, show_default=True,
                     help="Scaling factor for acoustic likelihoods."),
        click.option("--allow-partial", type=click.BOOL, default=False, show_default=True,
                     help="Output partial results when no final state is reached."),
        click.option("--word-symbol-table", default="", help="Symbol table for words (for the log)."),
        click.option("--determinize-lattice", type=click.BOOL, default=True,
                     help="Determinize the lattice (one best path per word sequence), as Kaldi; when "
                          "too large even after pruning harder, the undeterminized word lattice is kept."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _make_opts(kw: dict):
    from hybrid.decode import DecoderOptions

    return DecoderOptions(beam=kw["beam"], max_active=kw["max_active"], min_active=kw["min_active"],
                          lattice_beam=kw["lattice_beam"], prune_interval=kw["prune_interval"],
                          beam_delta=kw["beam_delta"], acoustic_scale=kw["acoustic_scale"],
                          allow_partial=kw["allow_partial"], determinize_lattice=kw["determinize_lattice"])


def _word_syms(path: str):
    if not path:
        return None
    from hybrid.io import read_symbols

    return dict(read_symbols(path).id2sym)


def _read_tid2pdf(model: str):
    """The transition model at the head of a Kaldi text model file (``final.mdl``)."""
    from hybrid.hmm import TransitionModel
    from hybrid.io.kaldi_text import KaldiTextReader

    return TransitionModel.parse_reader(KaldiTextReader.from_file(model)).tid2pdf


def _finish(stats) -> None:
    if stats.num_done == 0:
        raise SystemExit(1)


@click.command("latgen-faster-mapped", context_settings={"show_default": True})
@_decoder_options
@click.argument("model")
@click.argument("fst")
@click.argument("loglikes_rspecifier")
@click.argument("lat_wspecifier")
@click.argument("words_wspecifier", required=False)
@click.argument("alignments_wspecifier", required=False)
def latgen_faster_mapped(model, fst, loglikes_rspecifier, lat_wspecifier, words_wspecifier, alignments_wspecifier,
                         **kw):
    """Generate lattices from a table of log-likelihood matrices (frames x pdfs).

    Usage: hybrid latgen-faster-mapped [options] trans-model HCLG.fst loglikes-rspecifier
    lattice-wspecifier [words-wspecifier [alignments-wspecifier]]
    """
    _setup_log("latgen-faster-mapped")
    from hybrid.decode.driver import decode_table
    from hybrid.fst.compact import load_compact_graph
    from hybrid.io import iter_table

    tid2pdf = _read_tid2pdf(model)
    graph = load_compact_graph(fst)
    stats = decode_table(graph, iter_table(loglikes_rspecifier), tid2pdf, _make_opts(kw), lat_wspecifier,
                         words_wspecifier, alignments_wspecifier, _word_syms(kw["word_symbol_table"]))
    _finish(stats)


@click.command("gmm-latgen-faster", context_settings={"show_default": True})
@_decoder_options
@click.option("--cmvn/--no-cmvn", default=True, help="Apply per-speaker CMVN from the data dir's cmvn.scp.")
@click.option("--norm-vars", type=click.BOOL, default=False, help="Normalize variances in CMVN.")
@click.option("--delta-order", type=int, default=0, help="Add deltas of this order (train_deltas: 2).")
@click.option("--splice", type=int, default=0, help="Splice +-N frames (LDA systems: 3).")
@click.option("--transform", default="", help="Feature transform: a matrix file (final.mat) or a table of "
                                               "per-speaker transforms (fMLLR trans.*).")
@click.argument("model")
@click.argument("fst")
@click.argument("features")
@click.argument("lat_wspecifier")
@click.argument("words_wspecifier", required=False)
@click.argument("alignments_wspecifier", required=False)
def gmm_latgen_faster(model, fst, features, lat_wspecifier, words_wspecifier, alignments_wspecifier, cmvn,
                      norm_vars, delta_order, splice, transform, **kw):
    """Generate lattices with a GMM model.

    FEATURES is a data dir (feats.scp + cmvn.scp, processed with --delta-order/--splice/--transform)
    or a feature rspecifier (ark:..., scp:..., used as is).

    Usage: hybrid gmm-latgen-faster [options] final.mdl HCLG.fst <data-dir|features-rspecifier>
    lat.JOB.gz [words-wspecifier [alignments-wspecifier]]
    """
    _setup_log("gmm-latgen-faster")
    import functools
    import os

    from hybrid.decode.driver import decode_table
    from hybrid.fst.compact import load_compact_graph
    from hybrid.gmm import read_model

    trans_model, am = read_model(model)
    graph = load_compact_graph(fst)
    if os.path.isdir(features):
        from hybrid.features import iter_features

        feats = iter_features(features, cmvn=cmvn, norm_vars=norm_vars, delta_order=delta_order,
                              splice=splice or None, transform=transform or None)
    else:
        from hybrid.io import iter_table

        feats = iter_table(features)
    scores = ((utt, functools.partial(am.log_likelihoods, x)) for utt, x in feats)
    stats = decode_table(graph, scores, trans_model.tid2pdf, _make_opts(kw), lat_wspecifier, words_wspecifier,
                         alignments_wspecifier, _word_syms(kw["word_symbol_table"]))
    _finish(stats)


COMMANDS = [latgen_faster_mapped, gmm_latgen_faster]
