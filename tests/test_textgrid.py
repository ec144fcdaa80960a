"""TextGrid export (hybrid ctm-to-textgrid), checked by opening the files with praatio."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

praatio_tg = pytest.importorskip("praatio.textgrid")

from hybrid.cli import main  # noqa: E402
from hybrid.export import ctm_to_textgrids, fill_tier  # noqa: E402

WORDS = """\
u1 1 0.25 0.40 HELLO 0.93
u1 1 0.65 0.55 WORLD
u1 1 1.50 0.30 SAY"S
u2 1 0.00 0.52 OK
"""
# phones: contiguous inside words, a gap (silence not printed) between 1.20 and 1.50
PHONES = """\
u1 1 0.00 0.25 SIL
u1 1 0.25 0.10 HH_B
u1 1 0.35 0.12 AH0_I
u1 1 0.47 0.08 L_I
u1 1 0.55 0.10 OW1_E
u1 1 0.65 0.20 W_B
u1 1 0.85 0.35 ER1_E
u1 1 1.50 0.30 S_S
u2 1 0.00 0.20 OW1_B
u2 1 0.20 0.32 K_E
"""


def _ctm(text: str) -> dict[str, list[tuple[float, float, str]]]:
    out: dict[str, list[tuple[float, float, str]]] = {}
    for line in text.splitlines():
        u, _, s, d, lab, *_ = line.split()
        out.setdefault(u, []).append((float(s), float(s) + float(d), lab))
    return out


def _intervals(tg, name):
    return [(e.start, e.end, e.label) for e in tg.getTier(name).entries]


def test_cli_textgrids_match_ctm(tmp_path: Path):
    (tmp_path / "w.ctm").write_text(WORDS)
    (tmp_path / "p.ctm").write_text(PHONES)
    (tmp_path / "utt2dur").write_text("u1 2.0\nu2 0.52\n")
    r = CliRunner().invoke(main, ["ctm-to-textgrid", str(tmp_path / "w.ctm"), str(tmp_path / "tg"),
                                  "--phone-ctm", str(tmp_path / "p.ctm"), "--utt2dur", str(tmp_path / "utt2dur")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "tg").iterdir()) == ["u1.TextGrid", "u2.TextGrid"]
    words, phones = _ctm(WORDS), _ctm(PHONES)
    for utt, dur in (("u1", 2.0), ("u2", 0.52)):
        tg = praatio_tg.openTextgrid(str(tmp_path / "tg" / f"{utt}.TextGrid"), includeEmptyIntervals=True)
        assert tg.tierNames == ("words", "phones") or list(tg.tierNames) == ["words", "phones"]
        assert tg.minTimestamp == 0 and tg.maxTimestamp == pytest.approx(dur)
        for name, ref in (("words", words[utt]), ("phones", phones[utt])):
            got = _intervals(tg, name)
            # tiers cover [0, dur] without gaps
            assert got[0][0] == 0 and got[-1][1] == pytest.approx(dur)
            for a, b in zip(got, got[1:]):
                assert a[1] == pytest.approx(b[0], abs=1e-9)
            # the non-empty intervals are exactly the CTM's segments
            labelled = [g for g in got if g[2] != ""]
            assert [g[2] for g in labelled] == [x[2] for x in ref]
            for g, x in zip(labelled, ref):
                assert g[0] == pytest.approx(x[0], abs=1e-9) and g[1] == pytest.approx(x[1], abs=1e-9)
    tg = praatio_tg.openTextgrid(str(tmp_path / "tg" / "u1.TextGrid"), includeEmptyIntervals=True)
    w = _intervals(tg, "words")
    # leading gap, the gap between WORLD and SAY"S, trailing gap up to utt2dur
    assert [x[2] for x in w] == ["", "HELLO", "WORLD", "", 'SAY"S', ""]
    assert w[3][0] == pytest.approx(1.2) and w[3][1] == pytest.approx(1.5)


def test_xmax_from_last_end_and_strip_positions(tmp_path: Path):
    (tmp_path / "w.ctm").write_text(WORDS)
    (tmp_path / "p.ctm").write_text(PHONES)
    paths = ctm_to_textgrids(tmp_path / "w.ctm", tmp_path / "tg", phone_ctm=tmp_path / "p.ctm", strip_positions=True)
    assert len(paths) == 2
    tg = praatio_tg.openTextgrid(str(tmp_path / "tg" / "u1.TextGrid"), includeEmptyIntervals=True)
    assert tg.maxTimestamp == pytest.approx(1.8)
    ph = [x[2] for x in _intervals(tg, "phones") if x[2]]
    assert ph == ["SIL", "HH", "AH0", "L", "OW1", "W", "ER1", "S"]


def test_fill_tier_overlap_and_tiny_gaps():
    # a 1 ms overlap from rounding is clipped; an exact-abutting segment stays contiguous
    iv = fill_tier([(0.1, 0.3, "a"), (0.299, 0.5, "b"), (0.5, 0.5, "c")], 0.6)
    assert iv == [(0.0, 0.1, ""), (0.1, 0.3, "a"), (0.3, 0.5, "b"), (0.5, 0.6, "")]
    assert fill_tier([], 1.0) == [(0.0, 1.0, "")]


def test_bad_ctm_line_names_file_and_line(tmp_path: Path):
    (tmp_path / "w.ctm").write_text("u1 1 0.0 0.5 A\nu1 1 x 0.5 B\n")
    with pytest.raises(ValueError, match=r"w\.ctm:2"):
        ctm_to_textgrids(tmp_path / "w.ctm", tmp_path / "tg")
