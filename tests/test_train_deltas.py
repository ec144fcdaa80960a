"""End-to-end steps/train_deltas.sh on a tiny synthetic corpus.

The corpus is generated together with its true monophone alignment (exp/mono_ali is written
directly: a gmm-init-mono model and the true alignments), and the features of phone ``b`` (4)
depend on its left context (a planted triphone effect). The triphone system must find that
context split, raise the likelihood over the iterations, and align every utterance.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np

from hybrid.gmm import init_mono, write_model
from hybrid.hmm import Topology
from hybrid.io import read_ali_ark, write_ali_ark, write_mats_ark_scp

from kaldi_oracle import kaldi_lexicon_fst
from test_align import LEXICON, SIL, TOPO, lexicon_arcs

REPO = Path(__file__).resolve().parent.parent
PHONES = ["<eps>", "SIL", "a", "b", "c", "d", "e", "f", "g", "h"]
WORDS = ["<eps>", "A", "B", "C", "<UNK>"]
SETS = [[1], [2, 3], [4], [5], [6], [7], [8], [9]]
EFFECT_PHONE = 4  # "c", first phone of B; its features shift when its left neighbour is SIL


def make_lang(d: Path) -> None:
    (d / "phones").mkdir(parents=True)
    (d / "phones.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(PHONES)))
    (d / "words.txt").write_text("".join(f"{w} {i}\n" for i, w in enumerate(WORDS)))
    (d / "topo").write_text(TOPO)
    (d / "oov.int").write_text("4\n")
    (d / "phones" / "sets.int").write_text("".join(" ".join(map(str, s)) + "\n" for s in SETS))
    (d / "phones" / "roots.int").write_text("".join("shared split " + " ".join(map(str, s)) + "\n" for s in SETS))
    (d / "phones" / "extra_questions.int").write_text("1\n2 3 4 5 6 7 8 9\n")
    (d / "phones" / "context_indep.csl").write_text("1\n")
    (d / "phones" / "optional_silence.csl").write_text("1\n")
    (d / "phones" / "disambig.int").write_text("")
    arcs, finals = lexicon_arcs()
    kaldi_lexicon_fst(arcs, finals).write(str(d / "L.fst"))


def _state_tids(tm, ctx, phone: int, hs: int) -> tuple[int, int]:
    st = tm.topo.entry(phone)[hs]
    pdf = ctx.compute([phone], st.forward_pdf_class)
    ts = tm.tstate_of(phone, hs, pdf, pdf)
    tids = list(tm.tstate_tids(ts))
    loop = next(t for t in tids if tm.tid2dst[t] == hs)
    fwd = next(t for t in tids if tm.tid2dst[t] == hs + 1)
    return loop, fwd


def make_corpus(root: Path, rng: np.random.Generator, n_utts: int = 60, dim: int = 4, nj: int = 2) -> None:
    """data/train (feats, cmvn, text, utt2spk, spk2utt) and exp/mono_ali (final.mdl, tree, ali.JOB.gz)."""
    from hybrid.features import compute_cmvn_stats

    topo = Topology.parse(TOPO)
    ctx, tm, am = init_mono(topo, dim * 3, SETS)
    means = {(p, s): rng.normal(0, 3, dim) for p in range(1, 10) for s in range(5)}
    feats, alis, text, utt2spk = {}, {}, [], []
    for i in range(n_utts):
        spk = f"spk{i % 3}"
        utt = f"{spk}-u{i:03d}"
        words = list(rng.integers(1, 4, size=rng.integers(2, 5)))
        phones = [SIL]
        for w in words:
            prons = LEXICON[int(w)]
            phones += prons[int(rng.integers(len(prons)))] + ([SIL] if rng.random() < 0.4 else [])
        if phones[-1] != SIL:
            phones.append(SIL)
        frames, ali = [], []
        for k, p in enumerate(phones):
            left = phones[k - 1] if k else 0
            for s in range(5 if p == SIL else 3):
                loop, fwd = _state_tids(tm, ctx, p, s)
                d = int(rng.integers(2, 6))
                ali += [loop] * (d - 1) + [fwd]
                m = means[(p, s)] + (6.0 if p == EFFECT_PHONE and left == SIL else 0.0)
                frames += [m + rng.normal(0, 1, dim) for _ in range(d)]
        feats[utt] = np.array(frames, dtype=np.float32)
        alis[utt] = np.array(ali, dtype=np.int32)
        text.append(f"{utt} " + " ".join(WORDS[int(w)] for w in words))
        utt2spk.append((utt, spk))
    d = root / "data" / "train"
    d.mkdir(parents=True)
    write_mats_ark_scp(sorted(feats.items()), d / "feats.ark", d / "feats.scp")
    spk2utt: dict[str, list[str]] = {}
    for u, s in utt2spk:
        spk2utt.setdefault(s, []).append(u)
    write_mats_ark_scp(sorted(compute_cmvn_stats(feats, spk2utt).items()), d / "cmvn.ark", d / "cmvn.scp")
    (d / "text").write_text("\n".join(sorted(text)) + "\n")
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(utt2spk)))
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    ali_dir = root / "exp" / "mono_ali"
    ali_dir.mkdir(parents=True)
    write_model(ali_dir / "final.mdl", tm, am)
    ctx.write(ali_dir / "tree")
    (ali_dir / "num_jobs").write_text(f"{nj}\n")
    (ali_dir / "cmvn_opts").write_text("\n")
    (ali_dir / "phones.txt").write_text((root / "data" / "lang" / "phones.txt").read_text())
    from hybrid.data import split_data

    for j, part in enumerate(split_data(d, nj)):  # ali.JOB.gz follows data/train/split<nj>/JOB
        utts = [ln.split()[0] for ln in (part / "utt2spk").read_text().splitlines() if ln.strip()]
        write_ali_ark({u: alis[u] for u in utts}, ali_dir / f"ali.{j + 1}.gz")


def run(cmd: str, cwd: Path) -> str:
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{env['PATH']}"
    env["LC_ALL"] = "C"
    p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout + p.stderr


def _avg_like(exp: Path, it: int, nj: int = 2) -> float:
    vals = []
    for j in range(1, nj + 1):
        log = (exp / "log" / f"acc.{it}.{j}.log").read_text()
        m = re.search(r"Overall avg like per frame \(Gaussian only\) = (\S+) over (\S+) frames", log)
        vals.append((float(m.group(1)), float(m.group(2))))
    return sum(v * n for v, n in vals) / sum(n for _, n in vals)


def test_train_deltas_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "steps").symlink_to(REPO / "steps")
    (tmp_path / "utils").symlink_to(REPO / "utils")
    make_lang(tmp_path / "data" / "lang")
    make_corpus(tmp_path, rng)
    out = run("steps/train_deltas.sh --num-iters 3 --max-iter-inc 1 --realign-iters 2 "
              "40 120 data/train data/lang exp/mono_ali exp/tri1", tmp_path)
    assert "Done training system with delta+delta-delta features" in out
    exp = tmp_path / "exp" / "tri1"
    for f in ("final.mdl", "final.occs", "tree", "num_jobs", "ali.1.gz", "ali.2.gz", "fsts.1.npz",
              "questions.int", "questions.qst", "delta_opts", "cmvn_opts"):
        assert (exp / f).is_file(), f
    assert (exp / "delta_opts").read_text().strip() == "--delta-order=2"
    # tree: about as many pdfs as the monophone system (26) or more, and the planted left-context split of phone c
    info = run("hybrid tree-info exp/tri1/tree", tmp_path)
    num_pdfs = int(re.search(r"num-pdfs (\d+)", info).group(1))
    assert num_pdfs % 8 == 0 and 24 <= num_pdfs <= 40  # build-tree --round-num-leaves (Kaldi's default)
    leaves = run("hybrid draw-tree --text --topo data/lang/topo data/lang/phones.txt exp/tri1/tree", tmp_path)
    c_lines = [ln for ln in leaves.splitlines() if "central={c}" in ln]
    assert any("left={SIL}" in ln or "left={<eps> SIL}" in ln for ln in c_lines), leaves
    # every utterance had an alignment for the tree statistics and was converted
    acc_logs = "".join((exp / "log" / f"acc_tree.{j}.log").read_text() for j in (1, 2))
    assert acc_logs.count(" 0 failed due to no alignment, 0 failed for other reasons") == 2, acc_logs
    convert_logs = "".join((exp / "log" / f"convert.{j}.log").read_text() for j in (1, 2))
    assert convert_logs.count("failed for 0") == 2, convert_logs
    # likelihood rises over the iterations; the realigned data all aligned
    likes = [_avg_like(exp, it) for it in range(1, 3)]
    assert likes[-1] > likes[0], likes
    assert re.search(r"Done \d+, errors on 0", (exp / "log" / "align.2.1.log").read_text())
    alis = {}
    for j in (1, 2):
        alis.update(read_ali_ark(exp / f"ali.{j}.gz"))
    assert len(alis) == 60
    gmm = run("hybrid gmm-info exp/tri1/final.mdl", tmp_path)
    assert int(re.search(r"number of pdfs (\d+)", gmm).group(1)) == num_pdfs
    assert int(re.search(r"number of gaussians (\d+)", gmm).group(1)) > num_pdfs
