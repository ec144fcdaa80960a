"""Lang preparation commands: prepare-lang, validate-lang, validate-dict-dir, gen-topo."""

from __future__ import annotations

import logging
import sys

import click


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s (%(name)s) %(message)s", stream=sys.stderr)


@click.command("prepare-lang")
@click.option("--position-dependent-phones", type=click.BOOL, default=True, show_default=True,
              help="Use _B _E _I _S word-position markers on phones.")
@click.option("--sil-prob", type=float, default=0.5, show_default=True,
              help="Probability of optional silence between words (0 <= p < 1).")
@click.option("--num-sil-states", type=int, default=5, show_default=True)
@click.option("--num-nonsil-states", type=int, default=3, show_default=True)
@click.option("--share-silence-phones", type=click.BOOL, default=False, show_default=True,
              help="Share the pdfs of all silence phones (one not-shared not-split root).")
@click.option("--share-state-roots", type=click.BOOL, default=True, show_default=True,
              help="One tree root per phone for all its states ('shared split').")
@click.argument("dict_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("oov_word")
@click.argument("tmp_dir", type=click.Path(file_okay=False))
@click.argument("lang_dir", type=click.Path(file_okay=False))
def prepare_lang_cmd(position_dependent_phones: bool, sil_prob: float, num_sil_states: int,
                     num_nonsil_states: int, share_silence_phones: bool, share_state_roots: bool,
                     dict_dir: str, oov_word: str, tmp_dir: str, lang_dir: str) -> None:
    """Make a lang dir from a dict dir (Kaldi's utils/prepare_lang.sh).

    Usage: prepare-lang <dict-src-dir> <oov-dict-entry> <tmp-dir> <lang-dir>
    """
    _setup_logging()
    from hybrid.lang import LangError, prepare_lang

    try:
        prepare_lang(dict_dir, oov_word, lang_dir, tmp_dir=tmp_dir,
                     position_dependent_phones=position_dependent_phones, sil_prob=sil_prob,
                     num_sil_states=num_sil_states, num_nonsil_states=num_nonsil_states,
                     share_silence_phones=share_silence_phones, share_state_roots=share_state_roots)
    except LangError as e:
        for line in e.errors:
            click.echo(f"--> ERROR: {line}", err=True)
        click.echo(f"prepare-lang: {str(e).splitlines()[0]}", err=True)
        sys.exit(1)
    click.echo(f"prepare-lang: wrote {lang_dir} (validated)", err=True)


@click.command("validate-lang")
@click.option("--skip-fst-checks", is_flag=True, help="Do not read or check L.fst / L_disambig.fst / G.fst.")
@click.argument("lang_dir", type=click.Path(file_okay=False))
def validate_lang_cmd(skip_fst_checks: bool, lang_dir: str) -> None:
    """Check a lang dir (a subset of Kaldi's utils/validate_lang.pl)."""
    from hybrid.lang import check_lang

    errors, warnings = check_lang(lang_dir, check_fsts=not skip_fst_checks)
    for w in warnings:
        click.echo(f"--> WARNING: {w}")
    for e in errors:
        click.echo(f"--> ERROR: {e}")
    if errors:
        click.echo("--> ERROR (see error messages above)")
        sys.exit(1)
    if warnings:
        click.echo("--> WARNING (check output above for warnings)")
    else:
        click.echo(f"--> SUCCESS [validating lang directory {lang_dir}]")


@click.command("validate-dict-dir")
@click.argument("dict_dir", type=click.Path(file_okay=False))
def validate_dict_dir_cmd(dict_dir: str) -> None:
    """Check a dict dir (Kaldi's utils/validate_dict_dir.pl)."""
    from hybrid.lang import check_dict_dir

    errors = check_dict_dir(dict_dir)
    for e in errors:
        click.echo(f"--> ERROR: {e}")
    if errors:
        click.echo(f"--> ERROR validating dictionary directory {dict_dir} (see detailed error messages above)")
        sys.exit(1)
    click.echo(f"--> SUCCESS [validating dictionary directory {dict_dir}]")


@click.command("gen-topo")
@click.argument("num_nonsil_states", type=int)
@click.argument("num_sil_states", type=int)
@click.argument("nonsil_phones")
@click.argument("sil_phones")
def gen_topo_cmd(num_nonsil_states: int, num_sil_states: int, nonsil_phones: str, sil_phones: str) -> None:
    """Print a topology (Kaldi's utils/gen_topo.pl): e.g. gen-topo 3 5 4:5:6:7 1:2:3."""
    from hybrid.lang import LangError, gen_topo

    try:
        nonsil = [int(x) for x in nonsil_phones.split(":") if x]
        sil = [int(x) for x in sil_phones.split(":") if x]
        click.echo(gen_topo(num_nonsil_states, num_sil_states, nonsil, sil), nl=False)
    except (ValueError, LangError) as e:
        click.echo(f"gen-topo: bad arguments: {e}", err=True)
        sys.exit(1)


COMMANDS = [prepare_lang_cmd, validate_lang_cmd, validate_dict_dir_cmd, gen_topo_cmd]
