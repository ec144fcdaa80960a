"""Language-model commands: train-lm, arpa2fst, arpa-to-g, format-lm."""

from __future__ import annotations

import logging
import sys

import click


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s (%(name)s) %(message)s", stream=sys.stderr)


def _fail(prog: str, e: Exception) -> None:
    """A bad input file ends the command with its message (file and line), not a traceback."""
    click.echo(f"{prog}: ERROR: {e}", err=True)
    sys.exit(1)


@click.command("train-lm")
@click.option("--order", default=3, show_default=True, help="n-gram order")
@click.option("--prune-thresh", default=0.0, show_default=True,
              help="relative-entropy pruning threshold (SRILM -prune), 0 = none")
@click.option("--min-counts", default="", help="count cutoffs per order, e.g. '1 1 2' (orders >= 2 only)")
@click.option("--vocab", default=None, type=click.Path(exists=True, dir_okay=False),
              help="vocabulary: words.txt or one word per line; other words become --unk")
@click.option("--unk", default="<unk>", show_default=True, help="unknown-word symbol ('' for none)")
@click.option("--utt-ids/--no-utt-ids", default=True, show_default=True,
              help="the text has an utterance id first on each line (Kaldi data/*/text)")
@click.argument("text", type=click.Path(exists=True, dir_okay=False))
@click.argument("lm_out", type=click.Path(dir_okay=False))
def train_lm_cmd(order, prune_thresh, min_counts, vocab, unk, utt_ids, text, lm_out):
    """Estimate an interpolated modified Kneser-Ney LM from TEXT; write ARPA LM_OUT (.gz ok)."""
    _setup_logging()
    from hybrid.lm.train import train_lm_from_text
    cutoffs = [int(x) for x in min_counts.split()] if min_counts.strip() else None
    train_lm_from_text(text, lm_out, order=order, prune_thresh=prune_thresh, min_counts=cutoffs,
                       vocab_file=vocab, unk=unk or None, utt_ids=utt_ids)


@click.command("arpa2fst")
@click.option("--disambig-symbol", default="", help="disambiguation symbol for back-off arcs (e.g. #0)")
@click.option("--read-symbol-table", default="", help="use this symbol table (OOV n-grams skipped)")
@click.option("--write-symbol-table", default="", help="write the generated symbol table")
@click.option("--bos-symbol", default="<s>", show_default=True)
@click.option("--eos-symbol", default="</s>", show_default=True)
@click.option("--ilabel-sort", type=bool, default=True, show_default=True)
@click.argument("arpa")
@click.argument("fst_out")
def arpa2fst_cmd(disambig_symbol, read_symbol_table, write_symbol_table, bos_symbol, eos_symbol, ilabel_sort,
                 arpa, fst_out):
    """Kaldi's arpa2fst: ARPA (plain or gzipped; '-' = stdin) to G.fst (OpenFst binary)."""
    import os
    import shutil
    import tempfile

    from hybrid.lm.gfst import arpa2fst
    with tempfile.TemporaryDirectory() as td:
        if arpa == "-":
            path = os.path.join(td, "stdin.arpa")
            with open(path, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f)
            arpa = path
        try:
            arpa2fst(arpa, fst_out, words_txt=read_symbol_table or None, disambig_symbol=disambig_symbol,
                     bos_symbol=bos_symbol, eos_symbol=eos_symbol, ilabel_sort=ilabel_sort,
                     write_symbol_table=write_symbol_table or None)
        except (ValueError, OSError, RuntimeError) as e:
            _fail("arpa2fst", e)


@click.command("arpa-to-g")
@click.option("--remove-words", default="", help="space-separated words whose arcs are deleted")
@click.option("--oov-list", default=None, type=click.Path(exists=True, dir_okay=False),
              help="file of OOV words (e.g. lang/oov.txt) whose arcs are deleted")
@click.argument("arpa", type=click.Path(exists=True, dir_okay=False))
@click.argument("words_txt", type=click.Path(exists=True, dir_okay=False))
@click.argument("g_out", type=click.Path(dir_okay=False))
def arpa_to_g_cmd(remove_words, oov_list, arpa, words_txt, g_out):
    """G.fst the way egs/an4 builds it: arpa2fst | fstprint | grep -v WORDS | remove_oovs.pl |
    eps2disambig.pl | s2eps.pl | fstcompile | fstarcsort."""
    _setup_logging()
    from hybrid.lm.gfst import arpa_to_g_recipe
    oovs = open(oov_list, encoding="utf-8").read().split() if oov_list else []
    try:
        arpa_to_g_recipe(arpa, words_txt, g_out, remove_words=remove_words.split(), oov_words=oovs)
    except (ValueError, OSError, RuntimeError) as e:
        _fail("arpa-to-g", e)


@click.command("format-lm")
@click.argument("lang_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("lm", type=click.Path(exists=True, dir_okay=False))
@click.argument("lexicon", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
def format_lm_cmd(lang_dir, lm, lexicon, out_dir):
    """utils/format_lm.sh: copy LANG_DIR to OUT_DIR and add G.fst from the ARPA LM."""
    _setup_logging()
    from hybrid.lm.gfst import format_lm
    try:
        format_lm(lang_dir, lm, lexicon, out_dir)
    except (ValueError, OSError, RuntimeError, KeyError) as e:
        _fail("format-lm", e)


COMMANDS = [train_lm_cmd, arpa2fst_cmd, arpa_to_g_cmd, format_lm_cmd]
