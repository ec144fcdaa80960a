"""AN4's G (as Kaldi's egs/an4) and its monophone HCLG; H and self-loops against Kaldi's code."""

from __future__ import annotations

import math
import time

import kaldifst
import numpy as np
import pytest

from hybrid.fst.graph import make_clg, make_hclga, make_lg, mkgraph
from hybrid.fst.hmm_fst import add_self_loops, make_h_transducer
from hybrid.fst.ops import INF, read_fst, to_lists
from hybrid.io.symbols import read_int_list_file, read_symbols
from hybrid.lm.gfst import arpa_to_g_recipe

from kaldi_oracle import kaldi, kaldi_mono_transition_model

REMOVED = "HALL LANE MEMORY TWELVTH WEAN".split()


@pytest.fixture(scope="module")
def an4_lang(an4_dir, tmp_path_factory):
    from hybrid.corpora.an4 import prepare_an4_dict
    from hybrid.lang.prepare import prepare_lang
    d = tmp_path_factory.mktemp("an4lang")
    prepare_an4_dict(an4_dir, d / "dict")
    prepare_lang(d / "dict", "<UNK>", d / "lang")
    arpa_to_g_recipe(an4_dir / "etc" / "an4.ug.lm", d / "lang" / "words.txt", d / "lang" / "G.fst",
                     remove_words=REMOVED, oov_words=["<UNK>"])
    return d / "lang"


def _mono(lang):
    from hybrid.hmm import Topology, TransitionModel
    from hybrid.tree import monophone_context_dependency_shared
    topo_text = (lang / "topo").read_text()
    topo = Topology.parse(topo_text)
    sets = [[int(x) for x in ln.split()] for ln in (lang / "phones" / "sets.int").read_text().splitlines()]
    ctx = monophone_context_dependency_shared(sets, {p: topo.num_pdf_classes(p) for p in topo.phones})
    return topo_text, sets, ctx, TransitionModel.from_context_dependency(topo, ctx)


def test_an4_grammar(an4_lang):
    words = read_symbols(an4_lang / "words.txt")
    g = to_lists(read_fst(an4_lang / "G.fst"))
    labels = {a[0] for arcs in g.arcs for a in arcs} | {a[1] for arcs in g.arcs for a in arcs}
    for w in REMOVED + ["<UNK>", "<s>", "</s>"]:
        assert w not in words or words[w] not in labels, w
    word_costs = {round(a[2], 4) for arcs in g.arcs for a in arcs if a[1] != 0}
    assert word_costs == {round(2.0253 * math.log(10), 4)}  # every word costs 4.6634
    # the unigram has 104 ordinary words; minus the 5 removed ones = 99 (NOVEMBER and THIRTEEN,
    # in the lexicon, are not in the LM)
    assert len({a[1] for arcs in g.arcs for a in arcs if a[1] != 0}) == 99
    assert words["NOVEMBER"] not in labels and words["THIRTEEN"] not in labels


def test_an4_mono_hclg_matches_kaldi_pieces(an4_lang, tmp_path):
    k = kaldi()
    topo_text, sets, ctx, tm = _mono(an4_lang)
    kctx, ktm = kaldi_mono_transition_model(topo_text, sets)
    t0 = time.time()
    lg = make_lg(read_fst(an4_lang / "L_disambig.fst"), read_fst(an4_lang / "G.fst"))
    clg, ilabels = make_clg(lg, 1, 0, read_int_list_file(an4_lang / "phones" / "disambig.int"))
    h, dis = make_h_transducer(ilabels, ctx, tm)
    hclga = make_hclga(h, clg, dis)
    hclg = add_self_loops(hclga, tm, dis, 0.1)
    assert time.time() - t0 < 10
    assert 400 < hclg.num_states < 800  # Kaldi's is about 600 states
    # the same graph with Kaldi's H transducer and Kaldi's AddSelfLoops
    kh, kdis = k.get_h_transducer(ilabels, kctx, ktm, k.HTransducerConfig())
    assert list(kdis) == dis
    khclga = make_hclga(kh, clg, list(kdis))
    khclg = k.add_self_loops(self_loop_scale=0.1, disambig_syms=list(kdis), reorder=True, trans_model=ktm,
                             ifst=khclga)
    a, b = to_lists(hclg), to_lists(khclg)
    assert a.start == b.start and a.num_states == b.num_states
    for s in range(a.num_states):
        assert a.finals[s] == pytest.approx(b.finals[s], abs=1e-4)
        assert [x[:2] + [x[3]] for x in a.arcs[s]] == [x[:2] + [x[3]] for x in b.arcs[s]]
        np.testing.assert_allclose([x[2] for x in a.arcs[s]], [x[2] for x in b.arcs[s]], atol=1e-4)


def test_mkgraph_writes_graph_dir(an4_lang, tmp_path):
    import shutil
    from hybrid.tree import write_tree
    lang = tmp_path / "lang"
    shutil.copytree(an4_lang, lang)
    _, _, ctx, tm = _mono(lang)
    (tmp_path / "mono").mkdir()
    write_tree(ctx, tmp_path / "mono" / "tree")
    path = mkgraph(lang, tmp_path / "mono", tmp_path / "graph", trans_model=tm)
    gdir = tmp_path / "graph"
    for f in ("words.txt", "phones.txt", "phones/disambig.int", "phones/silence.csl", "phones/word_boundary.int",
              "disambig_tid.int", "num_pdfs"):
        assert (gdir / f).is_file(), f
    assert int((gdir / "num_pdfs").read_text()) == ctx.num_pdfs
    assert (lang / "tmp" / "LG.fst").is_file() and (lang / "tmp" / "ilabels_1_0").is_file()
    with open(path, "rb") as f:
        assert f.read(13)[8:13] == b"const"  # written as a const FST, as Kaldi's mkgraph
    hclg = to_lists(read_fst(path))
    assert all(a[0] <= tm.num_transition_ids for arcs in hclg.arcs for a in arcs)
    assert any(f != INF for f in hclg.finals)
