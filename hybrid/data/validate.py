"""``utils/validate_data_dir.sh``: check a data directory, naming the offending file and line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hybrid.data.datadir import DataDirError, Entry, iter_entries, utt2spk_to_spk2utt
from hybrid.io.symbols import FormatError

log = logging.getLogger(__name__)

_ILLEGAL_WORDS = frozenset({"<s>", "</s>", "#0"})


def _entries(path: Path, min_value_fields: int = 0) -> list[Entry]:
    try:
        return list(iter_entries(path, min_value_fields))
    except FormatError as e:
        raise DataDirError(str(e)) from None


def _check_sorted_uniq(path: Path, entries: list[Entry]) -> None:
    """Keys strictly increasing in C byte order (``sort -k1,1 -u | cmp``)."""
    seen: dict[str, int] = {}
    prev: Entry | None = None
    for e in entries:
        if e.key in seen:
            raise DataDirError(f"{path}:{e.lineno}: duplicate id {e.key!r} (first on line {seen[e.key]})")
        if prev is not None and e.key < prev.key:
            raise DataDirError(f"{path}:{e.lineno}: not sorted: {e.key!r} comes after {prev.key!r} on line "
                               f"{prev.lineno} (LC_ALL=C byte order); fix with utils/fix_data_dir.sh")
        seen[e.key] = e.lineno
        prev = e


def _same_keys(ref_path: Path, ref: list[Entry], other_path: Path, other: list[Entry], what: str) -> None:
    """The key sets of two tables must be equal; name the first key in either but not both."""
    ref_keys = {e.key for e in ref}
    other_keys = {e.key for e in other}
    for e in ref:
        if e.key not in other_keys:
            raise DataDirError(f"{ref_path}:{e.lineno}: {what} {e.key!r} is missing from {other_path} "
                               f"({len(ref_keys - other_keys)} missing in all)")
    for e in other:
        if e.key not in ref_keys:
            raise DataDirError(f"{other_path}:{e.lineno}: {what} {e.key!r} is not in {ref_path} "
                               f"({len(other_keys - ref_keys)} such in all)")


def _load_sorted(path: Path, min_value_fields: int = 0) -> list[Entry]:
    entries = _entries(path, min_value_fields)
    _check_sorted_uniq(path, entries)
    return entries


def _check_numbers(path: Path, entries: list[Entry], kind: type) -> None:
    for e in entries:
        try:
            if len(e.value.split()) != 1:
                raise ValueError
            v = kind(e.value)
        except ValueError:
            raise DataDirError(f"{path}:{e.lineno}: expected '<id> <{kind.__name__}>', got {e.key} {e.value!r}") from None
        if not v > 0:
            raise DataDirError(f"{path}:{e.lineno}: value must be positive, got {e.value}")


def validate_data_dir(path: str | os.PathLike, no_feats: bool = True, no_text: bool = False,
                      no_wav: bool = False, no_spk_sort: bool = False, non_print: bool = False) -> None:
    """Check a data dir as Kaldi's ``validate_data_dir.sh`` does; raise :class:`DataDirError` on the first problem.

    Checks: every table sorted (C order) without duplicate ids; ``utt2spk`` two fields and
    ordered consistently when sorted by speaker (``--no-spk-sort`` skips that); ``spk2utt``
    equal to the one derived from ``utt2spk``; ``text`` (unless ``no_text``, which skips it as
    Kaldi does) with the same utterances, no empty transcript, no ``<s>``/``</s>``/``#0``, no
    non-printable characters (``non_print`` allows them, as Kaldi's ``--non-print``); ``wav.scp``
    (unless ``no_wav``; no ``~`` paths) holding every utterance or,
    with ``segments``, exactly the recordings the segments use; ``feats.scp`` required unless
    ``no_feats`` and checked whenever present; ``cmvn.scp``/``spk2gender`` per speaker;
    ``utt2dur``/``utt2num_frames``/``reco2dur`` numeric with the right ids. A speaker id that is
    not a prefix of its utterance ids is a warning (logged), as in Kaldi.
    """
    d = Path(path)
    if not d.is_dir():
        raise DataDirError(f"{d}: no such directory")
    f_u2s = d / "utt2spk"
    if not f_u2s.is_file():
        raise DataDirError(f"{f_u2s}: no such file")
    u2s = _load_sorted(f_u2s, 1)
    if not u2s:
        raise DataDirError(f"{f_u2s}: empty")
    for e in u2s:
        if len(e.value.split()) != 1:
            raise DataDirError(f"{f_u2s}:{e.lineno}: expected '<utt> <spk>', got {e.key} {e.value!r}")
    if not no_spk_sort:
        by_spk = sorted(u2s, key=lambda e: (e.value, e.key))
        for a, b in zip(u2s, by_spk):
            if a.key != b.key:
                raise DataDirError(
                    f"{f_u2s}:{a.lineno}: utt2spk is not in sorted order when sorted first on speaker-id "
                    f"(utterance {a.key!r} of speaker {a.value!r}); fix this by making speaker-ids prefixes of utt-ids")
    not_prefix = [e for e in u2s if not e.key.startswith(e.value)]
    if not_prefix:
        e = not_prefix[0]
        log.warning("%s:%d: speaker id %r is not a prefix of utterance id %r (%d such utterances); "
                    "Kaldi recommends speaker-id prefixes", f_u2s, e.lineno, e.value, e.key, len(not_prefix))

    # spk2utt must be what utt2spk_to_spk2utt.pl makes of utt2spk
    f_s2u = d / "spk2utt"
    if not f_s2u.is_file():
        raise DataDirError(f"{f_s2u}: no such file (make it with utils/utt2spk_to_spk2utt.pl)")
    s2u = _load_sorted(f_s2u, 1)
    expect = utt2spk_to_spk2utt({e.key: e.value for e in u2s})
    for e in s2u:
        if e.key not in expect:
            raise DataDirError(f"{f_s2u}:{e.lineno}: speaker {e.key!r} has no utterances in {f_u2s}")
        if e.value.split() != expect[e.key]:
            raise DataDirError(f"{f_s2u}:{e.lineno}: utterances of speaker {e.key!r} differ from {f_u2s}; "
                               f"regenerate it with utils/utt2spk_to_spk2utt.pl")
    got = {e.key for e in s2u}
    for spk in expect:
        if spk not in got:
            raise DataDirError(f"{f_s2u}: speaker {spk!r} of {f_u2s} is missing")

    f_text = d / "text"
    if not no_text:
        if not f_text.is_file():
            raise DataDirError(f"{f_text}: no such file (if this is by design, specify --no-text)")
        text = _load_sorted(f_text)
        for e in text:
            if not e.value:
                raise DataDirError(f"{f_text}:{e.lineno}: empty transcript for utterance {e.key!r}")
            if not non_print and any(not (c.isprintable() or c.isspace()) for c in e.value):
                raise DataDirError(f"{f_text}:{e.lineno}: non-printable character in transcript of {e.key!r}")
            bad = _ILLEGAL_WORDS.intersection(e.value.split())
            if bad:
                raise DataDirError(f"{f_text}:{e.lineno}: text contains illegal symbol {sorted(bad)[0]}")
        _same_keys(f_u2s, u2s, f_text, text, "utterance")

    f_seg = d / "segments"
    segs: list[Entry] | None = None
    if f_seg.is_file():
        segs = _load_sorted(f_seg, 3)
        for e in segs:
            f = e.value.split()
            try:
                ok = len(f) == 3 and 0 <= float(f[1]) < float(f[2])
            except ValueError:
                ok = False
            if not ok:
                raise DataDirError(f"{f_seg}:{e.lineno}: bad segment {e.key} {e.value!r} "
                                   f"(want '<utt> <recording> <start> <end>' with 0 <= start < end)")
        _same_keys(f_u2s, u2s, f_seg, segs, "utterance")

    f_wav = d / "wav.scp"
    if f_wav.is_file():
        wav = _load_sorted(f_wav, 1)
        for e in wav:
            if e.value.startswith("~"):
                raise DataDirError(f"{f_wav}:{e.lineno}: please do not use tilde (~) in wav.scp (no expansion is done)")
        if segs is None:
            _same_keys(f_u2s, u2s, f_wav, wav, "utterance")
        else:
            wav_keys = {e.key for e in wav}
            used = {e.value.split()[0] for e in segs}
            for e in segs:
                rec = e.value.split()[0]
                if rec not in wav_keys:
                    raise DataDirError(f"{f_seg}:{e.lineno}: recording {rec!r} of utterance {e.key!r} "
                                       f"is missing from {f_wav}")
            for e in wav:
                if e.key not in used:
                    raise DataDirError(f"{f_wav}:{e.lineno}: recording {e.key!r} is used by no segment in {f_seg}")
        f_r2d = d / "reco2dur"
        if f_r2d.is_file():
            r2d = _load_sorted(f_r2d, 1)
            _check_numbers(f_r2d, r2d, float)
            _same_keys(f_wav, wav, f_r2d, r2d, "recording")
    elif not no_wav:
        raise DataDirError(f"{f_wav}: no such file")

    f_feats = d / "feats.scp"
    if f_feats.is_file():
        feats = _load_sorted(f_feats, 1)
        _same_keys(f_u2s, u2s, f_feats, feats, "utterance")
    elif not no_feats:
        raise DataDirError(f"{f_feats}: no such file (use --no-feats before feature extraction)")

    for name in ("cmvn.scp", "spk2gender"):
        f = d / name
        if f.is_file():
            ent = _load_sorted(f, 1)
            if name == "spk2gender":
                for e in ent:
                    if e.value not in ("m", "f"):
                        raise DataDirError(f"{f}:{e.lineno}: gender must be m or f, got {e.value!r}")
            _same_keys(f_s2u, s2u, f, ent, "speaker")

    for name, kind in (("utt2dur", float), ("utt2num_frames", int)):
        f = d / name
        if f.is_file():
            ent = _load_sorted(f, 1)
            _check_numbers(f, ent, kind)
            _same_keys(f_u2s, u2s, f, ent, "utterance")
