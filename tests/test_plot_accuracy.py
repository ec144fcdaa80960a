"""plot-accuracy on hand-written Kaldi nnet3 (CE) and chain diagnostics logs with known numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hybrid.cli import main

CE = ("LOG (nnet3-compute-prob[5.5.0~1-8e7d]:PrintTotalStats():nnet-diagnostics.cc:194) Overall log-likelihood "
      "for 'output' is {ll} per frame, over 20000 frames.\n"
      "LOG (nnet3-compute-prob[5.5.0~1-8e7d]:PrintTotalStats():nnet-diagnostics.cc:206) Overall accuracy "
      "for 'output' is {acc} per frame, over 20000 frames.\n")
CHAIN = ("LOG (nnet3-chain-compute-prob[5.5]:PrintTotalStats():nnet-chain-diagnostics.cc:194) Overall "
         "log-probability for 'output-xent' is -1.234 per frame, over 18000 frames.\n"
         "LOG (nnet3-chain-compute-prob[5.5]:PrintTotalStats():nnet-chain-diagnostics.cc:194) Overall "
         "log-probability for 'output' is {lp} + -0.0123 = -0.5 per frame, over 18000 frames.\n")

KNOWN_CE = {("train", 0): (-4.5, 0.1), ("train", 10): (-0.91, 0.7235), ("valid", 0): (-4.6, 0.09),
            ("valid", 10): (-1.25, 0.65), ("train", "final"): (-0.8, 0.75)}
KNOWN_CHAIN = {("train", 3): -0.0793, ("valid", 3): -0.1, ("valid", 12): -0.05}


@pytest.fixture()
def exp_dirs(tmp_path):
    ce, ch = tmp_path / "tdnn", tmp_path / "chain"
    for d in (ce, ch):
        (d / "log").mkdir(parents=True)
    for (s, it), (ll, acc) in KNOWN_CE.items():
        (ce / "log" / f"compute_prob_{s}.{it}.log").write_text("# nnet3-compute-prob ...\n" + CE.format(ll=ll, acc=acc))
    for (s, it), lp in KNOWN_CHAIN.items():
        (ch / "log" / f"compute_prob_{s}.{it}.log").write_text(CHAIN.format(lp=lp))
    (ce / "log" / "compute_prob_train.5.log").write_text("ERROR (nnet3-compute-prob) crashed\n")  # no numbers
    (ce / "log" / "train.3.log").write_text(CE.format(ll=-9, acc=0.0))  # not a diagnostics log
    return ce, ch


def test_tsv_returns_the_logged_numbers(exp_dirs):
    ce, ch = exp_dirs
    r = CliRunner().invoke(main, ["plot-accuracy", "--format", "tsv", str(ce), str(ch)])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[0].split("\t") == ["dir", "set", "iter", "objective", "accuracy"]
    got = {}
    for line in lines[1:]:
        d, s, it, obj, acc = line.split("\t")
        got[(d, s, int(it) if it.isdigit() else it)] = (float(obj), float(acc))
    assert len(got) == len(KNOWN_CE) + len(KNOWN_CHAIN)
    for (s, it), (ll, acc) in KNOWN_CE.items():
        assert got[(str(ce), s, it)] == (pytest.approx(ll), pytest.approx(acc))
    for (s, it), lp in KNOWN_CHAIN.items():  # Kaldi's regex takes the value before '+ l2'
        obj, acc = got[(str(ch), s, it)]
        assert obj == pytest.approx(lp) and acc != acc  # nan: chain logs have no accuracy
    # rows are in iteration order within a set, 'final' last
    ce_train = [k[2] for k in got if k[0] == str(ce) and k[1] == "train"]
    assert ce_train == [0, 10, "final"]


def test_png_is_written(exp_dirs, tmp_path):
    out = tmp_path / "plots" / "acc.png"
    r = CliRunner().invoke(main, ["plot-accuracy", "--out", str(out), *map(str, exp_dirs)])
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


def test_no_logs_is_an_error(tmp_path):
    r = CliRunner().invoke(main, ["plot-accuracy", "--format", "tsv", str(tmp_path)])
    assert r.exit_code != 0 and "no compute_prob" in r.output
