"""Speed perturbation of a data dir (Kaldi's utils/data/perturb_data_dir_speed_3way.sh):
copies at speeds 0.9 and 1.1 (``sox ... speed F`` pipes in wav.scp, ids prefixed ``sp0.9-``,
``sp1.1-``) plus the original, in one data dir. Segments and utt2dur are scaled by 1/F.
Features and alignments of the new dir are made by the recipe (make_mfcc, align_*)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["perturb_data_dir_speed", "perturb_data_dir_speed_3way"]


def _read_lines(p: Path) -> list[list[str]]:
    if not p.exists():
        return []
    return [line.rstrip("\n").split(maxsplit=1) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sox_entry(entry: str, factor: float) -> str:
    if entry.rstrip().endswith("|"):
        return f"{entry.rstrip()} sox -t wav - -t wav - speed {factor} |"
    return f"sox -t wav {entry} -t wav - speed {factor} |" if entry.endswith(".wav") else \
        f"sox {entry} -t wav - speed {factor} |"


def perturb_data_dir_speed(factor: float, src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """One speed-perturbed copy of ``src`` in ``dst`` (Kaldi's perturb_data_dir_speed.sh):
    utterance, speaker and recording ids get the prefix ``sp<factor>-``."""
    from hybrid.nnet._atomic import atomic_write

    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    pre = f"sp{factor:g}-"
    has_seg = (src / "segments").exists()
    files: dict[str, list[str]] = {}
    files["wav.scp"] = [f"{pre}{k} {_sox_entry(v, factor)}" for k, v in _read_lines(src / "wav.scp")]
    files["utt2spk"] = [f"{pre}{k} {pre}{v}" for k, v in _read_lines(src / "utt2spk")]
    spk2utt: dict[str, list[str]] = {}
    for k, v in _read_lines(src / "utt2spk"):
        spk2utt.setdefault(pre + v, []).append(pre + k)
    files["spk2utt"] = [f"{s} {' '.join(sorted(u))}" for s, u in spk2utt.items()]
    for name in ("text", "spk2gender"):
        if (src / name).exists():
            rows = _read_lines(src / name)
            files[name] = [f"{pre}{r[0]}" + (f" {r[1]}" if len(r) > 1 else "") for r in rows]
    if has_seg:
        rows = []
        for k, v in _read_lines(src / "segments"):
            rec, b, e = v.split()[:3]
            rows.append(f"{pre}{k} {pre}{rec} {float(b) / factor:.2f} {float(e) / factor:.2f}")
        files["segments"] = rows
    for name in ("utt2dur", "reco2dur"):
        if (src / name).exists():
            files[name] = [f"{pre}{k} {float(v) / factor:.3f}" for k, v in _read_lines(src / name)]
    for name, rows in files.items():
        with atomic_write(dst / name) as f:
            f.writelines(r + "\n" for r in sorted(rows))


def perturb_data_dir_speed_3way(src: str | os.PathLike, dst: str | os.PathLike,
                                factors: tuple[float, ...] = (0.9, 1.0, 1.1)) -> None:
    """``dst`` = union of ``src`` (factor 1.0, ids unchanged) and its speed-perturbed copies."""
    import tempfile

    from hybrid.nnet._atomic import atomic_write

    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    merged: dict[str, list[str]] = {}
    names = ("wav.scp", "utt2spk", "spk2utt", "text", "spk2gender", "segments", "utt2dur", "reco2dur")
    with tempfile.TemporaryDirectory(dir=dst) as tmp:
        for fac in factors:
            if fac == 1.0:
                d = src
            else:
                d = Path(tmp) / f"sp{fac:g}"
                perturb_data_dir_speed(fac, src, d)
            for name in names:
                if (d / name).exists():
                    merged.setdefault(name, []).extend((d / name).read_text(encoding="utf-8").splitlines())
    for name, rows in merged.items():
        if name == "spk2gender":
            rows = list(dict.fromkeys(rows))
        with atomic_write(dst / name) as f:
            f.writelines(r + "\n" for r in sorted(set(rows)))
