"""Compact graph arrays against kaldifst's own state/arc iteration."""

from __future__ import annotations

import numpy as np
import pytest

kaldifst = pytest.importorskip("kaldifst")

from hybrid.fst.compact import CompactGraph, compact_from_fst, load_compact_graph  # noqa: E402

TEXT = """0 1 3 7 0.5
0 2 0 0 0.25
1 1 4 0 1.5
1 3 5 2 0.125
2 0 2 3 2
3 0 0 0 -0.5
1 2.5
3 0.75
"""


def _arcs_by_kaldifst(fst):
    out = []
    for s in range(fst.num_states):
        it = kaldifst.ArcIterator(fst, s)
        for arc in it:
            out.append((s, arc.ilabel, arc.olabel, float(arc.weight.value), arc.nextstate))
    return out


def _arcs_by_compact(g: CompactGraph):
    return [(s, int(g.ilabel[a]), int(g.olabel[a]), float(g.weight[a]), int(g.nextstate[a]))
            for s in range(g.num_states) for a in range(g.arc_start[s], g.arc_start[s + 1])]


def test_compact_matches_kaldifst():
    fst = kaldifst.compile(TEXT)
    g = compact_from_fst(fst)
    assert g.start == fst.start == 0
    assert g.num_states == 4 and g.num_arcs == 6
    assert _arcs_by_compact(g) == _arcs_by_kaldifst(fst)
    finals = [float(fst.final(s).value) for s in range(fst.num_states)]
    assert np.allclose(g.final, finals)
    assert np.isinf(g.final[0]) and g.final[1] == 2.5 and g.final[3] == 0.75


def test_load_vector_and_const_files_and_cache(tmp_path):
    fst = kaldifst.compile(TEXT)
    vec = tmp_path / "HCLG.fst"
    fst.write(str(vec))
    g1 = load_compact_graph(vec)
    assert (tmp_path / "HCLG.fst.npz").exists()
    g2 = load_compact_graph(vec)  # from the cache
    const = tmp_path / "HCLG.const.fst"
    kaldifst.StdConstFst(fst).write(str(const))
    g3 = load_compact_graph(const, cache=False)
    for g in (g2, g3):
        assert _arcs_by_compact(g) == _arcs_by_compact(g1)
        assert np.array_equal(g.final, g1.final) and g.start == g1.start


def test_random_larger_graph():
    rng = np.random.default_rng(1)
    lines = [f"{rng.integers(300)} {rng.integers(300)} {rng.integers(50)} {rng.integers(20)} {rng.random():.3f}"
             for _ in range(3000)]
    lines += [f"{s} {rng.random():.3f}" for s in range(0, 300, 7)]
    fst = kaldifst.compile("\n".join(lines) + "\n")
    g = compact_from_fst(fst)
    assert _arcs_by_compact(g) == _arcs_by_kaldifst(fst)
