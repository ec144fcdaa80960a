"""split_to_phones, word segmentation, show-alignments / ali-to-phones / word CTM formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hybrid.cli import main
from hybrid.hmm import Topology, TransitionModel, phone_segments, split_to_phones, word_segments
from hybrid.io import write_ali_ark
from hybrid.tree import monophone_context_dependency_shared

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()


@pytest.fixture(scope="module")
def tm() -> TransitionModel:
    topo = Topology.parse(TOPO)
    ctx = monophone_context_dependency_shared([[p] for p in topo.phones], {p: topo.num_pdf_classes(p) for p in topo.phones})
    return TransitionModel.from_context_dependency(topo, ctx)


def _three_state_path(tm, phone, durs):
    entry = tm.topo.entry(phone)
    out = []
    for s, d in enumerate(durs):
        ts = next(k + 1 for k, t in enumerate(tm.tuples) if t.phone == phone and t.hmm_state == s)
        fwd = next(t for t in tm.tstate_tids(ts) if tm.tid2dst[t] == s + 1)
        loop = tm.self_loop_tid(ts)
        out.append((fwd, loop, d))
    return out


def path_ali(tm, spec, reorder=True):
    ali = []
    for phone, durs in spec:
        if phone == 1:  # silence: 0 -> 1 -> 2 -> 3 -> 4 -> 5
            states = [0, 1, 2, 3, 4]
            for s, d in zip(states, durs):
                ts = next(k + 1 for k, t in enumerate(tm.tuples) if t.phone == phone and t.hmm_state == s)
                fwd = next(t for t in tm.tstate_tids(ts) if tm.tid2dst[t] == s + 1)
                loop = tm.self_loop_tid(ts)
                ali += ([fwd] + [loop] * (d - 1)) if reorder else ([loop] * (d - 1) + [fwd])
        else:
            for fwd, loop, d in _three_state_path(tm, phone, durs):
                ali += ([fwd] + [loop] * (d - 1)) if reorder else ([loop] * (d - 1) + [fwd])
    return ali


SPEC = [(1, [1, 1, 2, 1, 3]), (2, [2, 1, 3]), (3, [1, 1, 1]), (4, [3, 2, 2]), (1, [1, 1, 1, 1, 1])]


@pytest.mark.parametrize("reorder", [True, False])
def test_split_to_phones_recovers_phones_and_durations(tm, reorder):
    ali = path_ali(tm, SPEC, reorder)
    pieces, ok = split_to_phones(tm, ali)
    assert ok
    assert [int(tm.tid2phone[p[0]]) for p in pieces] == [p for p, _ in SPEC]
    assert [len(p) for p in pieces] == [sum(d) for _, d in SPEC]
    segs = phone_segments(tm, ali)
    assert segs[2].start == sum(SPEC[0][1]) + sum(SPEC[1][1])


def test_incomplete_alignment_flagged(tm):
    ali = path_ali(tm, SPEC)[:-2]
    _, ok = split_to_phones(tm, ali)
    assert not ok


def test_word_segments_uses_word_boundary(tm):
    # phones: 1 = SIL (nonword), 2 = begin, 3 = end, 4 = singleton
    wb = {1: "nonword", 2: "begin", 3: "end", 4: "singleton"}
    segs = phone_segments(tm, path_ali(tm, SPEC))
    words = word_segments(segs, wb, [7, 9])
    assert [(w.label, w.start, w.length) for w in words] == [
        (0, 0, 8), (7, 8, 9), (9, 17, 7), (0, 24, 5)]
    with pytest.raises(ValueError, match="transcript has 3"):
        word_segments(segs, wb, [7, 9, 11])


def _write_model_and_ali(tmp_path, tm, ali):
    (tmp_path / "final.mdl").write_text(tm.to_text())
    write_ali_ark({"utt1": ali}, tmp_path / "ali.1.gz")
    phones = ["<eps> 0", "SIL 1", "A_B 2", "B_E 3", "C_S 4"] + [f"X{i} {i}" for i in range(5, 10)]
    (tmp_path / "phones.txt").write_text("\n".join(phones) + "\n")


def test_show_alignments_format(tmp_path, tm):
    ali = path_ali(tm, [(1, [1, 1, 1, 1, 1]), (2, [1, 1, 1])])
    _write_model_and_ali(tmp_path, tm, ali)
    r = CliRunner().invoke(main, ["show-alignments", str(tmp_path / "phones.txt"), str(tmp_path / "final.mdl"),
                                  str(tmp_path / "ali.1.gz")])
    assert r.exit_code == 0, r.output
    l1, l2, blank = r.output.split("\n")[:3]
    sil = " ".join(str(t) for t in ali[:5])
    ph = " ".join(str(t) for t in ali[5:])
    assert l1 == f"utt1  [ {sil} ] [ {ph} ] "
    # phone names padded to the width of their bracket group
    assert l2 == "utt1  " + "SIL ".ljust(len(f"[ {sil} ] ")) + "A_B ".ljust(len(f"[ {ph} ] "))
    assert blank == ""


def test_ali_to_phones_ctm(tmp_path, tm):
    ali = path_ali(tm, SPEC)
    _write_model_and_ali(tmp_path, tm, ali)
    r = CliRunner().invoke(main, ["ali-to-phones", "--ctm-output", str(tmp_path / "final.mdl"), str(tmp_path / "ali.1.gz"), "-"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().split("\n")
    assert lines[0] == "utt1 1 0.00 0.08 1"
    assert lines[1] == "utt1 1 0.08 0.06 2"
    r = CliRunner().invoke(main, ["ali-to-phones", str(tmp_path / "final.mdl"), str(tmp_path / "ali.1.gz"), "-"])
    assert r.output.strip() == "utt1 1 2 3 4 1"


def test_ali_to_phones_ctm_frame_centre(tmp_path, tm):
    """--frame-offset frame-centre: every time + (25 - 10) / 2 ms, durations unchanged."""
    ali = path_ali(tm, SPEC)
    _write_model_and_ali(tmp_path, tm, ali)
    args = ["ali-to-phones", "--ctm-output", str(tmp_path / "final.mdl"), str(tmp_path / "ali.1.gz"), "-"]
    r = CliRunner().invoke(main, args[:2] + ["--frame-offset", "frame-centre"] + args[2:])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().split("\n")
    assert lines[0] == "utt1 1 0.0075 0.0800 1"
    assert lines[1] == "utt1 1 0.0875 0.0600 2"
    r = CliRunner().invoke(main, args[:2] + ["--frame-offset", "soon"] + args[2:])
    assert r.exit_code != 0 and "frame offset 'soon'" in r.output
