"""Data directory and corpus preparation commands (Kaldi's utils/*data_dir*.sh and local/ data prep)."""

from __future__ import annotations

import logging
import sys

import click


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def _fail(e: Exception) -> None:
    click.echo(f"ERROR: {e}", err=True)
    sys.exit(1)


@click.command("validate-data-dir")
@click.option("--no-feats", is_flag=True, help="Do not require feats.scp.")
@click.option("--no-text", is_flag=True, help="Do not require text (untranscribed data).")
@click.option("--no-wav", is_flag=True, help="Do not require wav.scp.")
@click.option("--no-spk-sort", is_flag=True, help="Do not require utt2spk sorted consistently by speaker.")
@click.option("--non-print", is_flag=True, help="Allow non-printable characters in text.")
@click.argument("data_dir")
def validate_data_dir_cmd(data_dir, no_feats, no_text, no_wav, no_spk_sort, non_print):
    """Check a data dir as utils/validate_data_dir.sh (errors name the file and line)."""
    _setup_logging()
    from hybrid.data import DataDirError, validate_data_dir

    try:
        validate_data_dir(data_dir, no_feats=no_feats, no_text=no_text, no_wav=no_wav,
                          no_spk_sort=no_spk_sort, non_print=non_print)
    except (DataDirError, ValueError) as e:
        _fail(e)
    click.echo(f"validate_data_dir.sh: Successfully validated data-directory {data_dir}")


@click.command("fix-data-dir")
@click.argument("data_dir")
def fix_data_dir_cmd(data_dir):
    """Sort, keep ids present in every table, regenerate spk2utt (utils/fix_data_dir.sh)."""
    _setup_logging()
    from hybrid.data import DataDirError, fix_data_dir, validate_data_dir

    try:
        fix_data_dir(data_dir)
        from pathlib import Path
        d = Path(data_dir)
        validate_data_dir(d, no_feats=not (d / "feats.scp").is_file(), no_text=not (d / "text").is_file(),
                          no_wav=not (d / "wav.scp").is_file())
    except (DataDirError, ValueError) as e:
        _fail(e)
    click.echo(f"fix_data_dir.sh: old files are kept in {data_dir}/.backup")


@click.command("split-data")
@click.option("--per-utt", is_flag=True, help="Split utterances evenly, not keeping speakers whole (split<N>utt).")
@click.argument("data_dir")
@click.argument("num_to_split", type=int)
def split_data_cmd(data_dir, num_to_split, per_utt):
    """Split DATA_DIR into DATA_DIR/split<N>/<1..N> by speaker (utils/split_data.sh)."""
    _setup_logging()
    from hybrid.data import DataDirError, split_data

    try:
        split_data(data_dir, num_to_split, per_utt=per_utt)
    except (DataDirError, ValueError) as e:
        _fail(e)


@click.command("subset-data-dir")
@click.option("--utt-list", type=click.Path(exists=True), help="Keep the utterances listed in this file.")
@click.option("--spk-list", type=click.Path(exists=True), help="Keep the speakers listed in this file.")
@click.option("--first", is_flag=True, help="The first N utterances.")
@click.option("--last", is_flag=True, help="The last N utterances.")
@click.option("--shortest", is_flag=True, help="The N shortest utterances.")
@click.option("--speakers", is_flag=True, help="Random whole speakers until N utterances.")
@click.option("--per-spk", is_flag=True, help="N utterances per speaker.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (default: N random utterances).")
@click.argument("args", nargs=-1, required=True)
def subset_data_dir_cmd(args, utt_list, spk_list, first, last, shortest, speakers, per_spk, seed):
    """subset-data-dir [opts] SRC N DEST | --utt-list F SRC DEST | --spk-list F SRC DEST"""
    _setup_logging()
    from hybrid.data import DataDirError, subset_data_dir

    try:
        if utt_list or spk_list:
            if len(args) != 2:
                raise click.UsageError("with --utt-list/--spk-list give SRC DEST")
            src, dst, n = args[0], args[1], None
        else:
            if len(args) != 3:
                raise click.UsageError("give SRC NUM-UTT DEST")
            src, n, dst = args[0], int(args[1]), args[2]
        subset_data_dir(src, dst, n, utt_list=utt_list, spk_list=spk_list, first=first, last=last,
                        shortest=shortest, speakers=speakers, per_spk=per_spk, seed=seed)
    except (DataDirError, ValueError) as e:
        _fail(e)


@click.command("copy-data-dir")
@click.option("--utt-prefix", default="")
@click.option("--spk-prefix", default="")
@click.option("--utt-suffix", default="")
@click.option("--spk-suffix", default="")
@click.option("--no-validate", is_flag=True)
@click.argument("src")
@click.argument("dest")
def copy_data_dir_cmd(src, dest, utt_prefix, spk_prefix, utt_suffix, spk_suffix, no_validate):
    """Copy a data dir, optionally renaming utterance/speaker ids (utils/copy_data_dir.sh)."""
    _setup_logging()
    from hybrid.data import DataDirError, copy_data_dir

    try:
        copy_data_dir(src, dest, utt_prefix=utt_prefix, spk_prefix=spk_prefix, utt_suffix=utt_suffix,
                      spk_suffix=spk_suffix, validate=not no_validate)
    except (DataDirError, ValueError) as e:
        _fail(e)
    click.echo(f"copy_data_dir.sh: copied data from {src} to {dest}")


@click.command("data-to-lhotse")
@click.argument("data_dir")
@click.argument("out_dir")
@click.option("--prefix", default="", help="Manifest name prefix: OUT/<prefix>recordings.jsonl.gz ...")
def data_to_lhotse_cmd(data_dir, out_dir, prefix):
    """Write lhotse recordings/supervisions manifests (jsonl.gz) for a data dir."""
    _setup_logging()
    from pathlib import Path

    from hybrid.data import data_dir_to_lhotse

    recs, sups = data_dir_to_lhotse(data_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recs.to_file(out / f"{prefix}recordings.jsonl.gz")
    sups.to_file(out / f"{prefix}supervisions.jsonl.gz")
    click.echo(f"wrote {len(recs)} recordings, {len(sups)} supervisions to {out}")


@click.command("lhotse-to-data")
@click.argument("recordings")
@click.argument("supervisions")
@click.argument("out_dir")
def lhotse_to_data_cmd(recordings, supervisions, out_dir):
    """Write a Kaldi data dir from lhotse RECORDINGS and SUPERVISIONS manifests."""
    _setup_logging()
    from lhotse import RecordingSet, SupervisionSet

    from hybrid.data import lhotse_to_data_dir

    lhotse_to_data_dir(RecordingSet.from_file(recordings), SupervisionSet.from_file(supervisions), out_dir)


@click.command("download-an4")
@click.argument("target_dir")
def download_an4_cmd(target_dir):
    """Download and extract CMU AN4 (an4_sphere.tar.gz) into TARGET_DIR/an4."""
    _setup_logging()
    from hybrid.corpora import download_an4

    click.echo(str(download_an4(target_dir)))


@click.command("prepare-an4")
@click.argument("corpus_dir")
@click.argument("out_dir")
def prepare_an4_cmd(corpus_dir, out_dir):
    """Write OUT_DIR/{train,test} Kaldi data dirs for CMU AN4 at CORPUS_DIR (with etc/ and wav/)."""
    _setup_logging()
    from hybrid.corpora import prepare_an4
    from hybrid.data import DataDirError

    try:
        for name, d in prepare_an4(corpus_dir, out_dir).items():
            click.echo(f"prepare-an4: {name}: {d}")
    except (DataDirError, OSError) as e:
        _fail(e)


@click.command("prepare-an4-dict")
@click.argument("corpus_dir")
@click.argument("dict_dir")
def prepare_an4_dict_cmd(corpus_dir, dict_dir):
    """Write a Kaldi dict dir (lexicon.txt, *silence*.txt, extra_questions.txt) from etc/an4.dic."""
    _setup_logging()
    from hybrid.corpora import prepare_an4_dict
    from hybrid.data import DataDirError

    try:
        prepare_an4_dict(corpus_dir, dict_dir)
    except (DataDirError, OSError) as e:
        _fail(e)


@click.command("download-fsdd")
@click.argument("target_dir")
def download_fsdd_cmd(target_dir):
    """Download the Free Spoken Digit Dataset from GitHub into TARGET_DIR/fsdd."""
    _setup_logging()
    from hybrid.corpora import download_fsdd

    click.echo(str(download_fsdd(target_dir)))


@click.command("prepare-fsdd")
@click.argument("corpus_dir")
@click.argument("out_dir")
def prepare_fsdd_cmd(corpus_dir, out_dir):
    """Write OUT_DIR/{train,test} data dirs for FSDD at CORPUS_DIR (official split: index 0-4 test)."""
    _setup_logging()
    from hybrid.corpora import prepare_fsdd
    from hybrid.data import DataDirError

    try:
        for name, d in prepare_fsdd(corpus_dir, out_dir).items():
            click.echo(f"prepare-fsdd: {name}: {d}")
    except (DataDirError, OSError) as e:
        _fail(e)


@click.command("prepare-fsdd-dict")
@click.argument("dict_dir")
def prepare_fsdd_dict_cmd(dict_dir):
    """Write a Kaldi dict dir for the ten digit words (built-in CMU-phone lexicon)."""
    _setup_logging()
    from hybrid.corpora import prepare_fsdd_dict

    prepare_fsdd_dict(dict_dir)


@click.command("download-librispeech")
@click.argument("target_dir")
@click.argument("subset", default="dev-clean-2")
def download_librispeech_cmd(target_dir, subset):
    """Download SUBSET (train-clean-5, dev-clean-2, dev-clean, ...) from openslr into TARGET_DIR/LibriSpeech."""
    _setup_logging()
    from hybrid.corpora import download_librispeech

    click.echo(str(download_librispeech(target_dir, subset)))


@click.command("prepare-librispeech")
@click.option("--flac-pipe", is_flag=True, help="wav.scp entries 'flac -c -d -s FILE |' as Kaldi's (needs flac).")
@click.argument("corpus_dir")
@click.argument("subset")
@click.argument("out_dir")
def prepare_librispeech_cmd(corpus_dir, subset, out_dir, flac_pipe):
    """Write a data dir for CORPUS_DIR/SUBSET (LibriSpeech layout), as Kaldi's local/data_prep.sh."""
    _setup_logging()
    from hybrid.corpora import prepare_librispeech
    from hybrid.data import DataDirError

    try:
        prepare_librispeech(corpus_dir, subset, out_dir, flac_pipe=flac_pipe)
    except (DataDirError, OSError) as e:
        _fail(e)


COMMANDS = [
    validate_data_dir_cmd, fix_data_dir_cmd, split_data_cmd, subset_data_dir_cmd, copy_data_dir_cmd,
    data_to_lhotse_cmd, lhotse_to_data_cmd, download_an4_cmd, prepare_an4_cmd, prepare_an4_dict_cmd,
    download_fsdd_cmd, prepare_fsdd_cmd, prepare_fsdd_dict_cmd, download_librispeech_cmd, prepare_librispeech_cmd,
]
