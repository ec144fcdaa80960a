"""chain-make-den-fst through the CLI: monophone tree + chain topology, den.fst read back."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner


def test_make_den_fst_cli(tmp_path):
    from hybrid.chain.graph import total_log_prob_reference
    from hybrid.chain.hmm import ChainTopology
    from hybrid.chain.kaldifst_io import read_den_fst
    from hybrid.cli import main
    from hybrid.tree import monophone_context_dependency

    phones = [1, 2, 3]
    ctx = monophone_context_dependency(phones, {p: 2 for p in phones})
    ctx.write(tmp_path / "tree")
    (tmp_path / "topo").write_text(ChainTopology(phones).to_text())
    (tmp_path / "phones.txt").write_text("u1 1 2 3\nu2 2 3\nu3\n")
    r = CliRunner().invoke(main, ["chain-make-den-fst", str(tmp_path / "tree"), str(tmp_path / "topo"),
                                  str(tmp_path / "phones.txt"), str(tmp_path / "den.fst")])
    assert r.exit_code == 0, r.output
    assert "u3" not in r.output and "skipped" in r.output
    fsa = read_den_fst(tmp_path / "den.fst")
    # "2 3" has LM probability P(2|<s>) P(3|<s> 2) P(</s>|2 3) = 0.5; one frame per phone
    P = ctx.num_pdfs
    pdfs = [ctx.compute((2,), 0), ctx.compute((3,), 0)]
    ll = np.full((2, P), -1e4)
    ll[[0, 1], pdfs] = 0.0
    assert total_log_prob_reference(fsa, ll) == pytest.approx(np.log(0.5), abs=1e-6)
