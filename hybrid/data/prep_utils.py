"""Helpers for corpus preparers (hybrid.corpora): downloads, archive extraction, Kaldi dict dirs."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from hybrid.io import atomic_path, atomic_write

log = logging.getLogger(__name__)


def download_file(url: str, target: str | os.PathLike, force: bool = False) -> Path:
    """Download ``url`` to ``target`` (atomically) unless it is already there."""
    target = Path(target)
    if target.is_file() and not force:
        log.info("%s already downloaded", target)
        return target
    log.info("downloading %s to %s", url, target)
    with atomic_path(target) as tmp:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f, length=1 << 20)
    return target


def _safe_members(names: Iterable[str], dest: Path) -> None:
    root = dest.resolve()
    for n in names:
        p = (dest / n).resolve()
        if root != p and root not in p.parents:
            raise ValueError(f"archive member {n!r} would be written outside {dest}")


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract a .tar(.gz) or .zip into ``dest``, refusing members that would land outside it."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            _safe_members(z.namelist(), dest)
            z.extractall(dest)
    else:
        with tarfile.open(archive) as t:
            _safe_members(t.getnames(), dest)
            t.extractall(dest)


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    with atomic_write(path) as f:
        f.writelines(f"{x}\n" for x in lines)


def write_dict_dir(dict_dir: str | os.PathLike, lexicon: Sequence[tuple[str, Sequence[str]]],
                   silence_phones: Sequence[str] = ("SIL",), optional_silence: str = "SIL",
                   oov: tuple[str, str] | None = ("<UNK>", "SIL"),
                   nonsilence_order: Mapping[str, int] | None = None) -> Path:
    """Write a Kaldi dict dir (the input of ``utils/prepare_lang.sh``).

    ``lexicon.txt``: the given (word, phones) pairs plus the ``oov`` entry, sorted (C order),
    duplicates dropped. ``nonsilence_phones.txt``: every non-silence phone used, one per line.
    ``extra_questions.txt``: as Kaldi's recipes make it for phones without stress or tone marks:
    one line with the silence phones, one line with the non-silence phones grouped by stress
    suffix (phones here have none, so all of them on one line).
    """
    d = Path(dict_dir)
    d.mkdir(parents=True, exist_ok=True)
    entries = {(w, " ".join(p)) for w, p in lexicon}
    if oov is not None:
        entries.add((oov[0], oov[1]))
    lines = sorted(f"{w} {p}" for w, p in entries)
    write_lines(d / "lexicon.txt", lines)
    sil = set(silence_phones)
    used = {ph for _, p in lexicon for ph in p} - sil
    order = nonsilence_order or {}
    nonsil = sorted(used, key=lambda p: (order.get(p, len(order)), p))
    write_lines(d / "nonsilence_phones.txt", nonsil)
    write_lines(d / "silence_phones.txt", list(silence_phones))
    write_lines(d / "optional_silence.txt", [optional_silence])
    by_stress: dict[str, list[str]] = {}
    for p in nonsil:
        stem = p.rstrip("0123456789")
        by_stress.setdefault(p[len(stem):], []).append(p)
    write_lines(d / "extra_questions.txt", [" ".join(silence_phones)] + [" ".join(v) for _, v in sorted(by_stress.items())])
    return d
