"""CMU AN4 (alphanumeric census database): Kaldi data dirs and dict dir.

Corpus layout (``an4_sphere.tar.gz``)::

    an4/etc/an4_{train,test}.transcription   "<s> WORDS </s> (an251-fash-b)" (train), "WORDS (an406-fcaw-b)" (test)
    an4/etc/an4_{train,test}.fileids         "an4_clstk/fash/an251-fash-b"
    an4/etc/an4.dic, an4.phone               CMU phones without stress; WORD(2) marks alternates
    an4/wav/an4_clstk/<spk>/*.sph            train, 16 kHz NIST SPHERE (soundfile reads it)
    an4/wav/an4test_clstk/<spk>/*.sph        test

Utterance ids are ``<spk>-<id without the speaker>`` (``an251-fash-b`` → ``fash-an251-b``) so the
speaker is a prefix; ``wav.scp`` points at the ``.sph`` files directly.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from hybrid.data.datadir import DataDir, DataDirError, write_data_dir
from hybrid.data.prep_utils import download_file, extract_archive, write_dict_dir

log = logging.getLogger(__name__)

AN4_URL = "http://www.speech.cs.cmu.edu/databases/an4/an4_sphere.tar.gz"
_LINE_RE = re.compile(r"^(?P<words>.*?)\s*\((?P<id>[^()\s]+)\)\s*$")
_FILLERS = {"<s>", "</s>", "<sil>"}
_PARTS = {"train": ("an4_train", "an4_clstk"), "test": ("an4_test", "an4test_clstk")}


def download_an4(target_dir: str | os.PathLike, force: bool = False) -> Path:
    """Download and extract the official CMU tarball into ``target_dir``; returns ``target_dir/an4``."""
    target = Path(target_dir)
    corpus = target / "an4"
    if (corpus / "etc" / "an4_train.transcription").is_file() and not force:
        log.info("AN4 already present at %s", corpus)
        return corpus
    tgz = download_file(AN4_URL, target / "an4_sphere.tar.gz", force=force)
    extract_archive(tgz, target)
    if not (corpus / "etc").is_dir():
        raise DataDirError(f"{tgz} did not contain an4/etc")
    return corpus


def parse_transcription(path: str | os.PathLike) -> dict[str, str]:
    """``etc/an4_*.transcription`` → {original utterance id: words} (``<s>``/``</s>``/``<sil>`` removed)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = _LINE_RE.match(line.strip())
            if m is None:
                raise DataDirError(f"{path}:{lineno}: expected 'WORDS (uttid)', got {line.rstrip()!r}")
            words = [w for w in m["words"].split() if w not in _FILLERS]
            if m["id"] in out:
                raise DataDirError(f"{path}:{lineno}: duplicate utterance {m['id']!r}")
            out[m["id"]] = " ".join(words)
    return out


def kaldi_utt_id(orig: str, spk: str) -> str:
    """``an251-fash-b`` of speaker ``fash`` → ``fash-an251-b``."""
    parts = orig.split("-")
    if spk in parts:
        parts.remove(spk)
    return "-".join([spk] + parts)


def prepare_an4_part(corpus_dir: str | os.PathLike, part: str, out_dir: str | os.PathLike) -> Path:
    """Write the data dir of one part (``train`` or ``test``) to ``out_dir``.

    An utterance whose audio file is missing or which has no transcript is reported and skipped.
    """
    corpus = Path(corpus_dir).resolve()
    stem, wavdir = _PARTS[part]
    trans = parse_transcription(corpus / "etc" / f"{stem}.transcription")
    fileids = corpus / "etc" / f"{stem}.fileids"
    dd = DataDir(text={})
    seen: set[str] = set()
    with open(fileids, encoding="utf-8") as f:
        rel_paths = [(i, line.strip()) for i, line in enumerate(f, 1) if line.strip()]
    for lineno, rel in rel_paths:
        pieces = rel.split("/")
        if len(pieces) < 3:
            raise DataDirError(f"{fileids}:{lineno}: expected '<dir>/<spk>/<uttid>', got {rel!r}")
        spk, orig = pieces[-2], pieces[-1]
        seen.add(orig)
        wav = corpus / "wav" / f"{rel}.sph"
        if orig not in trans:
            log.error("%s:%d: utterance %s has no transcript in %s.transcription; skipped", fileids, lineno, orig, stem)
            continue
        if not wav.is_file():
            log.error("%s:%d: utterance %s: audio file %s missing; skipped", fileids, lineno, orig, wav)
            continue
        if not trans[orig]:
            log.error("%s:%d: utterance %s has an empty transcript; skipped", fileids, lineno, orig)
            continue
        utt = kaldi_utt_id(orig, spk)
        dd.utt2spk[utt] = spk
        dd.text[utt] = trans[orig]
        dd.wav_scp[utt] = str(wav)
    for orig in trans:
        if orig not in seen:
            log.error("%s: utterance %s is transcribed but not in %s; skipped", stem, orig, fileids)
    if not dd.utt2spk:
        raise DataDirError(f"AN4 {part}: no usable utterances under {corpus}")
    log.info("AN4 %s: %d utterances, %d speakers", part, len(dd.utt2spk), len(dd.speakers))
    return write_data_dir(dd, out_dir)


def prepare_an4(corpus_dir: str | os.PathLike, output_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``output_dir/train`` and ``output_dir/test`` Kaldi data dirs for AN4."""
    out = Path(output_dir)
    return {part: prepare_an4_part(corpus_dir, part, out / part) for part in ("train", "test")}


def read_an4_dic(path: str | os.PathLike, phones: set[str] | None = None) -> list[tuple[str, list[str]]]:
    """``etc/an4.dic`` → [(word, phones)], alternates ``WORD(2)`` folded into ``WORD``."""
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise DataDirError(f"{path}:{lineno}: word {parts[0]!r} has no pronunciation")
            word = re.sub(r"\(\d+\)$", "", parts[0])
            if phones is not None:
                bad = [p for p in parts[1:] if p not in phones]
                if bad:
                    raise DataDirError(f"{path}:{lineno}: phone(s) {bad} of {parts[0]} not in an4.phone")
            out.append((word, parts[1:]))
    return out


def prepare_an4_dict(corpus_dir: str | os.PathLike, dict_dir: str | os.PathLike) -> Path:
    """Kaldi dict dir from ``etc/an4.dic`` and ``etc/an4.phone``.

    ``lexicon.txt`` = the dictionary (alternates folded) + ``<UNK> SIL``; silence and optional
    silence ``SIL``; ``nonsilence_phones.txt`` = the other phones of ``an4.phone`` used in the
    lexicon (in ``an4.phone`` order); ``extra_questions.txt`` = ``SIL`` on one line, the
    non-silence phones on the next (AN4's phones carry no stress marks). Kaldi's egs/an4/s5 writes
    it empty; over 7 paired pipeline seeds that made tri1 0.54 and tri3b (fMLLR) 0.46 points worse
    on average (egs/an4/s5/RESULTS, local/pipeline_seeds.sh --extra-questions empty|silence).
    """
    etc = Path(corpus_dir) / "etc"
    with open(etc / "an4.phone", encoding="utf-8") as f:
        phone_list = [p for line in f for p in line.split()]
    lexicon = read_an4_dic(etc / "an4.dic", set(phone_list))
    order = {p: i for i, p in enumerate(phone_list)}
    return write_dict_dir(dict_dir, lexicon, silence_phones=("SIL",), optional_silence="SIL",
                          oov=("<UNK>", "SIL"), nonsilence_order=order)
