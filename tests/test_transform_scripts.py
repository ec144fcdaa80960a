"""End-to-end steps/train_lda_mllt.sh, train_sat.sh and align_fmllr.sh on a tiny synthetic corpus.

The corpus of tests/test_train_deltas.py (true monophone alignments in exp/mono_ali), with a
planted per-speaker linear distortion of the features (so fMLLR has something to undo).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hybrid.io import read_ali_ark, read_table, write_mats_ark_scp
from hybrid.transform import read_matrix

from test_train_deltas import make_corpus, make_lang, run

REPO = Path(__file__).resolve().parent.parent


def _distort_speakers(root: Path, rng: np.random.Generator) -> None:
    from hybrid.features import compute_cmvn_stats

    d = root / "data" / "train"
    feats = read_table(d / "feats.scp")
    spk2utt: dict[str, list[str]] = {}
    for line in (d / "spk2utt").read_text().splitlines():
        spk, *utts = line.split()
        spk2utt[spk] = utts
    for spk, utts in spk2utt.items():
        dim = feats[utts[0]].shape[1]
        a = np.eye(dim) + 0.5 * rng.standard_normal((dim, dim))
        for u in utts:
            feats[u] = (feats[u] @ a.T).astype(np.float32)
    write_mats_ark_scp(sorted(feats.items()), d / "feats2.ark", d / "feats.scp")
    write_mats_ark_scp(sorted(compute_cmvn_stats(feats, spk2utt).items()), d / "cmvn2.ark", d / "cmvn.scp")


def _avg(exp: Path, pattern: str, regex: str) -> float:
    vals = []
    for log in sorted((exp / "log").glob(pattern)):
        m = re.search(regex, log.read_text())
        assert m, log
        vals.append((float(m.group(1)), float(m.group(2))))
    return sum(v * n for v, n in vals) / sum(n for _, n in vals)


def _setup(root: Path) -> np.random.Generator:
    """steps/ and utils/ links, the lang and the corpus with its monophone alignments under ``root``."""
    rng = np.random.default_rng(0)
    (root / "steps").symlink_to(REPO / "steps")
    (root / "utils").symlink_to(REPO / "utils")
    make_lang(root / "data" / "lang")
    (root / "data" / "lang" / "phones" / "silence.csl").write_text("1\n")
    make_corpus(root, rng)
    return rng


LIKE = r"Overall avg like per frame \(Gaussian only\) = (\S+) over (\S+) frames"


@pytest.mark.slow
def test_lda_mllt_sat_align_fmllr(tmp_path):
    rng = _setup(tmp_path)
    _distort_speakers(tmp_path, rng)

    # ---- LDA + MLLT
    out = run("steps/train_lda_mllt.sh --dim 8 --num-iters 4 --max-iter-inc 2 --mllt-iters '2 3' "
              "--realign-iters '3' 40 120 data/train data/lang exp/mono_ali exp/tri2b", tmp_path)
    assert "Done training system with LDA+MLLT features" in out
    exp = tmp_path / "exp" / "tri2b"
    for f in ("0.mat", "2.mat", "3.mat", "full.mat", "final.mat", "final.mdl", "tree", "ali.1.gz", "ali.2.gz",
              "splice_opts", "cmvn_opts"):
        assert (exp / f).is_file(), f
    lda, final = read_matrix(exp / "0.mat"), read_matrix(exp / "final.mat")
    assert lda.shape == (8, 4 * 7) and final.shape == (8, 28)
    assert read_matrix(exp / "full.mat").shape == (28, 28)
    # final.mat = MLLT(3) · MLLT(2) · LDA
    m2, m3 = read_matrix(exp / "2.mat.new"), read_matrix(exp / "3.mat.new")
    np.testing.assert_allclose(final, m3 @ m2 @ lda, rtol=1e-4, atol=1e-4)
    assert (exp / "splice_opts").read_text().strip() == "--splice=3"
    lda_log = (exp / "log" / "lda_est.log").read_text()
    assert "Sum of selected singular values" in lda_log
    for x in (2, 3):
        impr = float(re.search(r"Updated MLLT, total objf impr is (\S+)", (exp / "log" / f"mupdate.{x}.log")
                               .read_text()).group(1))
        assert impr > 0.0
    gmm = run("hybrid gmm-info exp/tri2b/final.mdl", tmp_path)
    assert "feature dimension 8" in gmm
    likes = [_avg(exp, f"acc.{it}.*.log", LIKE) for it in range(1, 4)]
    assert likes[-1] > likes[0], likes

    # ---- SAT from the LDA+MLLT system (its own alignments serve as the alignment dir)
    out = run("steps/train_sat.sh --num-iters 4 --max-iter-inc 2 --fmllr-iters '2' --realign-iters '3' "
              "40 120 data/train data/lang exp/tri2b exp/tri3b", tmp_path)
    assert "Done training SAT system" in out
    sat = tmp_path / "exp" / "tri3b"
    for f in ("final.mdl", "final.alimdl", "final.mat", "trans.1", "trans.2", "full_trans.1", "tree"):
        assert (sat / f).is_file(), f
    trans = {**read_table(sat / "trans.1"), **read_table(sat / "trans.2")}
    assert sorted(trans) == ["spk0", "spk1", "spk2"]
    assert all(t.shape == (8, 9) for t in trans.values())
    full = read_table(sat / "full_trans.1")
    k = next(iter(full))
    np.testing.assert_allclose(full[k][:, :28], trans[k][:, :8] @ final, rtol=1e-4, atol=1e-4)
    # the planted speaker distortion gives fMLLR a clear gain
    impr0 = _avg(sat, "fmllr.0.*.log", r"Overall fMLLR auxf impr per frame is (\S+) over (\S+) frames")
    assert impr0 > 0.2, impr0
    sat_like = _avg(sat, "acc.3.*.log", LIKE)
    ali_like = _avg(sat, "acc_alimdl.*.log", LIKE)
    assert abs(ali_like - sat_like) < 1.0
    info_sat = run("hybrid gmm-info exp/tri3b/final.mdl", tmp_path)
    info_ali = run("hybrid gmm-info exp/tri3b/final.alimdl", tmp_path)
    assert info_sat == info_ali  # Gaussian-for-Gaussian

    # ---- alignment with fMLLR
    out = run("steps/align_fmllr.sh --nj 2 data/train data/lang exp/tri3b exp/tri3b_ali", tmp_path)
    assert "done aligning data" in out
    ali_dir = tmp_path / "exp" / "tri3b_ali"
    alis = {**read_ali_ark(ali_dir / "ali.1.gz"), **read_ali_ark(ali_dir / "ali.2.gz")}
    assert len(alis) == 60
    log = (ali_dir / "log" / "fmllr.1.log").read_text()
    assert "--gpost-model" in log and "For speaker" in log
    for j in (1, 2):
        assert re.search(r"Done \d+, errors on 0", (ali_dir / "log" / f"align_pass2.{j}.log").read_text())


@pytest.mark.slow
def test_lda_mllt_rerun_into_used_dir(tmp_path):
    """Training again into a directory an earlier run filled (another tree) gives a model of the new tree:
    the untransformed copies ($x.mdl.premllt) that the earlier run left must not be reused."""
    from hybrid.hmm.transition_model import compute_tuples, read_transition_model
    from hybrid.tree import read_tree

    _setup(tmp_path)
    exp = tmp_path / "exp" / "tri2b"
    num_pdfs = []
    for leaves in (40, 12):
        out = run(f"steps/train_lda_mllt.sh --dim 8 --num-iters 4 --max-iter-inc 2 --mllt-iters '2 3' "
                  f"--realign-iters '' {leaves} 120 data/train data/lang exp/mono_ali exp/tri2b", tmp_path)
        assert "Done training system with LDA+MLLT features" in out
        tree, tm = read_tree(exp / "tree"), read_transition_model(exp / "final.mdl")
        assert set(compute_tuples(tm.topo, tree)) == set(tm.tuples)
        num_pdfs.append(tm.num_pdfs)
    assert num_pdfs[0] != num_pdfs[1]  # the second run really built another tree
