"""compute-wer (hand-checked counts and Kaldi's exact output), the LMWT x WIP sweep, word CTM."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from hybrid.decode.lattice import _from_arc_list, write_lattices
from hybrid.score import align_words, compute_wer, score_lattices
from hybrid.score.wer import WerStats

REF = {"u1": "A B C D".split(), "u2": "HELLO WORLD".split(), "u3": "ONE TWO THREE".split(), "u4": ["FOUR"]}
HYP = {"u1": "A X C D E".split(), "u2": "HELLO WORLD".split(), "u3": "ONE THREE".split()}


def test_compute_wer_present_by_hand():
    st = compute_wer(REF, HYP, mode="present")
    # u1: 1 sub (B->X) + 1 ins (E); u3: 1 del (TWO); u4 absent and not scored
    assert (st.num_words, st.word_errs, st.num_ins, st.num_del, st.num_sub) == (9, 3, 1, 1, 1)
    assert (st.num_sent, st.sent_errs, st.num_absent) == (3, 2, 1)
    assert st.format() == ("%WER 33.33 [ 3 / 9, 1 ins, 1 del, 1 sub ] [PARTIAL]\n"
                           "%SER 66.67 [ 2 / 3 ]\n"
                           "Scored 3 sentences, 1 not present in hyp.\n")


def test_compute_wer_all_and_strict():
    st = compute_wer(REF, HYP, mode="all")
    assert st.format().splitlines() == ["%WER 40.00 [ 4 / 10, 1 ins, 2 del, 1 sub ] [PARTIAL]",
                                        "%SER 75.00 [ 3 / 4 ]", "Scored 4 sentences, 1 not present in hyp."]
    with pytest.raises(KeyError):
        compute_wer(REF, HYP, mode="strict")
    full = compute_wer({"a": ["X", "Y"]}, {"a": ["X", "Y"]})
    assert full.wer_line() == "%WER 0.00 [ 0 / 2, 0 ins, 0 del, 0 sub ]"


def test_compute_wer_cli(tmp_path):
    from hybrid.cli.cmd_score import compute_wer_cmd

    ref, hyp = tmp_path / "ref", tmp_path / "hyp"
    ref.write_text("".join(f"{u} {' '.join(w)}\n" for u, w in REF.items()))
    hyp.write_text("".join(f"{u} {' '.join(w)}\n" for u, w in HYP.items()))
    r = CliRunner().invoke(compute_wer_cmd, ["--text", "--mode=present", f"ark:{ref}", f"ark,p:-"],
                           input=hyp.read_text())
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "%WER 33.33 [ 3 / 9, 1 ins, 1 del, 1 sub ] [PARTIAL]"
    r = CliRunner().invoke(compute_wer_cmd, ["--text", f"ark:{ref}", f"ark:{hyp}"])
    assert r.exit_code != 0  # strict mode: u4 has no hypothesis


def two_path_lattice(words_a, ga, aa, words_b, gb, ab):
    """Start -> path A or path B -> final; one arc per word, transition-ids 1 per arc."""
    src, wd, gs, acs, nx, strs = [], [], [], [], [], []
    n = 1
    for words, g, a in ((words_a, ga, aa), (words_b, gb, ab)):
        prev = 0
        for i, w in enumerate(words):
            src.append(prev); wd.append(w); gs.append(g if i == 0 else 0.0); acs.append(a if i == 0 else 0.0)
            nx.append(n); strs.append(np.array([1], np.int32)); prev = n; n += 1
        src.append(prev); wd.append(0); gs.append(0.0); acs.append(0.0); nx.append(n); strs.append(np.zeros(0, np.int32))
        final = n
        n += 1
    finals_g = [np.inf] * n
    finals_g[n - 1] = 0.0
    finals_g[nx[len(words_a)]] = 0.0
    return _from_arc_list(0, n, src, wd, gs, acs, nx, strs, finals_g, [0.0] * n, [np.zeros(0, np.int32)] * n)


def test_sweep_picks_minimum(tmp_path):
    syms = {1: "A", 2: "B", 3: "C"}
    # path A: "A B" graph 10, acoustic 40; path B: "A" graph 2, acoustic 100.
    # cost_A - cost_B = 8 - 60/LMWT + WIP  ->  A wins iff 60/LMWT > 8 + WIP
    lats = {f"u{i}": two_path_lattice([1, 2], 10.0, 40.0, [1], 2.0, 100.0) for i in range(3)}
    write_lattices(lats.items(), tmp_path / "lat.1.gz")
    ref = tmp_path / "text"
    ref.write_text("u0 A\nu1 A\nu2 A B\n")
    res = score_lattices(tmp_path, ref, syms)
    for (lmwt, wip), st in res.table.items():
        a_wins = 60.0 / lmwt > 8 + float(wip)
        assert st.word_errs == (2 if a_wins else 1), (lmwt, wip)
    assert res.best.word_errs == 1
    # first minimum in WIP-major, LMWT-minor order: LMWT 8 at WIP 0.0 (60/8 = 7.5 < 8)
    assert (res.best_lmwt, res.best_wip) == (8, "0.0")
    assert (tmp_path / "wer_8_0.0").read_text().splitlines()[1] == "%WER 25.00 [ 1 / 4, 0 ins, 1 del, 0 sub ]"
    assert (tmp_path / "scoring_kaldi" / "best_wer").read_text() == \
        f"%WER 25.00 [ 1 / 4, 0 ins, 1 del, 0 sub ] {tmp_path / 'wer_8_0.0'}\n"
    assert (tmp_path / "scoring" / "7.0.0.tra").read_text().splitlines()[0] == "u0 1 2"
    assert (tmp_path / "scoring" / "log" / "best_path.17.1.0.log").read_text().splitlines()[1] == "u0 A"
    assert len(list(tmp_path.glob("wer_*_*"))) == 33


def test_align_words_ctm_times():
    from test_alignment_tools import TOPO, path_ali

    from hybrid.hmm import Topology, TransitionModel
    from hybrid.tree import monophone_context_dependency_shared

    topo = Topology.parse(TOPO)
    ctx = monophone_context_dependency_shared([[p] for p in topo.phones], {p: topo.num_pdf_classes(p) for p in topo.phones})
    tm = TransitionModel.from_context_dependency(topo, ctx)
    wb = {1: "nonword", 2: "begin", 3: "end", 4: "singleton"}
    # SIL (5 frames), word 10 = phones 2+3 (3+3 frames), word 11 = phone 4 (4 frames), SIL
    ali = path_ali(tm, [(1, [1] * 5), (2, [1, 1, 1]), (3, [1, 1, 1]), (4, [1, 1, 2]), (1, [1] * 5)])
    assert align_words([10, 11], ali, tm, wb) == [(10, 5, 6), (11, 11, 4)]
    assert align_words([10], ali, tm, wb) is None  # word count mismatch


def test_score_kaldi_sh(tmp_path, repo_root):
    """steps/score_kaldi.sh (via local/score.sh) in a recipe-like dir writes Kaldi's files."""
    import os
    import subprocess

    (tmp_path / "steps").symlink_to(repo_root / "steps")
    (tmp_path / "utils").symlink_to(repo_root / "utils")
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "score.sh").symlink_to(repo_root / "egs" / "an4" / "s5" / "local" / "score.sh")
    (tmp_path / "data" / "test").mkdir(parents=True)
    (tmp_path / "data" / "test" / "text").write_text("u0 A\nu1 A B\n")
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "words.txt").write_text("<eps> 0\nA 1\nB 2\n")
    dec = tmp_path / "exp" / "mono" / "decode"
    dec.mkdir(parents=True)
    lat = two_path_lattice([1, 2], 10.0, 40.0, [1], 2.0, 100.0)
    write_lattices([("u0", lat), ("u1", lat)], dec / "lat.1.gz")
    env = dict(os.environ, PATH=f"{repo_root / '.venv' / 'bin'}:{repo_root / 'utils'}:{os.environ['PATH']}")
    r = subprocess.run(["bash", "local/score.sh", "--cmd", "run.pl", "--max-lmwt", "9", "data/test", "graph",
                        "exp/mono/decode"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    best = (dec / "scoring_kaldi" / "best_wer").read_text()
    assert best == "%WER 33.33 [ 1 / 3, 1 ins, 0 del, 0 sub ] exp/mono/decode/wer_7_0.0\n"  # tie: first
    assert sorted(p.name for p in dec.glob("wer_*")) == sorted(f"wer_{l}_{w}" for l in (7, 8, 9)
                                                               for w in ("0.0", "0.5", "1.0"))
