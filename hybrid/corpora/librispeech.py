"""LibriSpeech-layout corpora (LibriSpeech, mini_librispeech): a Kaldi data dir per subset.

Layout: ``<corpus>/<subset>/<spk>/<chapter>/<spk>-<chapter>-<n>.flac`` with the transcripts in
``<spk>-<chapter>.trans.txt`` (``<utt> WORDS``) and, optionally, ``<corpus>/SPEAKERS.TXT``
(``ID | SEX | SUBSET | MINUTES | NAME``). As Kaldi's ``egs/librispeech/s5/local/data_prep.sh``
(used by mini_librispeech): utterance ids ``<spk>-<chapter>-<n>``, speakers ``<spk>-<chapter>``,
``spk2gender`` from SPEAKERS.TXT. ``wav.scp`` points at the ``.flac`` files (soundfile reads
FLAC); ``flac_pipe=True`` writes Kaldi's ``flac -c -d -s <file> |`` instead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hybrid.data.datadir import DataDir, DataDirError, write_data_dir
from hybrid.data.prep_utils import download_file, extract_archive

log = logging.getLogger(__name__)

OPENSLR = "https://www.openslr.org/resources"
MINI_SUBSETS = ("train-clean-5", "dev-clean-2")  # openslr resource 31 (mini_librispeech)
FULL_SUBSETS = ("dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360",
                "train-other-500")  # openslr resource 12


def librispeech_url(subset: str) -> str:
    if subset in MINI_SUBSETS:
        return f"{OPENSLR}/31/{subset}.tar.gz"
    if subset in FULL_SUBSETS:
        return f"{OPENSLR}/12/{subset}.tar.gz"
    raise ValueError(f"unknown LibriSpeech subset {subset!r}; known: {MINI_SUBSETS + FULL_SUBSETS}")


def download_librispeech(target_dir: str | os.PathLike, subset: str = "dev-clean-2", force: bool = False) -> Path:
    """Download and extract one subset from openslr into ``target_dir``; returns ``target_dir/LibriSpeech``."""
    target = Path(target_dir)
    corpus = target / "LibriSpeech"
    if (corpus / subset).is_dir() and not force:
        log.info("%s already present at %s", subset, corpus / subset)
        return corpus
    tgz = download_file(librispeech_url(subset), target / f"{subset}.tar.gz", force=force)
    extract_archive(tgz, target)
    if not (corpus / subset).is_dir():
        raise DataDirError(f"{tgz} did not contain LibriSpeech/{subset}")
    return corpus


def read_speakers_txt(path: str | os.PathLike) -> dict[str, str]:
    """SPEAKERS.TXT → {reader id: 'm' | 'f'}; ``;`` lines are comments."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith(";"):
                continue
            fields = [x.strip() for x in line.split("|")]
            if len(fields) < 2 or fields[1].upper() not in ("M", "F"):
                raise DataDirError(f"{path}:{lineno}: expected 'ID | SEX | ...', got {line.rstrip()!r}")
            out[fields[0]] = fields[1].lower()
    return out


def prepare_librispeech(corpus_dir: str | os.PathLike, subset: str, out_dir: str | os.PathLike,
                        flac_pipe: bool = False) -> Path:
    """Write the data dir of ``corpus_dir/subset`` to ``out_dir`` (Kaldi's ``local/data_prep.sh``).

    A transcript line without its audio file, or an audio file without a transcript, is reported
    and skipped.
    """
    corpus = Path(corpus_dir).resolve()
    src = corpus / subset
    if not src.is_dir():
        raise DataDirError(f"{src}: no such directory")
    genders: dict[str, str] = {}
    for cand in (corpus / "SPEAKERS.TXT", src / "SPEAKERS.TXT"):
        if cand.is_file():
            genders = read_speakers_txt(cand)
            break
    dd = DataDir(text={})
    spk2gender: dict[str, str] = {}
    for reader in sorted(p for p in src.iterdir() if p.is_dir()):
        for chapter in sorted(p for p in reader.iterdir() if p.is_dir()):
            spk = f"{reader.name}-{chapter.name}"
            trans = chapter / f"{spk}.trans.txt"
            if not trans.is_file():
                log.error("%s: no transcript file %s; chapter skipped", chapter, trans.name)
                continue
            seen = set()
            with open(trans, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    parts = line.split(None, 1)
                    if not parts:
                        continue
                    utt = parts[0]
                    words = parts[1].strip() if len(parts) > 1 else ""
                    if not utt.startswith(spk + "-"):
                        log.error("%s:%d: utterance %s does not belong to %s; skipped", trans, lineno, utt, spk)
                        continue
                    flac = chapter / f"{utt}.flac"
                    if not flac.is_file():
                        log.error("%s:%d: audio %s missing; utterance skipped", trans, lineno, flac)
                        continue
                    if not words:
                        log.error("%s:%d: empty transcript for %s; skipped", trans, lineno, utt)
                        continue
                    seen.add(utt)
                    dd.utt2spk[utt] = spk
                    dd.text[utt] = words
                    dd.wav_scp[utt] = f"flac -c -d -s {flac} |" if flac_pipe else str(flac)
            for flac in chapter.glob("*.flac"):
                if flac.stem not in seen and flac.stem not in dd.utt2spk:
                    log.error("%s: no transcript in %s; skipped", flac, trans)
            if reader.name in genders:
                spk2gender[spk] = genders[reader.name]
    if not dd.utt2spk:
        raise DataDirError(f"{src}: no utterances found")
    if genders:
        missing = [s for s in dd.speakers if s not in spk2gender]
        if missing:
            log.warning("%s: %d speakers not in SPEAKERS.TXT (e.g. %s); spk2gender not written", src,
                        len(missing), missing[0])
        else:
            dd.extra["spk2gender"] = spk2gender
    log.info("LibriSpeech %s: %d utterances, %d speakers", subset, len(dd), len(dd.speakers))
    return write_data_dir(dd, out_dir)
