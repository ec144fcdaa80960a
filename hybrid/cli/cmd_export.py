"""``hybrid ctm-to-textgrid``: Praat TextGrids (words + phones tiers) from CTMs."""

from __future__ import annotations

import click


@click.command("ctm-to-textgrid")
@click.argument("word_ctm", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--phone-ctm", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Phone CTM (ali-to-phones --ctm-output) for the phones tier.")
@click.option("--utt2dur", type=click.Path(exists=True, dir_okay=False), default=None,
              help="data/x/utt2dur: each TextGrid ends at the utterance's duration (default: the last CTM end).")
@click.option("--phone-symbol-table", type=click.Path(exists=True, dir_okay=False), default=None,
              help="phones.txt, when the phone CTM has integer phone ids.")
@click.option("--strip-positions", is_flag=True, help="Drop word-position suffixes (_B _E _I _S) from phones.")
def ctm_to_textgrid_cmd(word_ctm: str, out_dir: str, phone_ctm: str | None, utt2dur: str | None,
                        phone_symbol_table: str | None, strip_positions: bool) -> None:
    """Write OUT_DIR/<utt>.TextGrid with "words" (and "phones") interval tiers from WORD_CTM.

    Gaps between segments become intervals with empty text, as Praat expects.
    """
    import logging

    from hybrid.export import ctm_to_textgrids

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    phone_map = None
    if phone_symbol_table:
        from hybrid.io import read_symbols

        phone_map = {str(i): s for s, i in read_symbols(phone_symbol_table).items()}
    paths = ctm_to_textgrids(word_ctm, out_dir, phone_ctm=phone_ctm, utt2dur=utt2dur, phone_map=phone_map,
                             strip_positions=strip_positions)
    click.echo(f"ctm-to-textgrid: wrote {len(paths)} TextGrids to {out_dir}")


COMMANDS = [ctm_to_textgrid_cmd]
