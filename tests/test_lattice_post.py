"""lattice-to-post: per-frame transition-id posteriors from forward-backward over a lattice, checked
against brute-force enumeration of every path on small random lattices; the text archive round trip."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.decode.lattice import Lattice
from hybrid.decode.posterior import (alignment_posterior, lattice_posteriors, read_posteriors,
                                     write_posteriors)


def random_lattice(rng: np.random.Generator, num_states: int = 7, num_frames: int = 6, final_strings=True):
    """Acyclic lattice, states topologically numbered, every path num_frames long."""
    t = np.sort(rng.integers(0, num_frames + 1, size=num_states))
    t[0] = 0
    arcs = []  # (src, dst, word, g, a, string)
    for s in range(num_states):
        for d in range(s + 1, num_states):
            if rng.random() < 0.6:
                n = int(t[d] - t[s])
                arcs.append((s, d, int(rng.integers(0, 3)), float(rng.normal()), float(rng.normal(0, 3)),
                             rng.integers(1, 9, size=n).astype(np.int32)))
    fg = np.full(num_states, np.inf)
    fa = np.zeros(num_states)
    fstr = [np.zeros(0, np.int32) for _ in range(num_states)]
    for s in range(num_states):
        gap = num_frames - int(t[s])
        if gap == 0 or (final_strings and gap == 1):
            fg[s], fa[s] = rng.normal(), rng.normal()
            fstr[s] = rng.integers(1, 9, size=gap).astype(np.int32)
    arcs.sort(key=lambda x: x[0])
    arc_start = np.zeros(num_states + 1, np.int64)
    for a in arcs:
        arc_start[a[0] + 1] += 1
    lens = [len(a[5]) for a in arcs]
    fl = [len(x) for x in fstr]
    lat = Lattice(np.cumsum(arc_start), np.array([a[2] for a in arcs], np.int32), np.array([a[3] for a in arcs]),
                  np.array([a[4] for a in arcs]), np.array([a[1] for a in arcs], np.int64),
                  np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
                  np.concatenate([a[5] for a in arcs] + [np.zeros(0, np.int32)]).astype(np.int32), fg, fa,
                  np.concatenate([[0], np.cumsum(fl)]).astype(np.int64) if any(fl) else None,
                  np.concatenate(fstr).astype(np.int32) if any(fl) else None)
    return lat, arcs, fstr


def brute_force(lat, arcs, fstr, acoustic_scale, lm_scale):
    out: dict[tuple[int, int], float] = {}
    paths = []

    def dfs(s, cost, string):
        if np.isfinite(lat.final_graph[s]):
            paths.append((cost + lm_scale * lat.final_graph[s] + acoustic_scale * lat.final_acoustic[s],
                          string + list(fstr[s])))
        for a in arcs:
            if a[0] == s:
                dfs(a[1], cost + lm_scale * a[3] + acoustic_scale * a[4], string + list(a[5]))

    dfs(0, 0.0, [])
    if not paths:
        return None, None
    costs = np.array([c for c, _ in paths])
    total = np.logaddexp.reduce(-costs)
    for c, string in paths:
        p = np.exp(-c - total)
        for f, k in enumerate(string):
            out[(f, int(k))] = out.get((f, int(k)), 0.0) + p
    return out, total


@pytest.mark.parametrize("seed", range(30))
def test_lattice_posteriors_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    lat, arcs, fstr = random_lattice(rng, num_states=int(rng.integers(2, 9)), num_frames=int(rng.integers(1, 7)))
    ref, total = brute_force(lat, arcs, fstr, 0.1, 1.0)
    if ref is None:
        with pytest.raises(ValueError, match="no successful path"):
            lattice_posteriors(lat, 0.1)
        return
    (fr, tid, w), tot, nf = lattice_posteriors(lat, acoustic_scale=0.1)
    assert tot == pytest.approx(total, abs=1e-9)
    got = {(int(f), int(k)): float(x) for f, k, x in zip(fr, tid, w)}
    assert set(got) == set(ref)
    for k in ref:
        assert got[k] == pytest.approx(ref[k], abs=1e-9)
    # each frame's posteriors sum to one
    assert np.allclose(np.bincount(fr, weights=w, minlength=nf), 1.0)


def test_lm_scale_and_single_path():
    rng = np.random.default_rng(5)
    lat, arcs, fstr = random_lattice(rng, num_states=8, num_frames=5)
    ref, total = brute_force(lat, arcs, fstr, 0.5, 0.3)
    (fr, tid, w), tot, _ = lattice_posteriors(lat, acoustic_scale=0.5, lm_scale=0.3)
    got = {(int(f), int(k)): float(x) for f, k, x in zip(fr, tid, w)}
    assert tot == pytest.approx(total) and all(got[k] == pytest.approx(v) for k, v in ref.items())
    fr, tid, w = alignment_posterior(np.array([3, 3, 4]))
    assert fr.tolist() == [0, 1, 2] and tid.tolist() == [3, 3, 4] and w.tolist() == [1, 1, 1]


def test_unequal_path_lengths_are_refused():
    lat = Lattice(np.array([0, 2, 2, 2]), np.zeros(2, np.int32), np.zeros(2), np.zeros(2), np.array([1, 2]),
                  np.array([0, 1, 3]), np.array([1, 2, 3], np.int32), np.array([np.inf, 0.0, 0.0]), np.zeros(3))
    with pytest.raises(ValueError, match="different lengths"):
        lattice_posteriors(lat)


def test_posterior_archive_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    items = []
    for u in range(3):
        lat, _, _ = random_lattice(rng, num_states=6, num_frames=4)
        try:
            post, _, nf = lattice_posteriors(lat, 0.1)
        except ValueError:
            continue
        items.append((f"utt{u}", post, nf))
    items.append(("empty_frames", (np.array([1]), np.array([7], np.int32), np.array([1.0])), 3))
    write_posteriors(items, tmp_path / "post.txt")
    back = list(read_posteriors(tmp_path / "post.txt"))
    assert [b[0] for b in back] == [i[0] for i in items]
    for (_, (f1, t1, w1), n1), (_, (f2, t2, w2), n2) in zip(items, back):
        assert n1 == n2 and f1.tolist() == f2.tolist() and t1.tolist() == t2.tolist()
        np.testing.assert_allclose(w1, w2, rtol=1e-5)
    assert "empty_frames [ ] [ 7 1 ] [ ]" in (tmp_path / "post.txt").read_text()
    (tmp_path / "bad.txt").write_text("u1 [ 1 0.5 ] 3\n")
    with pytest.raises(ValueError, match="bad.txt:1: bad posterior for utterance u1"):
        list(read_posteriors(tmp_path / "bad.txt"))


def _tiny_model(tmp_path, rng):
    from pathlib import Path

    from hybrid.gmm import init_mono, write_model
    from hybrid.hmm import Topology

    topo = Topology.parse((Path(__file__).parent / "fixtures" / "topo_small.txt").read_text())
    _, tm, am = init_mono(topo, 3, [[1], [2, 3], [4], [5], [6], [7], [8], [9]])
    for g in am.pdfs:
        g.split(2, 0.5, rng)
    am.invalidate()
    write_model(tmp_path / "final.mdl", tm, am)
    return tm, am


def test_post_to_pdf_weights_merges_pdfs_and_weights_silence():
    from hybrid.transform import ali_to_pdf_weights, post_to_pdf_weights

    rng = np.random.default_rng(3)
    import tempfile
    from pathlib import Path

    tm, _ = _tiny_model(Path(tempfile.mkdtemp()), rng)
    ali = rng.integers(1, tm.num_transition_ids + 1, 30)
    # one-hot posteriors = alignments
    f, p, w = post_to_pdf_weights(tm, *alignment_posterior(ali), [1], 0.1, merge=False)
    p2, w2 = ali_to_pdf_weights(tm, ali, [1], 0.1)
    assert p.tolist() == p2.tolist() and np.allclose(w, w2)
    # two transition-ids of one pdf on a frame are summed; silence entries scaled
    same = [t for t in range(1, tm.num_transition_ids + 1) if tm.tid2pdf[t] == tm.tid2pdf[ali[0]]]
    fr = np.array([0, 0, 1])
    tid = np.array([same[0], same[-1], ali[1]])
    f, p, w = post_to_pdf_weights(tm, fr, tid, np.array([0.25, 0.5, 1.0]), [1], 0.1)
    scale = [0.1 if tm.tid2phone[t] == 1 else 1.0 for t in tid]
    if len(same) > 1:
        assert f.tolist() == [0, 1] and w[0] == pytest.approx(0.75 * scale[0])
    assert w[-1] == pytest.approx(scale[2])


def test_gmm_est_fmllr_from_posteriors_equals_alignments_for_one_hot(tmp_path):
    from click.testing import CliRunner

    from hybrid.cli import main
    from hybrid.io import read_table, write_ali_ark, write_table

    rng = np.random.default_rng(4)
    tm, am = _tiny_model(tmp_path, rng)
    alis, feats = {}, {}
    for u in range(4):
        ali = rng.integers(1, tm.num_transition_ids + 1, 60).astype(np.int32)
        alis[f"u{u}"] = ali
        feats[f"u{u}"] = (rng.standard_normal((60, 3)) * 2 + 1).astype(np.float32)
    write_table(feats, tmp_path / "feats.ark")
    write_ali_ark(alis, tmp_path / "ali.gz")
    write_posteriors([(u, alignment_posterior(a), len(a)) for u, a in alis.items()], tmp_path / "post.txt")
    (tmp_path / "spk2utt").write_text("s1 u0 u1\ns2 u2 u3\n")
    outs = []
    for name, inp in (("a", [str(tmp_path / "ali.gz")]), ("p", ["--posteriors", str(tmp_path / "post.txt")])):
        r = CliRunner().invoke(main, ["gmm-est-fmllr", f"--spk2utt=ark:{tmp_path / 'spk2utt'}", "--fmllr-min-count",
                                      "10", "--silence-phones", "1", "--silence-weight", "0.01",
                                      str(tmp_path / "final.mdl"), f"ark:{tmp_path / 'feats.ark'}", *inp,
                                      f"ark:{tmp_path / name}.trans"])
        assert r.exit_code == 0, r.output
        outs.append(read_table(tmp_path / f"{name}.trans"))
    assert set(outs[0]) == {"s1", "s2"}
    for k in outs[0]:
        assert not np.allclose(outs[0][k][:, :3], np.eye(3))
        np.testing.assert_allclose(outs[1][k], outs[0][k], rtol=1e-4, atol=1e-5)
    # a posterior of the wrong length is reported and the utterance not used
    bad = dict(alis)
    bad["u1"] = bad["u1"][:-5]
    write_posteriors([(u, alignment_posterior(a), len(a)) for u, a in bad.items()], tmp_path / "bad.txt")
    r = CliRunner().invoke(main, ["gmm-est-fmllr", f"--spk2utt=ark:{tmp_path / 'spk2utt'}", "--fmllr-min-count", "10",
                                  str(tmp_path / "final.mdl"), f"ark:{tmp_path / 'feats.ark'}", "--posteriors",
                                  str(tmp_path / "bad.txt"), f"ark:{tmp_path / 'b.trans'}"])
    assert r.exit_code == 0 and "wrong size 55 vs. 60 for utterance u1" in r.output


# ------------------------------------------------------------------------------ acoustic like, binary, CLIs
def test_acoustic_like_equals_brute_force():
    from hybrid.decode.posterior import lattice_forward_backward

    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(10):
        lat, arcs, fstr = random_lattice(rng, num_states=6, num_frames=4)
        paths = []

        def dfs(s, cost, ac):
            if np.isfinite(lat.final_graph[s]):
                paths.append((cost + lat.final_graph[s] + 0.1 * lat.final_acoustic[s], ac + lat.final_acoustic[s]))
            for a in arcs:
                if a[0] == s:
                    dfs(a[1], cost + a[3] + 0.1 * a[4], ac + a[4])

        dfs(0, 0.0, 0.0)
        if not paths:
            continue
        c = np.array([p[0] for p in paths])
        p = np.exp(-c - np.logaddexp.reduce(-c))
        r = lattice_forward_backward(lat, 0.1)
        assert r.acoustic_like == pytest.approx(-0.1 * float(np.dot(p, [q[1] for q in paths])), abs=1e-9)
        checked += 1
    assert checked >= 5


def _kaldi_binary(utt, frames_list):
    """Kaldi's binary Posterior, written out by hand (WriteBasicType: size byte 4, then the value)."""
    import struct

    b = utt.encode() + b" \0B" + b"\x04" + struct.pack("<i", len(frames_list))
    for fr in frames_list:
        b += b"\x04" + struct.pack("<i", len(fr))
        for tid, w in fr:
            b += b"\x04" + struct.pack("<i", tid) + b"\x04" + struct.pack("<f", w)
    return b


def test_binary_posterior_archive_matches_kaldi_layout(tmp_path):
    frames_list = [[(3, 0.25), (7, 0.75)], [], [(2, 1.0)]]
    post = (np.array([0, 0, 2]), np.array([3, 7, 2], np.int32), np.array([0.25, 0.75, 1.0]))
    write_posteriors([("a", post, 3), ("b", (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0)), 2)],
                     f"ark:{tmp_path / 'p.ark'}")
    assert (tmp_path / "p.ark").read_bytes() == _kaldi_binary("a", frames_list) + _kaldi_binary("b", [[], []])
    # gzip, text and binary mixed in one archive, ark,t: prefix; all read back the same
    write_posteriors([("a", post, 3)], f"ark:{tmp_path / 'p.ark.gz'}")
    write_posteriors([("a", post, 3)], f"ark,t:{tmp_path / 'p.txt'}")
    assert (tmp_path / "p.txt").read_text() == "a [ 3 0.25 7 0.75 ] [ ] [ 2 1 ]\n"
    mixed = tmp_path / "mixed.ark"
    mixed.write_bytes(_kaldi_binary("a", frames_list) + b"t [ 5 1 ]\n" + _kaldi_binary("c", [[(4, 0.5)]]))
    for spec in (f"ark:{tmp_path / 'p.ark'}", str(tmp_path / "p.ark.gz"), f"ark,s,cs:{tmp_path / 'p.txt'}"):
        u, (f, t, w), n = next(iter(read_posteriors(spec)))
        assert (u, n, f.tolist(), t.tolist()) == ("a", 3, [0, 0, 2], [3, 7, 2]) and np.allclose(w, post[2])
    got = [(u, n, t.tolist()) for u, (_, t, _), n in read_posteriors(mixed)]
    assert got == [("a", 3, [3, 7, 2]), ("t", 1, [5]), ("c", 1, [4])]
    mixed.write_bytes(_kaldi_binary("a", frames_list)[:-3])
    with pytest.raises(ValueError, match="bad posterior for utterance a"):
        list(read_posteriors(mixed))


def test_weight_silence_post_plain_and_distributed():
    from hybrid.decode.posterior import weight_silence_post

    tid2phone = np.array([0, 1, 1, 2, 3, 3])  # tids 1..5; phones 1 and 3 silent below
    post = (np.array([0, 0, 1, 1, 2]), np.array([1, 3, 2, 4, 3], np.int32), np.array([0.5, 0.5, 0.6, 0.4, 1.0]))
    f, t, w = weight_silence_post(post, tid2phone, [1, 3], 0.1)
    assert f.tolist() == [0, 0, 1, 1, 2] and np.allclose(w, [0.05, 0.5, 0.06, 0.04, 1.0])
    f, t, w = weight_silence_post(post, tid2phone, [1, 3], 0.0)  # zero weight: entries dropped
    assert t.tolist() == [3, 3] and f.tolist() == [0, 2]
    f, t, w = weight_silence_post(post, tid2phone, [1], 0.1, distribute=True)
    # frame 0: p_sil 0.5 -> scale 0.55; frame 1: all silence (phone 1) 0.6 of 1 -> 0.64; frame 2: 1
    assert np.allclose(w, [0.5 * 0.55, 0.5 * 0.55, 0.6 * 0.46, 0.4 * 0.46, 1.0])
    with pytest.raises(ValueError, match="outside the model"):
        weight_silence_post((np.array([0]), np.array([9]), np.array([1.0])), tid2phone, [1], 0.1)


def test_cli_lattice_to_post_prune_and_weight_silence(tmp_path):
    from click.testing import CliRunner

    from hybrid.cli import main
    from hybrid.decode.lattice import lattice_best_path, write_lattices

    rng = np.random.default_rng(8)
    tm, _ = _tiny_model(tmp_path, rng)
    lats = []
    while len(lats) < 3:
        lat, _, _ = random_lattice(rng, num_states=7, num_frames=5, final_strings=False)
        lat.ali[:] = rng.integers(1, tm.num_transition_ids + 1, len(lat.ali))
        lat.word[:] = np.arange(1, lat.num_arcs + 1)  # distinct words: every path its own word sequence
        if lattice_best_path(lat, 1.0, 0.1) is not None:
            lats.append((f"u{len(lats)}", lat))
    write_lattices(lats, tmp_path / "lat.gz")
    run = CliRunner().invoke
    r = run(main, ["lattice-to-post", "--acoustic-scale=0.1", str(tmp_path / "lat.gz"), f"ark:{tmp_path}/post"])
    assert r.exit_code == 0 and "Overall average log-like/frame is" in r.output, r.output
    assert "Average acoustic like/frame is" in r.output and "Done 3 lattices" in r.output
    back = {u: (p, n) for u, p, n in read_posteriors(f"ark:{tmp_path}/post")}
    for u, lat in lats:
        (f, t, w), _, n = lattice_posteriors(lat, 0.1)
        assert back[u][1] == n and back[u][0][1].tolist() == t.tolist()
        np.testing.assert_allclose(back[u][0][2], w, rtol=1e-6)
    # pruned at a tiny beam (0 can lose the best path to float rounding): only the best path is left;
    # its posteriors are its alignment, one-hot
    r = run(main, ["lattice-determinize-pruned", "--acoustic-scale=0.1", "--beam=1e-4", str(tmp_path / "lat.gz"),
                   str(tmp_path / "pruned.gz")])
    assert r.exit_code == 0, r.output
    r = run(main, ["lattice-to-post", "--acoustic-scale=0.1", str(tmp_path / "pruned.gz"), f"ark,t:{tmp_path}/p1"])
    assert r.exit_code == 0, r.output
    one = {u: p for u, p, _ in read_posteriors(tmp_path / "p1")}
    for u, lat in lats:
        bp = lattice_best_path(lat, 1.0, 0.1)
        f, t, w = one[u]
        assert t.tolist() == bp.alignment and f.tolist() == list(range(len(bp.alignment)))
        np.testing.assert_allclose(w, 1.0, rtol=1e-6)
    # weight-silence-post through the model's transition-ids: phone 1 is silence
    r = run(main, ["weight-silence-post", "0.1", "1", str(tmp_path / "final.mdl"), f"ark:{tmp_path}/post",
                   f"ark,t:{tmp_path}/wpost"])
    assert r.exit_code == 0 and "Done 3 posteriors" in r.output, r.output
    for (u, (f, t, w), _), (_, (f0, t0, w0), _) in zip(read_posteriors(tmp_path / "wpost"),
                                                        read_posteriors(f"ark:{tmp_path}/post")):
        expect = np.where(tm.tid2phone[t0] == 1, 0.1, 1.0) * w0
        assert t.tolist() == t0.tolist()
        np.testing.assert_allclose(w, expect, rtol=1e-5)
