"""``utils/fix_data_dir.sh``: sort the tables, keep the ids present everywhere, regenerate spk2utt."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hybrid.data.datadir import (RECO_FILES, SPK_FILES, UTT_FILES, DataDirError, c_sorted, utt2spk_to_spk2utt,
                                 write_table_file)
from hybrid.io import atomic_write

log = logging.getLogger(__name__)

BACKUP = ".backup"


@dataclass
class FixReport:
    """What :func:`fix_data_dir` changed."""

    kept_utts: int = 0
    original_utts: int = 0
    removed_utts: list[str] = field(default_factory=list)
    removed_speakers: list[str] = field(default_factory=list)
    removed_recordings: list[str] = field(default_factory=list)
    sorted_files: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def say(self, msg: str) -> None:
        self.messages.append(msg)
        log.info("%s", msg)


def _read_sorted_unique(path: Path, report: FixReport) -> dict[str, str]:
    """Read a table, dropping duplicate keys (first kept, reported) and blank/malformed lines (reported)."""
    out: dict[str, str] = {}
    changed = False
    with open(path, "rb") as f:
        raw_lines = f.read().split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for lineno, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            report.say(f"fix_data_dir.sh: {path}:{lineno}: not valid UTF-8, line removed")
            changed = True
            continue
        parts = line.split(None, 1)
        if not parts:
            report.say(f"fix_data_dir.sh: {path}:{lineno}: empty line removed")
            changed = True
            continue
        key, value = parts[0], (parts[1].strip() if len(parts) > 1 else "")
        if key in out:
            report.say(f"fix_data_dir.sh: {path}:{lineno}: duplicate id {key!r} removed (first kept)")
            changed = True
            continue
        out[key] = value
    keys = list(out)
    if changed or keys != c_sorted(keys):
        report.sorted_files.append(path.name)
        report.say(f"fix_data_dir.sh: file {path} is not in sorted order or not unique, sorting it")
    return {k: out[k] for k in c_sorted(keys)}


def fix_data_dir(path: str | os.PathLike) -> FixReport:
    """Make a data dir consistent, as Kaldi's ``utils/fix_data_dir.sh``.

    Sorts every table (C order, duplicate keys dropped), keeps only utterances present in
    ``utt2spk``, ``text``, ``segments`` (or ``wav.scp`` without segments), ``feats.scp``,
    ``utt2dur``, ``utt2num_frames`` (whichever exist; durations must be positive) and with a non-empty transcript and a
    two-field ``utt2spk`` line (``spk2utt`` is not consulted: it is regenerated); recordings used by a kept segment; speakers with a kept
    utterance; regenerates ``spk2utt``. Original files are copied to ``<data>/.backup/`` and the
    removed ids listed in ``.backup/removed_{utts,speakers,recordings}`` (as Kaldi keeps its backups).
    Raises :class:`DataDirError` if no utterance remains.
    """
    d = Path(path)
    report = FixReport()
    if not (d / "utt2spk").is_file():
        raise DataDirError(f"{d / 'utt2spk'}: no such file")
    present = [n for n in ("wav.scp",) + UTT_FILES + SPK_FILES + RECO_FILES if (d / n).is_file()]
    tables = {n: _read_sorted_unique(d / n, report) for n in present}
    has_seg = "segments" in tables

    utt2spk = tables["utt2spk"]
    report.original_utts = sum(1 for _ in open(d / "utt2spk", "rb"))
    bad = [u for u, s in utt2spk.items() if len(s.split()) != 1]
    for u in bad:
        report.say(f"fix_data_dir.sh: utt2spk line for {u!r} does not have 2 fields; removed")
    utts = {u for u in utt2spk if u not in bad}

    # recordings: with segments, those in both wav.scp and segments
    if has_seg:
        segs = tables["segments"]
        badseg = []
        for u, v in segs.items():
            f = v.split()
            try:
                ok = len(f) == 3 and 0 <= float(f[1]) < float(f[2])
            except ValueError:
                ok = False
            if not ok:
                badseg.append(u)
                report.say(f"fix_data_dir.sh: bad segments line for {u!r}: {v!r}; removed")
        utts -= set(badseg)
        recs = {segs[u].split()[0] for u in segs if u not in badseg}
        if "wav.scp" in tables:
            recs &= set(tables["wav.scp"])
        utts &= {u for u in segs if u not in badseg and segs[u].split()[0] in recs}

    utt_keyed = [n for n in UTT_FILES if n in tables and n != "utt2spk"]
    if not has_seg and "wav.scp" in tables:
        utt_keyed.append("wav.scp")
    for n in utt_keyed:
        utts &= set(tables[n])
    for n in ("utt2dur", "utt2num_frames"):  # as Kaldi: only lines '<utt> <positive number>' count
        if n in tables:
            for u, v in tables[n].items():
                try:
                    ok = len(v.split()) == 1 and float(v) > 0
                except ValueError:
                    ok = False
                if not ok and u in utts:
                    report.say(f"fix_data_dir.sh: {n} entry of {u!r} is {v!r} (not a positive number); removed")
                    utts.discard(u)
    if "text" in tables:
        empty = {u for u in utts if not tables["text"][u]}
        for u in c_sorted(empty):
            report.say(f"fix_data_dir.sh: empty transcript for {u!r}; removed")
        utts -= empty
    if not utts:
        raise DataDirError(f"fix_data_dir.sh: no utterances remained in {d}: not proceeding further")

    new_utt2spk = {u: utt2spk[u] for u in c_sorted(utts)}
    speakers = set(new_utt2spk.values())
    report.kept_utts = len(new_utt2spk)
    report.removed_utts = c_sorted(set(utt2spk) - utts)
    old_spks = set(utt2spk.values()) | set(tables.get("spk2utt", {}))
    report.removed_speakers = c_sorted(old_spks - speakers)

    backup = d / BACKUP
    backup.mkdir(exist_ok=True)
    for n in present:
        shutil.copyfile(d / n, backup / n)

    if report.kept_utts != report.original_utts:
        report.say(f"fix_data_dir.sh: kept {report.kept_utts} utterances out of {report.original_utts}")
    else:
        report.say(f"fix_data_dir.sh: kept all {report.original_utts} utterances.")

    write_table_file(d / "utt2spk", new_utt2spk)
    write_table_file(d / "spk2utt", utt2spk_to_spk2utt(new_utt2spk))
    for n in utt_keyed:
        _write_filtered(d / n, tables[n], utts, report)
    if has_seg:
        kept_recs = {tables["segments"][u].split()[0] for u in utts}
        for n in ("wav.scp",) + RECO_FILES:
            if n in tables:
                report.removed_recordings += [r for r in tables[n] if r not in kept_recs and n == "wav.scp"]
                _write_filtered(d / n, tables[n], kept_recs, report)
    for n in SPK_FILES:
        if n in tables and n != "spk2utt":
            _write_filtered(d / n, tables[n], speakers, report)
    for name, ids in (("removed_utts", report.removed_utts), ("removed_speakers", report.removed_speakers),
                      ("removed_recordings", report.removed_recordings)):
        with atomic_write(backup / name) as f:
            f.writelines(f"{x}\n" for x in ids)
    return report


def _write_filtered(path: Path, table: dict[str, str], keep: set[str], report: FixReport) -> None:
    new = {k: v for k, v in table.items() if k in keep}
    if len(new) != len(table):
        report.say(f"fix_data_dir.sh: filtered {path} from {len(table)} to {len(new)} lines")
    write_table_file(path, new, sort=False)
