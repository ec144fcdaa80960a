"""Phone-boundary accuracy on handmade CTMs with known answers."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from hybrid.score.phone_boundaries import boundary_accuracy, normalize_phone, read_ctm

REF = {
    # SIL | K AE T | SIL ; internal boundaries 0.10 0.20 0.30 0.40
    "u1": [("SIL", 0.0, 0.1), ("K", 0.1, 0.1), ("AE", 0.2, 0.1), ("T", 0.3, 0.1), ("SIL", 0.4, 0.2)],
    "u2": [("D", 0.0, 0.05), ("AO", 0.05, 0.15), ("G", 0.2, 0.1)],
    "u3": [("SIL", 0.0, 0.1), ("AH", 0.1, 0.1)],
}
HYP = {
    # position-dependent phones and a lowercase silence; errors 5, 15, 30, 0 ms
    "u1": [("sil", 0.0, 0.105), ("K_B", 0.105, 0.08), ("AE_I", 0.185, 0.145), ("T_E", 0.33, 0.07),
           ("SIL", 0.40, 0.2)],
    # no error in u2 except the last internal boundary: 0.2 -> 0.26 (60 ms)
    "u2": [("D_B", 0.0, 0.05), ("AO_I", 0.05, 0.21), ("G_E", 0.26, 0.04)],
    "u3": [("SIL", 0.0, 0.1), ("IH_S", 0.1, 0.1)],  # phone mismatch
    "u4": [("SIL", 0.0, 1.0)],  # not in ref
}


def test_known_answer():
    res = boundary_accuracy(REF, HYP, tolerances_ms=(10, 20, 25, 50))
    # u1: |5|,|15|,|30|,|0| ; u2: |0| (D/AO), |60| (AO/G); edges at utterance start/end are not scored
    errs = [5, 15, 30, 0, 0, 60]
    assert res["num_boundaries"] == 6
    assert res["within"] == {"10": 3 / 6, "20": 4 / 6, "25": 4 / 6, "50": 5 / 6}
    assert res["mean_abs_error_ms"] == pytest.approx(sum(errs) / 6)
    assert res["num_utts_compared"] == 2
    assert res["skipped"] == {"not_in_hyp": 0, "not_in_ref": 1, "phone_mismatch": 1}
    assert res["skipped_utts"]["phone_mismatch"] == ["u3"]


def test_silence_modes():
    ref = {"a": [("SIL", 0, 0.1), ("B", 0.1, 0.1), ("IY", 0.2, 0.1), ("SIL", 0.3, 0.1)]}
    # hyp inserts a short pause between B and IY, and drops the leading silence
    hyp = {"a": [("B", 0.0, 0.11), ("SIL", 0.11, 0.02), ("IY", 0.13, 0.17), ("SIL", 0.3, 0.1)]}
    res = boundary_accuracy(ref, hyp)
    # scored: B start (0.1 vs 0.0: 100 ms), B end (0.2 vs 0.11: 90), IY start (0.2 vs 0.13: 70), IY end (0)
    assert res["num_boundaries"] == 4
    assert res["mean_abs_error_ms"] == pytest.approx((100 + 90 + 70 + 0) / 4)
    strict = boundary_accuracy(ref, hyp, silence="match")
    assert strict["num_utts_compared"] == 0 and strict["skipped"]["phone_mismatch"] == 1
    same = boundary_accuracy(ref, ref, silence="match")
    assert same["num_boundaries"] == 3 and same["within"]["10"] == 1.0 and same["mean_abs_error_ms"] == 0


def test_normalize_and_empty():
    assert [normalize_phone(p) for p in ("AH_B", "AH0", "sil", "SIL_S", "pau", "SPN", "NG_E")] == \
        ["AH", "AH", "SIL", "SIL", "SIL", "SIL", "NG"]
    res = boundary_accuracy({"x": REF["u1"]}, {})
    assert res["num_boundaries"] == 0 and math.isnan(res["mean_abs_error_ms"])
    assert res["skipped"]["not_in_hyp"] == 1


def _write_ctm(path, ctm):
    with open(path, "w") as f:
        for utt, segs in ctm.items():
            for p, s, d in segs:
                f.write(f"{utt} 1 {s:.3f} {d:.3f} {p}\n")


def test_read_ctm_and_cli(tmp_path):
    from hybrid.cli import main

    _write_ctm(tmp_path / "ref.ctm", REF)
    # hyp as integer phone ids, unsorted lines, with confidences
    table = {"SIL": 1, "K_B": 2, "AE_I": 3, "T_E": 4, "D_B": 5, "AO_I": 6, "G_E": 7, "IH_S": 8}
    (tmp_path / "phones.txt").write_text("<eps> 0\n" + "".join(f"{p} {i}\n" for p, i in table.items()))
    lines = []
    for utt, segs in HYP.items():
        for p, s, d in segs:
            q = "SIL" if p == "sil" else p
            lines.append(f"{utt} 1 {s:.3f} {d:.3f} {table[q]} 0.99\n")
    (tmp_path / "hyp.ctm").write_text("".join(reversed(lines)))
    ref = read_ctm(tmp_path / "ref.ctm")
    assert ref["u1"][1] == ("K", 0.1, 0.1)
    r = CliRunner().invoke(main, ["phone-boundary-accuracy", "--json", "--phone-symbol-table",
                                  str(tmp_path / "phones.txt"), str(tmp_path / "ref.ctm"), str(tmp_path / "hyp.ctm")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["num_boundaries"] == 6 and res["within"]["20"] == pytest.approx(4 / 6)
    r = CliRunner().invoke(main, ["phone-boundary-accuracy", str(tmp_path / "ref.ctm"), str(tmp_path / "ref.ctm")])
    assert r.exit_code == 0 and "%within 10ms 100.00" in r.output
    (tmp_path / "bad.ctm").write_text("u1 1 0.0 K\n")
    with pytest.raises(ValueError, match=r"bad.ctm:1"):
        read_ctm(tmp_path / "bad.ctm")


def test_hyp_offset_and_signed_error():
    # signed errors (hyp - ref) of the known-answer case: +5, -15, +30, 0, 0, +60 ms
    res = boundary_accuracy(REF, HYP)
    assert res["mean_signed_error_ms"] == pytest.approx((5 - 15 + 30 + 0 + 0 + 60) / 6)
    # shifting every hypothesis time by +15 ms: errors 20, 0, 45, 15, 15, 75
    res = boundary_accuracy(REF, HYP, hyp_offset=0.015)
    assert res["mean_abs_error_ms"] == pytest.approx((20 + 0 + 45 + 15 + 15 + 75) / 6)
    assert res["within"]["20"] == pytest.approx(4 / 6)
    assert res["hyp_offset_ms"] == pytest.approx(15.0)


def test_frame_centre_offset():
    from hybrid.score.phone_boundaries import frame_centre_offset

    # frames k-1 = [10k-10, 10k+15] ms and k = [10k, 10k+25] ms: centres 10k+2.5 and 10k+12.5
    assert frame_centre_offset(25.0, 10.0) == pytest.approx(0.0075)
    assert frame_centre_offset(10.0, 10.0) == 0.0
