"""Free Spoken Digit Dataset (FSDD): Kaldi data dirs and a ten-word dict dir.

Layout: ``<corpus>/recordings/{digit}_{speaker}_{index}.wav`` (8 kHz, 16-bit mono). The official
split (README): index 0-4 test, 5-49 train. Utterance ids are ``<speaker>-<digit>_<index>``,
speaker ``<speaker>``, text the digit word (``ZERO`` .. ``NINE``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from hybrid.data.datadir import DataDir, DataDirError, write_data_dir
from hybrid.data.prep_utils import download_file, extract_archive, write_dict_dir

log = logging.getLogger(__name__)

FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/heads/master.zip"
DIGIT_WORDS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
# CMU dictionary pronunciations, stress removed (the phone set of AN4's etc/an4.dic)
DIGIT_LEXICON: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ZERO", ("Z", "IH", "R", "OW")),
    ("ZERO", ("Z", "IY", "R", "OW")),
    ("ONE", ("W", "AH", "N")),
    ("TWO", ("T", "UW")),
    ("THREE", ("TH", "R", "IY")),
    ("FOUR", ("F", "AO", "R")),
    ("FIVE", ("F", "AY", "V")),
    ("SIX", ("S", "IH", "K", "S")),
    ("SEVEN", ("S", "EH", "V", "AH", "N")),
    ("EIGHT", ("EY", "T")),
    ("NINE", ("N", "AY", "N")),
)
_NAME_RE = re.compile(r"^(?P<digit>[0-9])_(?P<spk>[A-Za-z0-9]+)_(?P<idx>[0-9]+)\.wav$")
TEST_INDICES = range(0, 5)


def download_fsdd(target_dir: str | os.PathLike, force: bool = False) -> Path:
    """Download the dataset from its official GitHub repository; returns ``target_dir/fsdd``."""
    target = Path(target_dir)
    corpus = target / "fsdd"
    if (corpus / "recordings").is_dir() and not force:
        log.info("FSDD already present at %s", corpus)
        return corpus
    zipf = download_file(FSDD_URL, target / "fsdd-master.zip", force=force)
    tmp = target / "fsdd.extract"
    extract_archive(zipf, tmp)
    found = next(tmp.glob("*/recordings"), None)
    if found is None:
        raise DataDirError(f"{zipf}: no recordings/ directory inside")
    corpus.mkdir(parents=True, exist_ok=True)
    if (corpus / "recordings").exists():
        shutil.rmtree(corpus / "recordings")
    shutil.move(str(found), corpus / "recordings")
    for extra in ("README.md",):
        if (found.parent / extra).is_file():
            shutil.copy(found.parent / extra, corpus / extra)
    shutil.rmtree(tmp)
    return corpus


def prepare_fsdd(corpus_dir: str | os.PathLike, output_dir: str | os.PathLike,
                 test_indices: range | set[int] = TEST_INDICES) -> dict[str, Path]:
    """Write ``output_dir/train`` and ``output_dir/test`` (official split: index 0-4 is test).

    Files whose names do not match ``{digit}_{speaker}_{index}.wav`` are reported and skipped.
    """
    rec_dir = Path(corpus_dir).resolve() / "recordings"
    if not rec_dir.is_dir():
        raise DataDirError(f"{rec_dir}: no such directory (is {corpus_dir} an FSDD checkout?)")
    parts = {"train": DataDir(text={}), "test": DataDir(text={})}
    for wav in sorted(rec_dir.iterdir()):
        if wav.suffix != ".wav":
            continue
        m = _NAME_RE.match(wav.name)
        if m is None:
            log.error("%s: name is not {digit}_{speaker}_{index}.wav; skipped", wav)
            continue
        spk, idx = m["spk"], int(m["idx"])
        utt = f"{spk}-{m['digit']}_{m['idx']}"
        dd = parts["test" if idx in test_indices else "train"]
        dd.utt2spk[utt] = spk
        dd.text[utt] = DIGIT_WORDS[int(m["digit"])]
        dd.wav_scp[utt] = str(wav)
    out = Path(output_dir)
    result = {}
    for name, dd in parts.items():
        if not dd.utt2spk:
            raise DataDirError(f"FSDD {name}: no utterances found in {rec_dir}")
        log.info("FSDD %s: %d utterances, %d speakers", name, len(dd), len(dd.speakers))
        result[name] = write_data_dir(dd, out / name)
    return result


def prepare_fsdd_dict(dict_dir: str | os.PathLike) -> Path:
    """Kaldi dict dir for the ten digit words (built-in CMU-phone lexicon, no stress) + ``<UNK> SIL``."""
    return write_dict_dir(dict_dir, DIGIT_LEXICON, silence_phones=("SIL",), optional_silence="SIL",
                          oov=("<UNK>", "SIL"))
