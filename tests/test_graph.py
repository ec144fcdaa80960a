"""HCLG construction: H transducer and self-loops against Kaldi's own code (kaldi-hmm-gmm,
test-only oracle); the whole pipeline against the naive composition H∘C∘L∘G."""

from __future__ import annotations

import math
import random
from pathlib import Path

import kaldifst
import numpy as np
import pytest

from hybrid.fst.graph import build_hclg, make_clg, make_hclga, make_lg, mkgraph, read_ilabel_info, write_ilabel_info
from hybrid.fst.hmm_fst import add_self_loops, make_h_transducer
from hybrid.fst.ops import (INF, Lists, from_lists, is_stochastic, push_special, read_fst, remove_eps_local,
                            rm_symbols, table_compose, to_lists, write_fst)
from hybrid.hmm import Topology, TransitionModel
from hybrid.tree import ContextDependency, monophone_context_dependency_shared
from hybrid.tree.event_map import PDF_CLASS, ConstantEventMap, SplitEventMap, table_of

from kaldi_oracle import kaldi, kaldi_mono_transition_model

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()
SETS = [[1], [2, 3], [4], [5], [6], [7], [8], [9]]
DISAMBIG = [10, 11, 12]  # #0 #1 #2 in phones.txt
# word -> phones (1 = SIL; 2..9 = phones); word ids 1.. ; no homophones
LEXICON = {"a": [2, 3], "b": [4], "c": [5, 6, 7], "d": [2, 3, 8], "e": [9, 2]}
WORDS = {w: i for i, w in enumerate(sorted(LEXICON), 1)}
WORD_DISAMBIG0 = len(WORDS) + 1  # #0 in words.txt


def lexicon_fst(sil_cost: float = math.log(2)) -> kaldifst.StdVectorFst:
    """A Kaldi-like L_disambig: loop state 0 (start, final), optional silence, '#1' after 'a'
    (a prefix of 'd'), and the #0:#0 self-loop."""
    g = Lists()
    g.add_state()
    g.start = 0
    g.finals[0] = 0.0
    for w, prons in sorted(LEXICON.items()):
        seq = list(prons) + ([11] if w == "a" else [])
        prev = 0
        for i, p in enumerate(seq):
            nxt = 0 if i == len(seq) - 1 else g.add_state()
            g.arcs[prev].append([p, WORDS[w] if i == 0 else 0, sil_cost if i == 0 else 0.0, nxt])
            prev = nxt
    g.arcs[0].append([1, 0, sil_cost, 0])  # optional silence
    g.arcs[0].append([10, WORD_DISAMBIG0, 0.0, 0])  # #0:#0
    return from_lists(g)


def grammar_fst() -> kaldifst.StdVectorFst:
    """A two-state word acceptor without back-off (each word sequence has one path)."""
    g = Lists()
    g.add_state(); g.add_state()
    g.start = 0
    g.finals[1] = 0.5
    for w, i in WORDS.items():
        g.arcs[0].append([i, i, 1.0 + 0.1 * i, 1])
        g.arcs[1].append([i, i, 2.0 - 0.2 * i, 1])
    return from_lists(g)


def ours_mono():
    topo = Topology.parse(TOPO)
    nclass = {p: topo.num_pdf_classes(p) for p in topo.phones}
    ctx = monophone_context_dependency_shared(SETS, nclass)
    return ctx, TransitionModel.from_context_dependency(topo, ctx)


def ours_tri():
    """A context-dependent tree (N=3, P=1): the pdf depends on the central phone and
    pdf-class and, for phone 2 in pdf-class 0, on whether the left phone is 0 or silence."""
    topo = Topology.parse(TOPO)
    nclass = {p: topo.num_pdf_classes(p) for p in topo.phones}
    mono = monophone_context_dependency_shared(SETS, nclass)
    base = mono.num_pdfs
    children = {}
    for p in topo.phones:
        stub = table_of(PDF_CLASS, {c: ConstantEventMap(mono.compute((p,), c)) for c in range(nclass[p])})
        if p == 2:
            left_sil = table_of(PDF_CLASS, {0: ConstantEventMap(base),
                                            **{c: ConstantEventMap(mono.compute((p,), c)) for c in (1, 2)}})
            stub = SplitEventMap(0, frozenset({0, 1}), left_sil, stub)
        children[p] = stub
    tri = ContextDependency(3, 1, table_of(1, children))
    assert tri.num_pdfs == base + 1
    return tri, TransitionModel.from_context_dependency(topo, tri)


def arcs_of(fst):
    g = to_lists(fst)
    return g.start, [round(f, 4) if f != INF else INF for f in g.finals], \
        [[(a[0], a[1], round(a[2], 4), a[3]) for a in arcs] for arcs in g.arcs]


def test_h_transducer_matches_kaldi():
    k = kaldi()
    ctx, tm = ours_mono()
    kctx, ktm = kaldi_mono_transition_model(TOPO, SETS)
    lg = make_lg(lexicon_fst(), grammar_fst())
    clg, ilabels = make_clg(lg, 1, 0, DISAMBIG)
    assert any(len(v) == 1 and v[0] < 0 for v in ilabels)  # disambiguation symbols present
    for scale in (1.0, 0.5):
        h, dis = make_h_transducer(ilabels, ctx, tm, transition_scale=scale)
        cfg = k.HTransducerConfig()
        cfg.transition_scale = scale
        kh, kdis = k.get_h_transducer(ilabels, kctx, ktm, cfg)
        assert dis == list(kdis)
        assert arcs_of(h) == arcs_of(kh)


def test_add_self_loops_matches_kaldi():
    k = kaldi()
    ctx, tm = ours_mono()
    kctx, ktm = kaldi_mono_transition_model(TOPO, SETS)
    lg = make_lg(lexicon_fst(), grammar_fst())
    clg, ilabels = make_clg(lg, 1, 0, DISAMBIG)
    h, dis = make_h_transducer(ilabels, ctx, tm)
    # keep the disambiguation symbols (not removed) so both must handle them
    hclg = table_compose(h, clg)
    kaldifst.determinize_star(hclg, use_log=True)
    for scale in (0.1, 1.0):
        for reorder in (True, False):
            ours = add_self_loops(hclg, tm, dis, scale, reorder=reorder)
            theirs = k.add_self_loops(self_loop_scale=scale, disambig_syms=dis, reorder=reorder,
                                      trans_model=ktm, ifst=kaldifst.StdVectorFst(hclg))
            assert arcs_of(ours) == arcs_of(theirs), (scale, reorder)


def _random_path(g: Lists, rng: random.Random, max_len: int = 200):
    """A random successful path: (inputs without eps, outputs without eps, total cost)."""
    for _ in range(100):
        s, ins, outs, cost = g.start, [], [], 0.0
        for _ in range(max_len):
            choices = list(g.arcs[s]) + ([None] if g.finals[s] != INF else [])
            if not choices:
                break
            c = rng.choice(choices)
            if c is None:
                return ins, outs, cost + g.finals[s]
            if c[0]:
                ins.append(c[0])
            if c[1]:
                outs.append(c[1])
            cost += c[2]
            s = c[3]
    raise RuntimeError("no random path found")


def _best(fst, inputs):
    a = kaldifst.make_linear_acceptor(inputs)
    kaldifst.arcsort(a, sort_type="olabel")
    f = kaldifst.StdVectorFst(fst)
    kaldifst.arcsort(f, sort_type="ilabel")
    c = kaldifst.compose(a, f)
    if c.num_states == 0:
        return None
    ok, _, outs, w = kaldifst.get_linear_symbol_sequence(kaldifst.shortest_path(c))
    return list(outs), float(w.value)


@pytest.mark.parametrize("tree", ["mono", "tri"])
def test_hclga_equivalent_to_naive_composition(tree):
    ctx, tm = ours_mono() if tree == "mono" else ours_tri()
    L, G = lexicon_fst(), grammar_fst()
    disambig_phones = DISAMBIG
    N, P = ctx.context_width, ctx.central_position
    lg = make_lg(L, G)
    clg, ilabels = make_clg(lg, N, P, disambig_phones)
    h, dis = make_h_transducer(ilabels, ctx, tm)
    hclga = make_hclga(h, clg, dis)
    # naive: no determinization / minimization / pushing
    nclg, nil = make_clg(table_compose(L, G), N, P, disambig_phones)
    nh, ndis = make_h_transducer(nil, ctx, tm)
    naive = rm_symbols(table_compose(nh, nclg), ndis)
    rng = random.Random(0)
    gn, gd = to_lists(naive), to_lists(hclga)
    for g_from, other in ((gn, hclga), (gd, naive)):
        for _ in range(25):
            ins, outs, cost = _random_path(g_from, rng)
            best = _best(other, ins)
            assert best is not None, ins
            assert best[0] == outs
            # minimize_encoded quantizes weights to multiples of 1/1024
            assert best[1] == pytest.approx(cost, abs=1e-3 * (len(ins) + 2))
    # no disambiguation symbols left
    assert all(a[0] <= tm.num_transition_ids for arcs in gd.arcs for a in arcs)


def test_build_hclg_with_self_loops_accepts_repeated_frames():
    ctx, tm = ours_mono()
    hclg, dis = build_hclg(lexicon_fst(), grammar_fst(), DISAMBIG, ctx, tm, self_loop_scale=0.1)
    g = to_lists(hclg)
    # a random path through HCLGa, each tid repeated: accepted only thanks to self-loops
    ins, outs, _ = _random_path(to_lists(make_hclga(*_h_clg(ctx, tm))), random.Random(1))
    doubled = []
    for t in ins:
        doubled += [t, tm.self_loop_tid(int(tm.tid2tstate[t]))] if tm.self_loop_tid(int(tm.tid2tstate[t])) else [t]
    best = _best(hclg, doubled)
    assert best is not None and best[0] == outs
    assert any(a[0] and tm.tid_is_self_loop[a[0]] and a[3] == s for s, arcs in enumerate(g.arcs) for a in arcs)


def _h_clg(ctx, tm):
    lg = make_lg(lexicon_fst(), grammar_fst())
    clg, ilabels = make_clg(lg, 1, 0, DISAMBIG)
    h, dis = make_h_transducer(ilabels, ctx, tm)
    return h, clg, dis


def test_push_special_equalises_state_sums():
    g = Lists()
    for _ in range(4):
        g.add_state()
    g.start = 0
    g.arcs[0] += [[1, 1, 0.3, 1], [2, 2, 1.2, 2]]
    g.arcs[1] += [[3, 3, 0.7, 3], [0, 0, 2.0, 0]]
    g.arcs[2] += [[3, 3, 0.1, 3]]
    g.finals[3] = 0.4
    fst = from_lists(g)
    _, lo0, hi0 = is_stochastic(fst)
    assert hi0 - lo0 > 0.5  # the original's state sums differ widely
    pushed = push_special(fst)
    _, lo, hi = is_stochastic(pushed)
    assert hi - lo < 2e-3  # pushed: every state sums to the same lambda
    # a reweighting: complete paths keep their weights
    for ins in ([2, 3], [1, 3], [1, 1, 3]):
        assert _best(pushed, ins)[1] == pytest.approx(_best(fst, ins)[1], abs=1e-5)


def test_remove_eps_local_preserves_paths():
    g = Lists()
    for _ in range(5):
        g.add_state()
    g.start = 0
    g.arcs[0] += [[1, 0, 0.5, 1]]
    g.arcs[1] += [[0, 7, 0.25, 2]]
    g.arcs[2] += [[2, 0, 1.0, 3], [0, 0, 0.5, 4]]
    g.arcs[3] += [[0, 0, 0.0, 4]]
    g.finals[4] = 0.125
    fst = from_lists(g)
    out = remove_eps_local(fst)
    assert out.num_states < fst.num_states
    for ins in ([1], [1, 2]):
        (o1, w1), (o2, w2) = _best(out, ins), _best(fst, ins)
        assert o1 == o2 and w1 == pytest.approx(w2)


def test_ilabel_info_roundtrip(tmp_path):
    info = [[], [1], [-10], [2, 3, 4]]
    write_ilabel_info(info, tmp_path / "ilabels")
    assert read_ilabel_info(tmp_path / "ilabels") == info


def test_cli_make_h_transducer_and_add_self_loops(tmp_path):
    import numpy as np
    from click.testing import CliRunner
    from hybrid.cli.cmd_graph import add_self_loops_cmd, make_h_transducer_cmd
    from hybrid.gmm import AmDiagGmm, DiagGmm, write_model
    from hybrid.tree import write_tree
    ctx, tm = ours_mono()
    write_tree(ctx, tmp_path / "tree")
    am = AmDiagGmm([DiagGmm.from_means_vars(np.ones(1), np.zeros((1, 2)), np.ones((1, 2)))
                    for _ in range(ctx.num_pdfs)])
    write_model(tmp_path / "final.mdl", tm, am)
    h, clg, dis = _h_clg(ctx, tm)
    lg = make_lg(lexicon_fst(), grammar_fst())
    _, ilabels = make_clg(lg, 1, 0, DISAMBIG)
    write_ilabel_info(ilabels, tmp_path / "ilabels")
    r = CliRunner().invoke(make_h_transducer_cmd, ["--disambig-syms-out", str(tmp_path / "dis.int"),
                                                   str(tmp_path / "ilabels"), str(tmp_path / "tree"),
                                                   str(tmp_path / "final.mdl"), str(tmp_path / "Ha.fst")])
    assert r.exit_code == 0, r.output
    assert arcs_of(read_fst(tmp_path / "Ha.fst")) == arcs_of(h)
    assert [int(x) for x in (tmp_path / "dis.int").read_text().split()] == dis
    hclga = make_hclga(h, clg, dis)
    write_fst(hclga, tmp_path / "HCLGa.fst")
    r = CliRunner().invoke(add_self_loops_cmd, ["--self-loop-scale", "0.1", str(tmp_path / "final.mdl"),
                                                str(tmp_path / "HCLGa.fst"), str(tmp_path / "HCLG.fst")])
    assert r.exit_code == 0, r.output
    assert arcs_of(read_fst(tmp_path / "HCLG.fst")) == arcs_of(add_self_loops(hclga, tm, dis, 0.1))
