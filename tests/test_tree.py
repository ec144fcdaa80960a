"""Decision trees: tree statistics, questions, build-tree, gmm-init-model, convert-ali.

Oracles: Kaldi's GaussClusterable objective and Kaldi's own tree-file reader + event-map
traversal (``draw_tree`` with a query, from kaldi-hmm-gmm), brute-force accumulation and
brute-force best-question search.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from hybrid.hmm import Topology, TransitionModel, phone_segments
from hybrid.tree import (
    PDF_CLASS,
    ContextDependency,
    Questions,
    Roots,
    SplitEventMap,
    TreeStats,
    acc_tree_stats,
    build_tree,
    cluster_phones,
    compile_questions,
    convert_alignment,
    format_tree_leaves,
    gauss_objf,
    gmm_init_model,
    monophone_context_dependency,
    read_tree,
    sum_tree_stats,
)
from hybrid.tree.build import cluster_bottom_up, map_events, _SplitFinder

from kaldi_oracle import kaldi

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()  # 1 = 5-state SIL, 2..9 3-state
PHONES = list(range(1, 10))


def _mono():
    topo = Topology.parse(TOPO)
    ctx = monophone_context_dependency(topo.phones, {p: topo.num_pdf_classes(p) for p in topo.phones})
    return topo, ctx, TransitionModel.from_context_dependency(topo, ctx)


def _phone_tids(tm, ctx, phone, rng):
    out = []
    for hs in range(len(tm.topo.entry(phone)) - 1):
        st = tm.topo.entry(phone)[hs]
        pdf = ctx.compute([phone], st.forward_pdf_class)
        tids = list(tm.tstate_tids(tm.tstate_of(phone, hs, pdf, pdf)))
        loop = next(t for t in tids if tm.tid2dst[t] == hs)
        fwd = next(t for t in tids if tm.tid2dst[t] == hs + 1)
        out += [loop] * int(rng.integers(0, 3)) + [fwd]
    return out


def synth_utts(tm, ctx, n_utts=150, dim=3, seed=0, effect_phone=6, effect=5.0):
    """(utt, feats, ali, phones): SIL-delimited random phone strings; phone 6's features shift by
    ``effect`` when its left neighbour is 2 or 3 (a planted left-context class {2,3} vs {4,5,...})."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 3, size=(10, 5, dim))
    out = []
    for u in range(n_utts):
        phones = [1] + [int(p) for p in rng.integers(2, 10, size=int(rng.integers(3, 8)))] + [1]
        ali, feats = [], []
        for i, p in enumerate(phones):
            left = phones[i - 1] if i else 0
            for t in _phone_tids(tm, ctx, p, rng):
                c = tm.topo.entry(p)[tm.tid2hmm_state[t]].forward_pdf_class
                m = base[p, c] + (effect if p == effect_phone and left in (2, 3) else 0.0)
                feats.append(m + rng.normal(0, 1, size=dim))
                ali.append(t)
        out.append((f"u{u:03d}", np.array(feats), np.array(ali, dtype=np.int32), phones))
    return out


@pytest.fixture(scope="module")
def setup():
    topo, ctx, tm = _mono()
    utts = synth_utts(tm, ctx)
    stats, done, failed = acc_tree_stats(tm, [(u, f, a) for u, f, a, _ in utts], ci_phones=[1])
    assert (done, failed) == (len(utts), 0)
    return topo, ctx, tm, utts, stats


ROOTS = Roots([[p] for p in PHONES], [True] * 9, [True] * 9)


# ----------------------------------------------------------------------------- statistics
def test_gauss_objf_matches_kaldi():
    k = kaldi()
    rng = np.random.default_rng(1)
    for count, floor in [(5.0, 0.01), (1.0, 0.01), (30.0, 2.0), (0.0, 0.01)]:
        x = rng.normal(0, 2, 6) * count
        x2 = (rng.uniform(0.001, 3, 6) + (x / max(count, 1)) ** 2) * count
        ours = float(gauss_objf(count, x, x2, floor))
        theirs = k.GaussClusterable(x, x2, floor, count).objf()
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-4)


def test_acc_tree_stats_brute_force(setup):
    topo, ctx, tm, utts, stats = setup
    ref: dict[tuple, list] = {}
    for _, feats, ali, phones in utts:
        segs = phone_segments(tm, ali)
        assert [s.label for s in segs] == phones
        for k, seg in enumerate(segs):
            p = phones[k]
            left = -1 if p == 1 else (phones[k - 1] if k else 0)
            right = -1 if p == 1 else (phones[k + 1] if k + 1 < len(phones) else 0)
            for t in range(seg.start, seg.end):
                st = topo.entry(p)[tm.tid2hmm_state[ali[t]]]
                ev = (st.forward_pdf_class, left, p, right)
                acc = ref.setdefault(ev, [0.0, 0.0, 0.0])
                acc[0] += 1
                acc[1] = acc[1] + feats[t]
                acc[2] = acc[2] + feats[t] ** 2
    assert stats.num_events == len(ref)
    assert stats.count.sum() == sum(len(a) for _, _, a, _ in utts)
    for i, ev in enumerate(map(tuple, stats.events.tolist())):
        c, x, x2 = ref[ev]
        assert stats.count[i] == c
        np.testing.assert_allclose(stats.x[i], x, rtol=1e-9)
        np.testing.assert_allclose(stats.x2[i], x2, rtol=1e-9)
    # context-independent phone 1: its contexts are absent from its events
    sil = stats.events[stats.events[:, 2] == 1]
    assert (sil[:, [1, 3]] == -1).all() and len(sil) == 5


def test_sum_and_roundtrip(setup, tmp_path):
    topo, ctx, tm, utts, stats = setup
    a, _, _ = acc_tree_stats(tm, [(u, f, al) for u, f, al, _ in utts[:70]], ci_phones=[1])
    b, _, _ = acc_tree_stats(tm, [(u, f, al) for u, f, al, _ in utts[70:]], ci_phones=[1])
    a.write(tmp_path / "1.treeacc")
    b.write(tmp_path / "2.treeacc")
    tot = sum_tree_stats([TreeStats.read(tmp_path / "1.treeacc"), TreeStats.read(tmp_path / "2.treeacc")])
    np.testing.assert_array_equal(tot.events, stats.events)
    np.testing.assert_allclose(tot.count, stats.count)
    np.testing.assert_allclose(tot.x, stats.x, rtol=1e-12)
    np.testing.assert_allclose(tot.x2, stats.x2, rtol=1e-12)
    with pytest.raises(ValueError, match="not a tree-statistics file"):
        (tmp_path / "bad").write_text("x")
        TreeStats.read(tmp_path / "bad")


def test_bad_alignment_is_skipped(setup):
    topo, ctx, tm, utts, _ = setup
    u, f, a, _ = utts[0]
    st, done, failed = acc_tree_stats(tm, [(u, f, a[:-1]), (u + "b", f[:5], a[:5]), utts[1][:3]], ci_phones=[1])
    assert (done, failed) == (1, 2)


# ----------------------------------------------------------------------------- questions
def test_cluster_phones_groups(setup):
    """Phone sets whose middle-state statistics form two far-apart groups are split first."""
    dim = 2
    events, count, x, x2 = [], [], [], []
    for p in range(1, 7):
        mu = np.array([0.0, 0.0]) if p <= 3 else np.array([20.0, 20.0])
        mu = mu + 0.3 * p
        for left in (0, 1):
            events.append([1, left, p, 0])
            count.append(10.0)
            x.append(10 * mu)
            x2.append(10 * (mu ** 2 + 1.0))
    st = TreeStats(np.array(events, np.int32), np.array(count), np.array(x), np.array(x2))
    qs = cluster_phones(st, [[1], [2], [3], [4, 5], [6]])
    assert [1, 2, 3] in qs and [4, 5, 6] in qs and [1, 2, 3, 4, 5, 6] in qs
    for s in ([1], [2], [3], [4, 5], [6]):
        assert s in qs
    assert qs == sorted(qs)
    # deterministic
    assert qs == cluster_phones(st, [[1], [2], [3], [4, 5], [6]])


def test_compile_questions_and_roundtrip(tmp_path):
    topo = Topology.parse(TOPO)
    q = compile_questions([[3, 2], [2, 3], [1], [4, 5, 6, 7, 8, 9]], topo)
    assert q.by_key[-1] == [(0,), (0, 1), (0, 1, 2), (0, 1, 2, 3)]  # 5 pdf-classes (silence)
    for key in (0, 1, 2):
        assert q.by_key[key] == [(1,), (2, 3), (4, 5, 6, 7, 8, 9)]
    q.write(tmp_path / "q.qst")
    assert Questions.read(tmp_path / "q.qst").by_key == q.by_key
    with pytest.raises(ValueError, match="undefined in the topology"):
        compile_questions([[1, 42]], topo)


# ----------------------------------------------------------------------------- build-tree
def _planted_stats(dim=2, seed=3):
    """One 3-state phone (5) in every context of phones 1..4; the left context {1,2} vs {3,4}
    shifts the mean of every state (and the states share their means otherwise)."""
    rng = np.random.default_rng(seed)
    events, count, x, x2 = [], [], [], []
    for left, right, cls in itertools.product(range(1, 5), range(1, 5), range(3)):
        mu = np.full(dim, 4.0 if left in (1, 2) else -4.0) + rng.normal(0, 0.1, dim)
        n = float(rng.integers(20, 40))
        events.append([cls, left, 5, right])
        count.append(n)
        x.append(n * mu)
        x2.append(n * (mu ** 2 + 1.0))
    return TreeStats(np.array(events, np.int32), np.array(count), np.array(x), np.array(x2))


def test_planted_split_is_first_question():
    topo = Topology.parse(TOPO)
    st = _planted_stats()
    q = compile_questions([[1, 2], [3, 4], [1, 3], [2, 4], [1], [2], [3], [4], [5], [6, 7, 8, 9]], topo)
    ctx = build_tree(st, Roots([[5]], [True], [True]), q, topo, thresh=0.0, max_leaves=2, cluster_thresh=0.0)
    assert ctx.num_pdfs == 2
    root = ctx.to_pdf
    assert isinstance(root, SplitEventMap) and root.key == 0 and root.yes_set in ({1, 2}, {3, 4})
    assert ctx.compute([1, 5, 3], 0) == ctx.compute([2, 5, 4], 2) != ctx.compute([3, 5, 1], 1)
    # the chosen gain equals the brute-force best over every question of every key
    finder = _SplitFinder(st, q)
    gain, key, yes = finder.best(np.arange(st.num_events))
    tot = st.total_objf()
    brute = []
    for k in q.keys():
        for qs in q.by_key[k]:
            m = np.isin(st.events[:, k + 1], qs)
            brute.append(st.total_objf(np.where(m)[0]) + st.total_objf(np.where(~m)[0]) - tot)
    assert gain == pytest.approx(max(brute), rel=1e-9) and (key, yes) == (0, root.yes_set)


def test_built_tree_covers_every_context_and_kaldi_reads_it(setup, tmp_path):
    topo, ctx, tm, utts, stats = setup
    qs = cluster_phones(stats, [[p] for p in PHONES]) + [[2, 3], [4, 5, 6, 7, 8, 9]]
    q = compile_questions(qs, topo)
    tree = build_tree(stats, ROOTS, q, topo, thresh=50.0, max_leaves=45, round_num_leaves=False)
    assert 27 < tree.num_pdfs <= 45 and tree.num_pdfs % 8  # (else the rounding check below is void)
    rounded = build_tree(stats, ROOTS, q, topo, thresh=50.0, max_leaves=45)  # Kaldi's default: multiple of 8
    assert rounded.num_pdfs == tree.num_pdfs // 8 * 8
    # planted: phone 6 after {2,3} differs from phone 6 after 4..9
    assert tree.compute([2, 6, 5], 1) == tree.compute([3, 6, 9], 1) != tree.compute([7, 6, 5], 1)
    # every window (0 = no phone at an utterance edge) and pdf-class has a pdf; all pdfs used
    seen = set()
    windows = [w for w in itertools.product([0] + PHONES, PHONES, [0] + PHONES)]
    for w in windows:
        for c in range(topo.num_pdf_classes(w[1])):
            pdf = tree.compute(w, c)
            assert 0 <= pdf < tree.num_pdfs, (w, c)
            seen.add(pdf)
    assert seen == set(range(tree.num_pdfs))
    # stats map to leaves consistently with compute()
    leaf = map_events(tree.to_pdf, np.where(stats.events < 0, 0, stats.events))
    for ev, lf in zip(stats.events[:50], leaf[:50]):
        w = [max(int(v), 0) for v in ev[1:]]
        assert tree.compute(w, int(ev[0])) == lf
    # file round trip, and Kaldi's reader + event-map traversal agree on a sample of windows
    tree.write(tmp_path / "tree")
    again = read_tree(tmp_path / "tree")
    assert again.to_text() == tree.to_text()
    k = kaldi()
    (tmp_path / "phones.txt").write_text("<eps> 0\n" + "".join(f"p{i} {i}\n" for i in PHONES))
    names = {0: "<eps>", **{i: f"p{i}" for i in PHONES}}
    rng = np.random.default_rng(0)
    for i in rng.choice(len(windows), 60, replace=False):
        w = windows[i]
        c = int(rng.integers(topo.num_pdf_classes(w[1])))
        dot = k.draw_tree(str(tmp_path / "phones.txt"), str(tmp_path / "tree"), False,
                          f"{c}/" + "/".join(names[p] for p in w))
        hit = re.findall(r"doublecircle, label=(\d+),color=red", dot)
        assert hit == [str(tree.compute(w, c))], (w, c, hit)


def test_roots_shared_and_split_semantics():
    topo = Topology.parse(TOPO)
    st = _planted_stats()
    q = compile_questions([[1, 2], [3, 4], [5], [6]], topo)
    # not-shared, not-split: one pdf per pdf-class, no context questions
    ctx = build_tree(st, Roots([[5]], [False], [False]), q, topo, thresh=0.0, max_leaves=50)
    assert ctx.num_pdfs == 3
    assert {ctx.compute([a, 5, b], c) for a, b in [(1, 1), (3, 4), (0, 0)] for c in range(3)} == {0, 1, 2}
    assert all(ctx.compute([a, 5, 2], 1) == 1 for a in range(5))
    # shared, not-split: a single pdf for all classes
    ctx = build_tree(st, Roots([[5]], [True], [False]), q, topo, thresh=0.0, max_leaves=50)
    assert ctx.num_pdfs == 1
    with pytest.raises(ValueError, match="not supported"):
        build_tree(st, Roots([[5]], [False], [True]), q, topo, thresh=0.0, max_leaves=5)


def test_cluster_bottom_up_merges_close_pairs():
    st = TreeStats(np.zeros((4, 4), np.int32), np.array([10.0, 10.0, 10.0, 10.0]),
                   np.array([[0.0], [10.0], [100.0], [100.5]]), np.array([[10.0], [20.0], [1010.0], [1020.025]]))
    finder = _SplitFinder(st, Questions())
    rep = cluster_bottom_up(finder.S, finder.objf, thresh=5.0)
    assert rep.tolist() == [0, 0, 2, 2]
    assert cluster_bottom_up(finder.S, finder.objf, thresh=1.0).tolist() == [0, 1, 2, 2]  # loss(0, 1) = 2.23
    assert cluster_bottom_up(finder.S, finder.objf, thresh=-1.0).tolist() == [0, 1, 2, 3]
    assert cluster_bottom_up(finder.S, finder.objf, thresh=1e9).tolist() == [0, 0, 0, 0]


# ----------------------------------------------------------------------------- init-model, convert-ali
def test_gmm_init_model_and_convert_ali(setup):
    topo, ctx, tm, utts, stats = setup
    qs = [[2, 3], [4, 5, 6, 7, 8, 9]] + [[p] for p in PHONES]
    tree = build_tree(stats, ROOTS, compile_questions(qs, topo), topo, thresh=50.0, max_leaves=40)
    new_tm, am, occs = gmm_init_model(tree, stats, topo)
    assert am.num_pdfs == tree.num_pdfs == new_tm.num_pdfs and am.num_gauss == tree.num_pdfs
    assert occs.sum() == pytest.approx(stats.count.sum())
    # each pdf's Gaussian is the pooled mean / variance of the frames that map to it
    feats_by_pdf: dict[int, list] = {}
    for _, f, a, phones in utts:
        new = convert_alignment(tm, new_tm, tree, a)
        assert new is not None and len(new) == len(a)
        # same phones, durations and HMM states; pdfs from the new tree's windows
        assert phone_segments(tm, a) == phone_segments(new_tm, new)
        np.testing.assert_array_equal(tm.tid2hmm_state[a], new_tm.tid2hmm_state[new])
        np.testing.assert_array_equal(tm.tid_is_self_loop[a], new_tm.tid_is_self_loop[new])
        for seg_i, seg in enumerate(phone_segments(new_tm, new)):
            win = [phones[seg_i - 1] if seg_i else 0, phones[seg_i],
                   phones[seg_i + 1] if seg_i + 1 < len(phones) else 0]
            for t in range(seg.start, seg.end):
                cls = topo.entry(phones[seg_i])[new_tm.tid2hmm_state[new[t]]].forward_pdf_class
                assert new_tm.tid2pdf[new[t]] == tree.compute(win, cls)
                feats_by_pdf.setdefault(int(new_tm.tid2pdf[new[t]]), []).append(f[t])
    for pdf, frames in feats_by_pdf.items():
        fr = np.array(frames)
        g = am.pdfs[pdf]
        np.testing.assert_allclose(g.means[0], fr.mean(0), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(g.vars[0], np.maximum(fr.var(0), 0.01), rtol=1e-4, atol=1e-4)
        assert occs[pdf] == len(fr)
    # an alignment that is not made of whole phones is refused
    assert convert_alignment(tm, new_tm, tree, utts[0][2][:-1]) is None


def test_draw_tree_text_lists_planted_context():
    topo = Topology.parse(TOPO)
    st = _planted_stats()
    q = compile_questions([[1, 2], [3, 4], [5]], topo)
    ctx = build_tree(st, Roots([[5]], [True], [True]), q, topo, thresh=0.0, max_leaves=2, cluster_thresh=0.0)
    names = {i: f"p{i}" for i in range(1, 10)}
    text = format_tree_leaves(ctx, PHONES, names=names, num_pdf_classes={p: topo.num_pdf_classes(p) for p in PHONES})
    lines = text.splitlines()
    assert len(lines) == 2
    assert any("left={p1 p2}" in ln and "right=*" in ln and "pdf-class=*" in ln for ln in lines), text
    assert any("left=not{p1 p2}" in ln for ln in lines), text
    assert isinstance(ctx, ContextDependency) and PDF_CLASS == -1
