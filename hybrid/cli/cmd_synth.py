"""``hybrid prepare-synth`` (synthetic TTS corpus) and ``hybrid phone-boundary-accuracy``."""

from __future__ import annotations

import click


@click.command("prepare-synth")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--num-train-spk", default=12, show_default=True, help="Training speakers.")
@click.option("--num-test-spk", default=4, show_default=True, help="Test speakers (disjoint from training).")
@click.option("--utts-per-spk", default=25, show_default=True, help="Utterances per speaker.")
@click.option("--num-sentences", default=300, show_default=True, help="Sentence pool (a fifth goes to test).")
@click.option("--seed", default=0, show_default=True, help="Random seed (sentences, speakers).")
@click.option("--engines", default="flite", show_default=True,
              help="Comma-separated TTS engines: flite, espeak (espeak timings are less exact; see docs).")
@click.option("--words", "words_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Word list file (whitespace separated) instead of the built-in list.")
@click.option("--nj", default=2, show_default=True, help="Parallel synthesis processes.")
def prepare_synth_cmd(out_dir: str, num_train_spk: int, num_test_spk: int, utts_per_spk: int,
                      num_sentences: int, seed: int, engines: str, words_file: str | None, nj: int) -> None:
    """Make a synthetic multi-speaker corpus with true phone timings in OUT_DIR.

    Writes OUT_DIR/wav, OUT_DIR/data/{train,test} (Kaldi data dirs plus phones.ctm, words.ctm) and
    OUT_DIR/data/local/dict.
    """
    import logging

    from hybrid.corpora.synth import prepare_synth

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    words = None
    if words_file:
        with open(words_file, encoding="utf-8") as f:
            words = f.read().split()
    info = prepare_synth(out_dir, num_train_spk=num_train_spk, num_test_spk=num_test_spk,
                         utts_per_spk=utts_per_spk, seed=seed, words=words, num_sentences=num_sentences,
                         engines=tuple(e.strip() for e in engines.split(",") if e.strip()), nj=nj)
    click.echo(f"prepare-synth: {info['num_utts']['train']} train + {info['num_utts']['test']} test utterances "
               f"({info['hours']['train']:.3f} + {info['hours']['test']:.3f} h), "
               f"{len(info['failed'])} skipped, in {out_dir}")


@click.command("phone-boundary-accuracy")
@click.argument("ref_ctm", type=click.Path(exists=True, dir_okay=False))
@click.argument("hyp_ctm", type=click.Path(exists=True, dir_okay=False))
@click.option("--tolerances", default="10,20,25,50", show_default=True, help="Tolerances in ms, comma separated.")
@click.option("--silence", type=click.Choice(["drop", "match"]), default="drop", show_default=True,
              help="drop: compare non-silence phones only; match: sequences incl. SIL must be equal.")
@click.option("--phone-symbol-table", type=click.Path(exists=True, dir_okay=False), default=None,
              help="phones.txt, to map integer phone ids in the CTMs (ali-to-phones --ctm-output) to names.")
@click.option("--hyp-offset", default="0", show_default=True,
              help="Seconds added to every hypothesis time; 'frame-centre' = (frame length - shift)/2 = "
                   "0.0075 for 25/10 ms frames (the boundary halfway between two frames' centres).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def phone_boundary_accuracy_cmd(ref_ctm: str, hyp_ctm: str, tolerances: str, silence: str,
                                phone_symbol_table: str | None, hyp_offset: str, as_json: bool) -> None:
    """Share of phone boundaries of HYP_CTM within each tolerance of REF_CTM, and mean error.

    Kaldi's CTM times put a boundary at the start of the first frame's window; --hyp-offset
    frame-centre compares the point halfway between the two frames' centres instead."""
    import json

    from hybrid.io.ctm import parse_frame_offset
    from hybrid.score.phone_boundaries import boundary_accuracy, format_report, read_ctm

    phone_map = None
    if phone_symbol_table:
        from hybrid.io import read_symbols

        table = read_symbols(phone_symbol_table)
        phone_map = {str(i): s for s, i in table.items()}
        phone_map.update({s: s for s, _ in table.items()})
    tols = [float(t) for t in tolerances.split(",") if t.strip()]
    try:
        offset = parse_frame_offset(hyp_offset)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--hyp-offset")
    res = boundary_accuracy(read_ctm(ref_ctm, phone_map), read_ctm(hyp_ctm, phone_map), tols, silence=silence,
                            hyp_offset=offset)
    click.echo(json.dumps(res, indent=1) if as_json else format_report(res))


COMMANDS = [prepare_synth_cmd, phone_boundary_accuracy_cmd]
