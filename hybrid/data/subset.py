"""``utils/subset_data_dir.sh`` and ``utils/copy_data_dir.sh``."""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Iterable

from hybrid.data.datadir import (RECO_FILES, SPK_FILES, UTT_FILES, DataDirError, c_sorted, read_table_file,
                                 read_segments, read_utt2spk, utt2spk_to_spk2utt, write_table_file)

log = logging.getLogger(__name__)


def _read_id_list(path: str | os.PathLike) -> list[str]:
    """First field of each non-blank line (as ``filter_scp.pl`` reads its id list)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if parts:
                out.append(parts[0])
    return out


def _utt_lengths(src: Path) -> dict[str, float]:
    """Lengths for ``--shortest``: utt2num_frames, else utt2dur, else segments, else feats.scp shapes."""
    if (src / "utt2num_frames").is_file():
        return {k: float(v) for k, v in read_table_file(src / "utt2num_frames", 1).items()}
    if (src / "utt2dur").is_file():
        return {k: float(v) for k, v in read_table_file(src / "utt2dur", 1).items()}
    if (src / "segments").is_file():
        return {k: s.end - s.start for k, s in read_segments(src / "segments").items()}
    if (src / "feats.scp").is_file():
        import kaldiio
        return {k: float(m.shape[0]) for k, m in kaldiio.load_scp_sequential(str(src / "feats.scp"))}
    raise DataDirError(f"{src}: --shortest needs utt2num_frames, utt2dur, segments or feats.scp")


def subset_data_dir(src: str | os.PathLike, dst: str | os.PathLike, n: int | None = None, *,
                    utt_list: str | os.PathLike | Iterable[str] | None = None,
                    spk_list: str | os.PathLike | Iterable[str] | None = None,
                    first: bool = False, last: bool = False, shortest: bool = False,
                    speakers: bool = False, per_spk: bool = False, seed: int = 0) -> Path:
    """Make ``dst`` a subset of ``src``, as Kaldi's ``subset_data_dir.sh``.

    Exactly one way of choosing: ``utt_list`` / ``spk_list`` (a file or an iterable of ids);
    or ``n`` utterances: the ``first`` or ``last`` n, the n ``shortest``, whole randomly chosen
    ``speakers`` until n utterances are reached, n per speaker (``per_spk``, evenly spread over
    each speaker's utterances), or by default n utterances drawn at random with ``seed``.
    All tables are filtered; the output is sorted. Returns ``dst``.
    """
    src, dst = Path(src), Path(dst)
    modes = sum(bool(x) for x in (utt_list is not None, spk_list is not None, first, last, shortest,
                                  speakers, per_spk))
    if modes > 1:
        raise DataDirError("subset_data_dir: the selection options are mutually exclusive")
    if (utt_list is None and spk_list is None) and n is None:
        raise DataDirError("subset_data_dir: give n, utt_list or spk_list")
    if not (src / "utt2spk").is_file():
        raise DataDirError(f"subset_data_dir.sh: no such file {src / 'utt2spk'}")
    utt2spk = read_utt2spk(src / "utt2spk")
    utts = list(utt2spk)
    spk2utt = utt2spk_to_spk2utt(utt2spk)

    def ids(x) -> list[str]:
        return _read_id_list(x) if isinstance(x, (str, os.PathLike)) else list(x)

    if utt_list is not None:
        keep = set(ids(utt_list)) & set(utts)
    elif spk_list is not None:
        wanted = set(ids(spk_list))
        keep = {u for u in utts if utt2spk[u] in wanted}
    else:
        assert n is not None
        if speakers:
            spks = list(spk2utt)
            random.Random(seed).shuffle(spks)
            keep, tot = set(), 0
            for s in spks:
                if tot >= n:
                    break
                keep.update(spk2utt[s])
                tot += len(spk2utt[s])
        elif per_spk:
            keep = set()
            for s, us in spk2utt.items():
                skip = 1
                while n * (skip + 1) <= len(us):
                    skip += 1
                keep.update(us[i] for i in range(0, min(len(us), n * skip), skip))
        else:
            if n > len(utts):
                raise DataDirError("subset_data_dir.sh: cannot subset to more utterances than you originally had.")
            if first:
                keep = set(utts[:n])
            elif last:
                keep = set(utts[len(utts) - n:])
            elif shortest:
                lens = _utt_lengths(src)
                missing = [u for u in utts if u not in lens]
                if missing:
                    raise DataDirError(f"{src}: no length for utterance {missing[0]!r} ({len(missing)} missing)")
                keep = set(sorted(utts, key=lambda u: (lens[u], u))[:n])
            else:
                keep = set(random.Random(seed).sample(utts, n))
    _filter_into(src, dst, keep)
    log.info("subset_data_dir.sh: reducing #utt from %d to %d", len(utts), len(keep))
    return dst


def _filter_into(src: Path, dst: Path, keep: set[str]) -> None:
    if not keep:
        raise DataDirError(f"subset_data_dir: no utterances selected from {src}")
    utt2spk = read_utt2spk(src / "utt2spk")
    sub = {u: utt2spk[u] for u in c_sorted(keep) if u in utt2spk}
    spks = set(sub.values())
    dst.mkdir(parents=True, exist_ok=True)
    has_seg = (src / "segments").is_file()
    recs: set[str] = set(sub)
    if has_seg:
        segs = read_table_file(src / "segments", 3)
        recs = {segs[u].split()[0] for u in sub if u in segs}
    for name in ("wav.scp",) + UTT_FILES + SPK_FILES + RECO_FILES:
        if name in ("utt2spk", "spk2utt") or not (src / name).is_file():
            continue
        table = read_table_file(src / name)
        if name in SPK_FILES:
            want = spks
        elif name in RECO_FILES or (name == "wav.scp" and has_seg):
            want = recs
        else:
            want = set(sub)
        write_table_file(dst / name, {k: v for k, v in table.items() if k in want})
    write_table_file(dst / "utt2spk", sub)
    write_table_file(dst / "spk2utt", utt2spk_to_spk2utt(sub))


def copy_data_dir(src: str | os.PathLike, dst: str | os.PathLike, utt_prefix: str = "", spk_prefix: str = "",
                  utt_suffix: str = "", spk_suffix: str = "", validate: bool = True) -> Path:
    """Copy a data dir, optionally renaming ids, as Kaldi's ``utils/copy_data_dir.sh``.

    Utterance ids become ``utt_prefix + utt + utt_suffix`` and speaker ids
    ``spk_prefix + spk + spk_suffix``. Recording ids are renamed like utterances when there
    is no ``segments`` file and kept otherwise. The copy is validated unless ``validate=False``.
    """
    src, dst = Path(src), Path(dst)
    if not (src / "utt2spk").is_file():
        raise DataDirError(f"copy_data_dir.sh: no such file {src / 'utt2spk'}")
    if src.resolve() == dst.resolve():
        raise DataDirError(f"copy_data_dir.sh: input and output directories are the same: {src}")

    def u(x: str) -> str:
        return f"{utt_prefix}{x}{utt_suffix}"

    def s(x: str) -> str:
        return f"{spk_prefix}{x}{spk_suffix}"

    has_seg = (src / "segments").is_file()
    dst.mkdir(parents=True, exist_ok=True)
    utt2spk = read_utt2spk(src / "utt2spk")
    new_u2s = {u(k): s(v) for k, v in utt2spk.items()}
    write_table_file(dst / "utt2spk", new_u2s)
    write_table_file(dst / "spk2utt", utt2spk_to_spk2utt({k: new_u2s[k] for k in c_sorted(new_u2s)}))
    for name in ("wav.scp",) + UTT_FILES + SPK_FILES + RECO_FILES:
        if name in ("utt2spk", "spk2utt") or not (src / name).is_file():
            continue
        table = read_table_file(src / name)
        if name in SPK_FILES:
            new = {s(k): v for k, v in table.items()}
        elif name in RECO_FILES or (name == "wav.scp" and has_seg):
            new = dict(table)
        else:
            new = {u(k): v for k, v in table.items()}
        write_table_file(dst / name, new)
    if validate:
        from hybrid.data.validate import validate_data_dir
        validate_data_dir(dst, no_feats=not (dst / "feats.scp").is_file(), no_text=not (dst / "text").is_file(),
                          no_wav=not (dst / "wav.scp").is_file())
    return dst
