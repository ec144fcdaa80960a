"""`hybrid latgen-faster-mapped` end to end on a tiny model/graph, and lattice-best-path on its output."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

kaldifst = pytest.importorskip("kaldifst")

MODEL = """<TransitionModel>
<Topology>
<TopologyEntry>
<ForPhones>
1 2
</ForPhones>
<State> 0 <PdfClass> 0 <Transition> 0 0.5 <Transition> 1 0.5 </State>
<State> 1 <PdfClass> 1 <Transition> 1 0.5 <Transition> 2 0.5 </State>
<State> 2 </State>
</TopologyEntry>
</Topology>
<Triples> 4
1 0 0
1 1 1
2 0 2
2 1 3
</Triples>
</TransitionModel>
"""

# word loop: ONE = phone 1 (tids 1-4), TWO = phone 2 (tids 5-8); tid 4 / 8 leave the phone's HMM
GRAPH = """0 1 0 1 1.0
1 1 1 0 0
1 2 2 0 0
2 2 3 0 0
2 0 4 0 0.5
0 3 0 2 1.0
3 3 5 0 0
3 4 6 0 0
4 4 7 0 0
4 0 8 0 0.5
0 0
"""


def test_latgen_faster_mapped_cli(tmp_path, caplog):
    from hybrid.cli.cmd_decode import latgen_faster_mapped
    from hybrid.cli.cmd_score import lattice_best_path_cmd
    from hybrid.hmm import TransitionModel
    from hybrid.io import write_table
    from hybrid.io.kaldi_text import KaldiTextReader

    (tmp_path / "final.mdl").write_text(MODEL)
    tm = TransitionModel.parse_reader(KaldiTextReader.from_file(tmp_path / "final.mdl"))
    assert list(tm.tid2pdf) == [-1, 0, 0, 1, 1, 2, 2, 3, 3] or list(tm.tid2pdf[1:]) == [0, 0, 1, 1, 2, 2, 3, 3]
    g = kaldifst.compile(GRAPH)
    g.write(str(tmp_path / "HCLG.fst"))
    (tmp_path / "words.txt").write_text("<eps> 0\nONE 1\nTWO 2\n")
    rng = np.random.default_rng(0)
    ll = {}
    for u, pdf_seq in (("utt1", [0, 0, 1, 1, 2, 3, 3]), ("utt2", [2, 2, 3, 0, 1, 1])):
        m = rng.normal(-20, 1, (len(pdf_seq), 4)).astype(np.float32)
        m[np.arange(len(pdf_seq)), pdf_seq] = -1.0
        ll[u] = m
    ll["bad"] = np.zeros((0, 4), np.float32)
    write_table(ll, tmp_path / "loglikes.ark")
    r = CliRunner().invoke(latgen_faster_mapped, [
        "--acoustic-scale", "0.1", "--beam", "13", "--lattice-beam", "6", "--word-symbol-table",
        str(tmp_path / "words.txt"), str(tmp_path / "final.mdl"), str(tmp_path / "HCLG.fst"),
        f"ark:{tmp_path / 'loglikes.ark'}", f"ark:{tmp_path / 'lat.1.gz'}", f"ark,t:{tmp_path / 'words.1'}"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "words.1").read_text() == "utt1 1 2\nutt2 2 1\n"
    msgs = [rec.getMessage() for rec in caplog.records]
    assert any(m.startswith("For utterance utt1, best cost ") and m.endswith(" over 7 frames.") for m in msgs)
    assert any("Failed to decode utterance with id bad" in m for m in msgs)
    assert any(m.startswith("Overall log-likelihood per frame is ") and m.endswith("over 13 frames.") for m in msgs)
    assert "Done 2 utterances, failed for 1" in msgs
    r = CliRunner().invoke(lattice_best_path_cmd, ["--acoustic-scale", "0.1", f"ark:{tmp_path / 'lat.1.gz'}",
                                                   f"ark,t:{tmp_path / 'w2'}"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "w2").read_text() == "utt1 1 2\nutt2 2 1\n"
    # word CTM: phone 1 = ONE, phone 2 = TWO (singletons); 7 + 6 frames of 10 ms
    from hybrid.cli.cmd_score import lattice_to_ctm_cmd

    (tmp_path / "word_boundary.int").write_text("1 singleton\n2 singleton\n")
    r = CliRunner().invoke(lattice_to_ctm_cmd, ["--lmwt", "10", "--word-symbol-table", str(tmp_path / "words.txt"),
                                                str(tmp_path / "final.mdl"), str(tmp_path / "word_boundary.int"),
                                                str(tmp_path / "lat.1.gz"), str(tmp_path / "out.ctm")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.ctm").read_text().splitlines() == [
        "utt1 1 0.00 0.04 ONE", "utt1 1 0.04 0.03 TWO", "utt2 1 0.00 0.03 TWO", "utt2 1 0.03 0.03 ONE"]


def test_gmm_latgen_faster_cli_with_stub_model(tmp_path, monkeypatch, caplog):
    """gmm-latgen-faster wiring: read_model + iter_features(options) -> decoder -> lattices (stubs)."""
    import sys
    import types

    from hybrid.cli.cmd_decode import gmm_latgen_faster
    from hybrid.hmm import TransitionModel
    from hybrid.io.kaldi_text import KaldiTextReader

    (tmp_path / "final.mdl").write_text(MODEL)
    tm = TransitionModel.parse_reader(KaldiTextReader.from_file(tmp_path / "final.mdl"))
    seen = {}

    class Am:
        def log_likelihoods(self, feats):
            return feats  # the "features" are the log-likelihoods themselves

    def iter_features(data_dir, **kw):
        seen.update(kw)
        m = np.full((7, 4), -20.0, np.float32)
        m[np.arange(7), [0, 0, 1, 1, 2, 3, 3]] = -1.0
        yield "utt1", m

    monkeypatch.setitem(sys.modules, "hybrid.gmm", types.SimpleNamespace(read_model=lambda p: (tm, Am())))
    monkeypatch.setitem(sys.modules, "hybrid.features", types.SimpleNamespace(iter_features=iter_features))
    g = kaldifst.compile(GRAPH)
    g.write(str(tmp_path / "HCLG.fst"))
    (tmp_path / "data").mkdir()
    r = CliRunner().invoke(gmm_latgen_faster, [
        "--delta-order", "2", "--acoustic-scale", "0.083333", "--max-active", "7000", str(tmp_path / "final.mdl"),
        str(tmp_path / "HCLG.fst"), str(tmp_path / "data"), str(tmp_path / "lat.1.gz"),
        f"ark,t:{tmp_path / 'words'}"])
    assert r.exit_code == 0, r.output
    assert seen["delta_order"] == 2 and seen["splice"] is None and seen["cmvn"] is True
    assert (tmp_path / "words").read_text() == "utt1 1 2\n"
    assert (tmp_path / "lat.1.gz").exists()
