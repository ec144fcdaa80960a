"""Decoder tests: oracles are kaldifst shortest paths through graph o trellis, and Kaldi's own
LatticeFasterDecoder (kaldi_hmm_gmm) on the same graph and scores."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

kaldifst = pytest.importorskip("kaldifst")

from hybrid.decode import DecoderOptions, decode_utterance, iter_lattices, lattice_best_path, write_lattices  # noqa: E402
from hybrid.decode.lattice import compact_lattice_bytes  # noqa: E402
from hybrid.fst.compact import compact_from_fst  # noqa: E402

NTID = 8  # transition-ids of the tiny Kaldi transition model below
TID2PDF = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3], np.int32)
WIDE = dict(beam=1e4, lattice_beam=1e4, determinize_lattice=False)  # determinization is tested apart


def random_graph(rng, nstates=7, narcs=18, nwords=5, nfinal=2):
    """Random graph with emitting and epsilon arcs (no epsilon cycles) and several final states."""
    lines = []
    for _ in range(narcs):
        s, d = int(rng.integers(nstates)), int(rng.integers(nstates))
        il = int(rng.integers(1, NTID + 1)) if rng.random() > 0.3 else 0
        if il == 0 and d <= s:
            if s + 1 >= nstates:
                continue
            d = s + 1
        ol = int(rng.integers(1, nwords + 1)) if rng.random() < 0.4 else 0
        lines.append(f"{s} {d} {il} {ol} {rng.random() * 2:.4f}")
    for s in range(nstates):  # every state can emit
        lines.append(f"{s} {int(rng.integers(nstates))} {int(rng.integers(1, NTID + 1))} 0 {rng.random():.4f}")
    for s in rng.choice(nstates, nfinal, replace=False):
        lines.append(f"{s} {rng.random():.4f}")
    return kaldifst.compile("\n".join(lines) + "\n")


def shortest_path_oracle(fst, ll, acwt):
    """Cost and words of the best path through trellis(ll) o graph, by kaldifst."""
    T = ll.shape[0]
    lines = [f"{t} {t + 1} {tid} {tid} {-acwt * float(ll[t, TID2PDF[tid]]):.7f}"
             for t in range(T) for tid in range(1, NTID + 1)]
    lines.append(f"{T}")
    trellis = kaldifst.compile("\n".join(lines) + "\n")
    g = fst.copy()
    kaldifst.arcsort(g, sort_type="ilabel")
    sp = kaldifst.shortest_path(kaldifst.compose(trellis, g))
    if sp.num_states == 0:
        return None, None
    ok, _, osyms, w = kaldifst.get_linear_symbol_sequence(sp)
    assert ok
    return float(w.value), [o for o in osyms if o]


def _case(seed):
    rng = np.random.default_rng(seed)
    fst = random_graph(rng)
    T = int(rng.integers(1, 15))
    ll = (rng.standard_normal((T, 4)) * 3).astype(np.float32)
    return fst, compact_from_fst(fst), ll


@pytest.mark.parametrize("seed", range(25))
def test_wide_beam_matches_shortest_path(seed):
    fst, g, ll = _case(seed)
    acwt = 0.7
    cost, words = shortest_path_oracle(fst, ll, acwt)
    res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=acwt, **WIDE))
    if cost is None:  # no complete path: partial output, flagged
        assert not res.reached_final
        return
    assert res.reached_final and res.ok
    assert res.total_cost == pytest.approx(cost, abs=1e-4)
    assert res.words == words
    assert len(res.alignment) == ll.shape[0]
    # the alignment's acoustic cost is what the result claims
    ac = -sum(float(ll[t, TID2PDF[tid]]) for t, tid in enumerate(res.alignment))
    assert res.acoustic_cost == pytest.approx(ac, abs=1e-3)


def test_pruned_search_is_a_valid_path_no_better_than_optimal():
    worse = 0
    for seed in range(25):
        fst, g, ll = _case(seed)
        cost, _ = shortest_path_oracle(fst, ll, 1.0)
        if cost is None:
            continue
        res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=1.0, beam=1.0, max_active=2,
                                                              min_active=1, lattice_beam=1.0))
        if res.reached_final:
            assert res.total_cost >= cost - 1e-4
            worse += res.total_cost > cost + 1e-4
    assert worse > 0  # such a tight beam must lose the best path sometimes (the test can fail)


@pytest.mark.parametrize("seed", range(10))
def test_lattice_rescoring_equals_decoding_at_other_scale(seed):
    fst, g, ll = _case(seed)
    res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.5, **WIDE))
    det = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.5, beam=1e4, lattice_beam=4.0))
    if not res.reached_final:
        return
    for lmwt in (0.5, 1.0, 2.0, 5.0):
        # the determinized lattice keeps one alignment per word sequence (the best at the decoding
        # scale): never better than a direct decode, equal at the decoding scale (LMWT 2)
        dbp = lattice_best_path(det.lattice, 1.0, 1.0 / lmwt)
        dcost = dbp.graph_cost + dbp.acoustic_cost / lmwt
        direct_cost = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=1.0 / lmwt, **WIDE)).total_cost
        assert dcost >= direct_cost - 1e-4
        if lmwt == 2.0:
            assert dcost == pytest.approx(direct_cost, abs=1e-4)
        direct = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=1.0 / lmwt, **WIDE))
        bp = lattice_best_path(res.lattice, 1.0, 1.0 / lmwt)
        assert bp.graph_cost + bp.acoustic_cost / lmwt == pytest.approx(direct.total_cost, abs=1e-4)
        assert bp.words == direct.words
        # graph scale w == acoustic scale 1/w up to a factor
        bp2 = lattice_best_path(res.lattice, lmwt, 1.0)
        assert bp2.words == bp.words


def test_lattice_archive_roundtrip(tmp_path):
    items = []
    for seed in range(5):
        fst, g, ll = _case(seed)
        res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.5, lattice_beam=3.0))
        items.append((f"utt{seed}", res))
    path = tmp_path / "lat.1.gz"
    write_lattices([(u, r.lattice) for u, r in items], path)
    with gzip.open(path, "rb") as f:
        head = f.read(8)
    assert head[:7] == b"utt0 \x00B"
    back = dict(iter_lattices(path))
    assert list(back) == [u for u, _ in items]
    for u, r in items:
        lat = back[u]
        assert compact_lattice_bytes(lat) == compact_lattice_bytes(r.lattice.__class__(
            r.lattice.arc_start, r.lattice.word, r.lattice.graph.astype(np.float32).astype(np.float64),
            r.lattice.acoustic.astype(np.float32).astype(np.float64), r.lattice.nextstate, r.lattice.ali_start,
            r.lattice.ali, r.lattice.final_graph, r.lattice.final_acoustic, r.lattice.final_ali_start,
            r.lattice.final_ali))
        bp = lattice_best_path(lat, 1.0, 0.5)
        if r.reached_final:
            assert bp.words == r.words and bp.alignment == r.alignment


# ------------------------------------------------------------------ Kaldi's decoder as oracle
TOPO = """<Topology>
<TopologyEntry>
<ForPhones>
1 2
</ForPhones>
<State> 0 <PdfClass> 0 <Transition> 0 0.5 <Transition> 1 0.5 </State>
<State> 1 <PdfClass> 1 <Transition> 1 0.5 <Transition> 2 0.5 </State>
<State> 2 </State>
</TopologyEntry>
</Topology>
"""


@pytest.fixture(scope="module")
def kaldi_tm():
    k = pytest.importorskip("kaldi_hmm_gmm")
    topo = k.HmmTopology()
    topo.read(TOPO)
    tm = k.TransitionModel(k.monophone_context_dependency([1, 2], [0, 2, 2]), topo)
    assert list(tm.transition_id_to_pdf_array()) == list(TID2PDF)
    return k, tm


@pytest.mark.parametrize("beam,max_active,min_active", [(1e4, 2147483647, 200), (6.0, 2147483647, 200), (6.0, 3, 2)])
def test_matches_kaldi_lattice_faster_decoder(kaldi_tm, beam, max_active, min_active):
    k, tm = kaldi_tm
    agree = total = 0
    for seed in range(20):
        fst, g, ll = _case(seed)
        acwt = 0.8
        cfg = k.LatticeFasterDecoderConfig()
        cfg.beam, cfg.max_active, cfg.min_active, cfg.lattice_beam = beam, max_active, min_active, 4.0
        dec = k.LatticeFasterDecoderStdVectorFst(fst, cfg)
        mat = np.ascontiguousarray(acwt * ll[:, TID2PDF[1:]], dtype=np.float32)  # column tid-1
        ok, ali, words, like = k.decode_utterance_lattice_faster(dec, k.DecodableCtc(mat), tm, "u", True)
        res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=acwt, beam=beam, max_active=max_active, min_active=min_active,
                                                              lattice_beam=4.0, allow_partial=True,
                                                              determinize_lattice=False))
        if not ok:
            continue
        total += 1
        if abs(-like - res.total_cost) < 1e-3 and list(words) == res.words:
            agree += 1
    assert total >= 10
    assert agree == total


def test_homophone_tie_goes_to_lower_word_id():
    """Two words with the same pronunciation and cost (AN4's O / OH): the lower word id wins,
    whatever the arc order in the graph."""
    for first, second in ((7, 5), (5, 7)):
        fst = kaldifst.compile(f"0 1 1 0 0.5\n1 1 2 0 0\n1 2 0 {first} 4.663\n1 2 0 {second} 4.663\n"
                               "2 0 0 0 0\n0 0\n")
        g = compact_from_fst(fst)
        ll = np.zeros((6, 4), np.float32)
        res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.1))
        assert res.words == [5]
        assert lattice_best_path(res.lattice, 1.0, 1.0 / 12).words == [5]


def test_periodic_pruning_and_compaction_do_not_change_results():
    """Long utterances, pruning every 3 frames (tokens are compacted) vs. never: same best path
    (equal to the shortest-path oracle) and the same final lattice."""
    compacted = 0
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        fst = random_graph(rng, nstates=12, narcs=40)
        g = compact_from_fst(fst)
        ll = (rng.standard_normal((80, 4)) * 3).astype(np.float32)
        cost, words = shortest_path_oracle(fst, ll, 0.5)
        a = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.5, beam=30, lattice_beam=2.0,
                                                            prune_interval=3, determinize_lattice=False))
        b = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.5, beam=30, lattice_beam=2.0,
                                                            prune_interval=1000, determinize_lattice=False))
        assert a.stats["tokens"] <= b.stats["tokens"]
        compacted += a.stats["tokens"] < b.stats["tokens"]
        if cost is None:
            continue
        assert a.total_cost == pytest.approx(cost, abs=1e-3) and a.words == words
        assert (a.lattice.num_states, a.lattice.num_arcs) == (b.lattice.num_states, b.lattice.num_arcs)
        assert np.array_equal(a.lattice.word, b.lattice.word) and np.allclose(a.lattice.graph, b.lattice.graph)
    assert compacted >= 3


def test_matches_kaldi_on_long_utterances(kaldi_tm):
    k, tm = kaldi_tm
    agree = total = 0
    for seed in range(10):
        rng = np.random.default_rng(200 + seed)
        fst = random_graph(rng, nstates=15, narcs=50)
        g = compact_from_fst(fst)
        ll = (rng.standard_normal((120, 4)) * 3).astype(np.float32)
        cfg = k.LatticeFasterDecoderConfig()
        cfg.beam, cfg.lattice_beam, cfg.max_active, cfg.min_active = 8.0, 3.0, 6, 3
        dec = k.LatticeFasterDecoderStdVectorFst(fst, cfg)
        mat = np.ascontiguousarray(0.5 * ll[:, TID2PDF[1:]], dtype=np.float32)
        ok, ali, words, like = k.decode_utterance_lattice_faster(dec, k.DecodableCtc(mat), tm, "u", True)
        res = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=0.5, beam=8.0, lattice_beam=3.0,
                                                              max_active=6, min_active=3, allow_partial=True,
                                                              determinize_lattice=False))
        if not ok:
            continue
        total += 1
        agree += abs(-like - res.total_cost) < 1e-2 and list(words) == res.words and list(ali) == res.alignment
    assert total >= 6 and agree == total, (agree, total)


def _all_paths(lat, acwt):
    """Brute force: (best cost, set of optimal alignments) per word sequence over all paths."""
    best = {}

    def rec(s, words, cost, ali):
        if not np.isinf(lat.final_graph[s]):
            c = cost + lat.final_graph[s] + acwt * lat.final_acoustic[s]
            fa = () if lat.final_ali_start is None else tuple(lat.final_ali[lat.final_ali_start[s]:lat.final_ali_start[s + 1]])
            key = tuple(words)
            full = tuple(int(x) for x in tuple(ali) + tuple(fa))
            if key not in best or c < best[key][0] - 1e-6:
                best[key] = (c, {full})
            elif abs(c - best[key][0]) <= 1e-6:
                best[key][1].add(full)
        for a in range(lat.arc_start[s], lat.arc_start[s + 1]):
            w = int(lat.word[a])
            rec(int(lat.nextstate[a]), words + ([w] if w else []), cost + lat.graph[a] + acwt * lat.acoustic[a],
                ali + list(lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]]))
    rec(0, [], 0.0, [])
    return best


@pytest.mark.parametrize("seed", range(12))
def test_determinized_lattice_keeps_best_path_per_word_sequence(seed):
    """Oracle: enumerate every path of the undeterminized lattice; the determinized one has
    exactly the same word sequences, each with its best cost and that path's alignment, and is
    deterministic (no epsilon arcs, no two arcs with one word out of a state)."""
    rng = np.random.default_rng(300 + seed)
    fst = random_graph(rng, nstates=6, narcs=16)
    g = compact_from_fst(fst)
    ll = (rng.standard_normal((int(rng.integers(2, 7)), 4)) * 2).astype(np.float32)
    acwt = 0.5
    raw = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=acwt, lattice_beam=3.0,
                                                          determinize_lattice=False, allow_partial=True))
    det = decode_utterance(g, ll, TID2PDF, DecoderOptions(acoustic_scale=acwt, lattice_beam=3.0, allow_partial=True))
    assert det.stats["determinized"]
    lat = det.lattice
    for s in range(lat.num_states):
        ws = lat.word[lat.arc_start[s]:lat.arc_start[s + 1]]
        assert np.all(ws != 0) and len(set(ws.tolist())) == len(ws)
    want, got = _all_paths(raw.lattice, acwt), _all_paths(lat, acwt)
    assert set(got) == set(want)
    for k in want:
        assert got[k][0] == pytest.approx(want[k][0], abs=1e-4)
        assert got[k][1] <= want[k][1]  # an optimal alignment (ties: the smaller one)
    assert det.words == raw.words and det.alignment == raw.alignment
    assert det.total_cost == pytest.approx(raw.total_cost, abs=1e-4)
