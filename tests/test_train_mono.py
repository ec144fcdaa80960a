"""End-to-end steps/train_mono.sh + steps/align_si.sh on a tiny synthetic corpus (features drawn
from per-HMM-state Gaussians, so the likelihood must rise and alignments must recover the states)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np

from hybrid.io import read_ali_ark, write_mats_ark_scp

from kaldi_oracle import kaldi_lexicon_fst
from test_align import LEXICON, SIL, TOPO, lexicon_arcs

REPO = Path(__file__).resolve().parent.parent
PHONES = ["<eps>", "SIL", "a", "b", "c", "d", "e", "f", "g", "h"]
WORDS = ["<eps>", "A", "B", "C", "<UNK>"]


def _make_lang(d: Path) -> None:
    (d / "phones").mkdir(parents=True)
    (d / "phones.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(PHONES)))
    (d / "words.txt").write_text("".join(f"{w} {i}\n" for i, w in enumerate(WORDS)))
    (d / "topo").write_text(TOPO)
    (d / "oov.int").write_text("4\n")
    (d / "phones" / "sets.int").write_text("1\n2 3\n4\n5\n6\n7\n8\n9\n")
    (d / "phones" / "optional_silence.csl").write_text("1\n")
    (d / "phones" / "disambig.int").write_text("")
    arcs, finals = lexicon_arcs()
    kaldi_lexicon_fst(arcs, finals).write(str(d / "L.fst"))


def _make_data(d: Path, rng: np.random.Generator, n_utts: int = 24, dim: int = 13) -> None:
    d.mkdir(parents=True)
    means = {(p, s): rng.normal(0, 3, dim) for p in range(1, 10) for s in range(5)}
    feats, text, utt2spk = {}, [], []
    for i in range(n_utts):
        spk = f"spk{i % 3}"
        utt = f"{spk}-u{i:03d}"
        words = list(rng.integers(1, 4, size=rng.integers(1, 4)))
        phones = [SIL]
        for w in words:
            prons = LEXICON[int(w)]
            phones += prons[int(rng.integers(len(prons)))] + ([SIL] if rng.random() < 0.3 else [])
        phones.append(SIL)
        frames = []
        for p in phones:
            for s in range(5 if p == SIL else 3):
                frames += [means[(p, s)] + rng.normal(0, 1, dim) for _ in range(int(rng.integers(2, 6)))]
        feats[utt] = np.array(frames, dtype=np.float32)
        text.append(f"{utt} " + " ".join(WORDS[int(w)] for w in words))
        utt2spk.append((utt, spk))
    write_mats_ark_scp(sorted(feats.items()), d / "feats.ark", d / "feats.scp")
    from hybrid.features import compute_cmvn_stats

    spk2utt: dict[str, list[str]] = {}
    for u, s in utt2spk:
        spk2utt.setdefault(s, []).append(u)
    write_mats_ark_scp(sorted(compute_cmvn_stats(feats, spk2utt).items()), d / "cmvn.ark", d / "cmvn.scp")
    (d / "text").write_text("\n".join(sorted(text)) + "\n")
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(utt2spk)))
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))


def _run(cmd: str, cwd: Path) -> str:
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{env['PATH']}"
    env["LC_ALL"] = "C"
    p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout + p.stderr


def test_train_mono_and_align_si(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "steps").symlink_to(REPO / "steps")
    (tmp_path / "utils").symlink_to(REPO / "utils")
    _make_lang(tmp_path / "data" / "lang")
    _make_data(tmp_path / "data" / "train", rng)
    _run("steps/train_mono.sh --nj 2 --num-iters 6 --max-iter-inc 4 --totgauss 60 "
         "--realign-iters '1 2 4' data/train data/lang exp/mono", tmp_path)
    exp = tmp_path / "exp" / "mono"
    for f in ("final.mdl", "final.occs", "tree", "num_jobs", "ali.1.gz", "ali.2.gz", "fsts.1.npz"):
        assert (exp / f).is_file(), f
    likes = []
    for it in range(1, 6):
        vals = []
        for j in (1, 2):
            log = (exp / "log" / f"acc.{it}.{j}.log").read_text()
            m = re.search(r"Overall avg like per frame \(Gaussian only\) = (\S+) over (\S+) frames", log)
            vals.append((float(m.group(1)), float(m.group(2))))
        likes.append(sum(v * n for v, n in vals) / sum(n for _, n in vals))
    assert likes[-1] > likes[0] + 1.0, likes
    assert all(b > a - 0.05 for a, b in zip(likes, likes[1:])), likes
    # realignment iterations run gmm-align-acc: its log has the alignment and the acc summaries
    align_log = (exp / "log" / "acc.4.1.log").read_text()
    assert re.search(r"Done \d+, errors on 0", align_log), align_log
    assert "gmm-align-acc" in align_log and not (exp / "log" / "align.4.1.log").exists()
    info = _run("hybrid gmm-info exp/mono/final.mdl", tmp_path)
    assert int(re.search(r"number of gaussians (\d+)", info).group(1)) > 26
    # a restart from a later stage works
    _run("steps/train_mono.sh --nj 2 --num-iters 6 --max-iter-inc 4 --totgauss 60 --stage 5 "
         "--realign-iters '1 2 4' data/train data/lang exp/mono", tmp_path)
    _run("steps/align_si.sh --nj 2 data/train data/lang exp/mono exp/mono_ali", tmp_path)
    alis = {}
    for j in (1, 2):
        alis.update(read_ali_ark(tmp_path / "exp" / "mono_ali" / f"ali.{j}.gz"))
    assert len(alis) == 24
    assert (tmp_path / "exp" / "mono_ali" / "final.mdl").is_file()
