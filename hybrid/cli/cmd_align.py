"""Training graphs and forced alignment (Kaldi's compile-train-graphs, align-equal-compiled,
gmm-align-compiled)."""

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


@click.command("gmm-align-compiled")
@click.option("--beam", type=float, default=200.0, show_default=True)
@click.option("--retry-beam", type=float, default=0.0, show_default=True)
@click.option("--careful", type=bool, default=False, show_default=True)
@click.option("--transition-scale", type=float, default=1.0, show_default=True)
@click.option("--acoustic-scale", type=float, default=1.0, show_default=True)
@click.option("--self-loop-scale", type=float, default=1.0, show_default=True)
@click.option("--boost-silence", type=float, default=1.0, show_default=True,
              help="boost the silence pdfs of the alignment model (as gmm-boost-silence)")
@click.option("--silence-phones", default="", help="colon-separated silence phones for --boost-silence")
@feature_options
@click.argument("model")
@click.argument("graphs")
@click.argument("features")
@click.argument("alignments_out")
def gmm_align_compiled(beam, retry_beam, careful, transition_scale, acoustic_scale, self_loop_scale, boost_silence,
                       silence_phones, model, graphs, features, alignments_out, **kw):
    """Viterbi forced alignment of each utterance against its training graph."""
    setup_logging("gmm-align-compiled")
    from hybrid.align import AlignOptions, gmm_align_compiled as gac
    from hybrid.gmm import boost_silence as boost, read_model

    tm, am = read_model(model)
    if boost_silence != 1.0:
        n = boost(tm, am, [int(x) for x in silence_phones.split(":") if x], boost_silence)
        logging.info("Boosted weights for %d pdfs, by factor of %g", n, boost_silence)
    opts = AlignOptions(beam=beam, retry_beam=retry_beam, careful=careful, transition_scale=transition_scale,
                        acoustic_scale=acoustic_scale, self_loop_scale=self_loop_scale)
    gac(tm, am, graphs, open_features(features, kw), alignments_out, opts)


COMMANDS = [compile_train_graphs, align_equal_compiled, gmm_align_compiled]
