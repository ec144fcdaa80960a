"""``utils/split_data.sh``: split a data dir into ``<data>/split<N>/<1..N>`` by speaker."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hybrid.data.datadir import (RECO_FILES, SPK_FILES, UTT_FILES, DataDirError, read_table_file,
                                 read_utt2spk, utt2spk_to_spk2utt, write_table_file)

log = logging.getLogger(__name__)

# the files whose change makes an existing split stale (as split_data.sh's list)
_WATCHED = ("utt2spk", "spk2utt", "spk2warp", "feats.scp", "text", "wav.scp", "cmvn.scp", "spk2gender",
            "vad.scp", "segments", "reco2file_and_channel", "utt2lang", "utt2dur", "utt2num_frames", "reco2dur")


def split_speakers(spk_counts: list[tuple[str, int]], nj: int) -> list[list[str]]:
    """Kaldi's ``split_scp.pl --utt2spk`` allocation: contiguous speakers, balanced by utterance count.

    ``spk_counts`` is (speaker, number of utterances) in order of first appearance. Speakers are
    first dealt out evenly by count of speakers, then the boundary speakers are moved between
    neighbouring parts while that reduces the difference in their utterance counts.
    """
    nspk = len(spk_counts)
    if nspk < nj:
        raise DataDirError(f"Refusing to split data because number of speakers {nspk} is less than "
                           f"the number of output .scp files {nj}")
    parts: list[list[str]] = [[] for _ in range(nj)]
    sizes = [0] * nj
    count = dict(spk_counts)
    for i, (spk, c) in enumerate(spk_counts):
        j = (i * nj) // nspk
        parts[j].append(spk)
        sizes[j] += c
    changed = True
    while changed:
        changed = False
        for j in range(nj):
            if j < nj - 1 and parts[j]:
                spk = parts[j][-1]
                c = count[spk]
                if abs((sizes[j + 1] + c) - (sizes[j] - c)) < abs(sizes[j + 1] - sizes[j]):
                    sizes[j + 1] += c
                    sizes[j] -= c
                    parts[j].pop()
                    parts[j + 1].insert(0, spk)
                    changed = True
            if j > 0 and parts[j]:
                spk = parts[j][0]
                c = count[spk]
                if abs((sizes[j] - c) - (sizes[j - 1] + c)) < abs(sizes[j] - sizes[j - 1]):
                    sizes[j - 1] += c
                    sizes[j] -= c
                    parts[j].pop(0)
                    parts[j - 1].append(spk)
                    changed = True
    for j, p in enumerate(parts):
        if not p:
            raise DataDirError(f"split_scp.pl would produce an empty part {j + 1} of {nj} "
                               "(too many splits and too few speakers?)")
    return parts


def split_lines(n: int, nj: int) -> list[range]:
    """Kaldi's plain ``split_scp.pl``: consecutive chunks, the first ``n % nj`` one line longer."""
    per = n // nj
    if per < 1:
        raise DataDirError(f"You are splitting into too many pieces! [reduce $nj ({nj}) to be at most "
                           f"the number of utterances ({n})]")
    rem = n - per * nj
    out, start = [], 0
    for j in range(nj):
        size = per + (1 if j < rem else 0)
        out.append(range(start, start + size))
        start += size
    return out


def _up_to_date(data: Path, parts: list[Path]) -> bool:
    if not all(p.is_dir() for p in parts):
        return False
    for p in parts:
        for name in _WATCHED:
            src = data / name
            if src.is_file():
                dst = p / name
                if not dst.is_file() or dst.stat().st_mtime < src.stat().st_mtime:
                    return False
    return True


def split_data(data_dir: str | os.PathLike, nj: int, per_utt: bool = False, force: bool = False) -> list[Path]:
    """Split ``data_dir`` into ``nj`` parts ``<data>/split<nj>[utt]/<1..nj>``, as Kaldi's ``split_data.sh``.

    Speakers are kept whole (unless ``per_utt``, which splits ``utt2spk`` into equal chunks of
    lines); every utterance-, speaker- and recording-keyed table is filtered into each part and
    ``spk2utt`` regenerated. An existing split is reused when none of the source tables is newer
    (unless ``force``). Returns the part directories in order.
    """
    data = Path(data_dir)
    if nj < 1:
        raise DataDirError(f"split_data: invalid number of splits {nj}")
    if not (data / "utt2spk").is_file():
        raise DataDirError(f"{data / 'utt2spk'}: no such file")
    top = data / f"split{nj}{'utt' if per_utt else ''}"
    parts = [top / str(j) for j in range(1, nj + 1)]
    if not force and _up_to_date(data, parts):
        return parts

    utt2spk = read_utt2spk(data / "utt2spk")
    utts = list(utt2spk)
    if (data / "feats.scp").is_file():
        nf = sum(1 for _ in open(data / "feats.scp", "rb"))
        if nf != len(utts):
            log.warning("split_data.sh: warning, #lines is (utt2spk,feats.scp) is (%d,%d); you can "
                        "use utils/fix_data_dir.sh %s to fix this.", len(utts), nf, data)
    if per_utt:
        groups = [[utts[i] for i in r] for r in split_lines(len(utts), nj)]
    else:
        s2u = utt2spk_to_spk2utt(utt2spk)
        spk_parts = split_speakers([(s, len(u)) for s, u in s2u.items()], nj)
        groups = [[u for s in sp for u in s2u[s]] for sp in spk_parts]

    tables = {}
    for name in ("wav.scp",) + UTT_FILES + SPK_FILES + RECO_FILES:
        if name in ("utt2spk", "spk2utt"):
            continue
        if (data / name).is_file():
            tables[name] = read_table_file(data / name)
    has_seg = "segments" in tables

    for part, group in zip(parts, groups):
        part.mkdir(parents=True, exist_ok=True)
        keep = set(group)
        sub_u2s = {u: utt2spk[u] for u in group}
        spks = set(sub_u2s.values())
        recs = {tables["segments"][u].split()[0] for u in group if u in tables["segments"]} if has_seg else keep
        for name, table in tables.items():
            if name in SPK_FILES:
                ids = spks
            elif name in RECO_FILES or (name == "wav.scp" and has_seg):
                ids = recs
            else:
                ids = keep
            write_table_file(part / name, {k: v for k, v in table.items() if k in ids}, sort=False)
        # utt2spk and spk2utt last: they are the freshness markers
        write_table_file(part / "utt2spk", sub_u2s, sort=False)
        write_table_file(part / "spk2utt", utt2spk_to_spk2utt(sub_u2s), sort=False)
    return parts
