"""Training graphs and forced alignment (Kaldi's compile-train-graphs, align-equal-compiled,
gmm-align-compiled; gmm-align-acc = gmm-align-compiled + gmm-acc-stats-ali in one process)."""

from __future__ import annotations

import logging

import click

from hybrid.cli.cmd_gmm import feature_options, open_features, setup_logging


@click.command("compile-train-graphs")
@click.option("--read-disambig-syms", default=None, help="phones/disambig.int (not needed with L.fst)")
@click.option("--words", default=None, help="words.txt: map the transcripts' words to ids (sym2int.pl)")
@click.option("--map-oov", type=int, default=None, help="word id for words not in --words")
@click.argument("tree")
@click.argument("model")
@click.argument("lexicon_fst")
@click.argument("transcripts")
@click.argument("graphs_out")
def compile_train_graphs(read_disambig_syms, words, map_oov, tree, model, lexicon_fst, transcripts, graphs_out):
    """Compile one training graph per utterance (written as GRAPHS_OUT, an .npz archive)."""
    setup_logging("compile-train-graphs")
    from hybrid.align import compile_train_graphs as ctg, read_transcripts
    from hybrid.gmm import read_model
    from hybrid.tree import read_tree

    tm, _ = read_model(model)
    ctx = read_tree(tree)
    done, err = ctg(tm, ctx, lexicon_fst, read_transcripts(transcripts, words, map_oov), graphs_out)
    if done == 0 and err > 0:
        raise SystemExit(1)


@click.command("align-equal-compiled")
@feature_options
@click.argument("graphs")
@click.argument("features")
@click.argument("alignments_out")
def align_equal_compiled(graphs, features, alignments_out, **kw):
    """Equal alignment (flat start): a random path through each graph, frames spread evenly."""
    setup_logging("align-equal-compiled")
    from hybrid.align import align_equal_compiled as aec

    aec(graphs, open_features(features, kw), alignments_out)


def align_options(f):
    """Options of gmm-align-compiled (Kaldi's names; defaults are Kaldi's binary defaults)."""
    for opt in reversed([
        click.option("--beam", type=float, default=200.0, show_default=True),
        click.option("--retry-beam", type=float, default=0.0, show_default=True),
        click.option("--careful", type=bool, default=False, show_default=True),
        click.option("--transition-scale", type=float, default=1.0, show_default=True),
        click.option("--acoustic-scale", type=float, default=1.0, show_default=True),
        click.option("--self-loop-scale", type=float, default=1.0, show_default=True),
        click.option("--boost-silence", type=float, default=1.0, show_default=True,
                     help="boost the silence pdfs of the alignment model (as gmm-boost-silence)"),
        click.option("--silence-phones", default="", help="colon-separated silence phones for --boost-silence"),
    ]):
        f = opt(f)
    return f


def _align_setup(model: str, kw: dict):
    """(tm, alignment model (silence-boosted when asked), model as read, AlignOptions); pops the options."""
    from hybrid.align import AlignOptions
    from hybrid.gmm import boost_silence as boost, read_model

    tm, am = read_model(model)
    am_align = am
    boost_silence, silence_phones = kw.pop("boost_silence"), kw.pop("silence_phones")
    if boost_silence != 1.0:
        am_align = am.copy()
        n = boost(tm, am_align, [int(x) for x in silence_phones.split(":") if x], boost_silence)
        logging.info("Boosted weights for %d pdfs, by factor of %g", n, boost_silence)
    opts = AlignOptions(beam=kw.pop("beam"), retry_beam=kw.pop("retry_beam"), careful=kw.pop("careful"),
                        transition_scale=kw.pop("transition_scale"), acoustic_scale=kw.pop("acoustic_scale"),
                        self_loop_scale=kw.pop("self_loop_scale"))
    return tm, am_align, am, opts


@click.command("gmm-align-compiled")
@align_options
@feature_options
@click.argument("model")
@click.argument("graphs")
@click.argument("features")
@click.argument("alignments_out")
def gmm_align_compiled(model, graphs, features, alignments_out, **kw):
    """Viterbi forced alignment of each utterance against its training graph."""
    setup_logging("gmm-align-compiled")
    from hybrid.align import gmm_align_compiled as gac

    tm, am_align, _, opts = _align_setup(model, kw)
    gac(tm, am_align, graphs, open_features(features, kw), alignments_out, opts)


@click.command("gmm-align-acc")
@align_options
@feature_options
@click.argument("model")
@click.argument("graphs")
@click.argument("features")
@click.argument("alignments_out")
@click.argument("stats_out")
def gmm_align_acc(model, graphs, features, alignments_out, stats_out, **kw):
    """Align (as gmm-align-compiled) and accumulate statistics on the new alignments (as
    gmm-acc-stats-ali with the unboosted MODEL) in one pass: ALIGNMENTS_OUT and STATS_OUT are
    those of the two commands, without re-reading the features and alignments."""
    setup_logging("gmm-align-acc")
    from hybrid.align import gmm_align_acc as gaa

    tm, am_align, am, opts = _align_setup(model, kw)
    _, accs = gaa(tm, am_align, graphs, open_features(features, kw), alignments_out, opts, acc_am=am)
    accs.write(stats_out)


COMMANDS = [compile_train_graphs, align_equal_compiled, gmm_align_compiled, gmm_align_acc]
