"""``hybrid find-oovs data/train data/lang``: transcript words the lexicon lacks."""

from __future__ import annotations

import sys

import click


@click.command("find-oovs")
@click.option("--max-utts", type=int, default=10, show_default=True,
              help="utterances listed per OOV word (0 = all)")
@click.option("--strict", is_flag=True, help="exit with status 1 when there is any OOV word or empty transcript")
@click.argument("data")
@click.argument("lang")
def find_oovs_cmd(max_utts: int, strict: bool, data: str, lang: str) -> None:
    """List the words of DATA's text that are not in LANG, with their counts and utterances.

    DATA: a data dir (or its text file). LANG: a lang dir (words.txt), a dict dir
    (lexicon.txt) or either file. Prints a summary line on stderr and, on stdout, one line
    per OOV word, most frequent first: `<word> <count> <utt> <utt> ...`. These words are
    mapped to the lang dir's OOV word (oov.txt) when the text is turned into integers.
    """
    from hybrid.data.oov import find_oovs, format_oov_report
    from hybrid.io.symbols import FormatError

    try:
        rep = find_oovs(data, lang)
    except (FormatError, OSError, ValueError) as e:
        click.echo(f"find-oovs: ERROR: {e}", err=True)
        sys.exit(1)
    summary, lines = format_oov_report(rep, max_utts)
    click.echo(summary, err=True)
    for line in lines:
        click.echo(line)
    if strict and (rep.counts or rep.empty):
        sys.exit(1)


COMMANDS = [find_oovs_cmd]
