"""Chain training pipeline on a tiny synthetic corpus: chain topology + left-biphone tree (built by
the tree code from alignments converted with frame subsampling 3), alignment conversion, den
graph, chain egs, LF-MMI training through the TDNN trainer (objective decreases, Kaldi-style
logs read by plot-accuracy), and chain decoding (acoustic scale 1.0, lattices scaled by 10)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hybrid.chain.topo import chain_topo_text, convert_alignment_chain, new_phone_lengths, phone_path
from hybrid.hmm import Topology, TransitionModel, phone_segments, split_to_phones
from hybrid.io import write_ali_ark, write_mats_ark_scp
from hybrid.tree import monophone_context_dependency_shared

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()
DIM = 6
torch.set_num_threads(1)
PHONES = list(range(1, 10))
CHAIN_RE = re.compile(r"Overall ([a-zA-Z\-]+) for '(output(?:-xent)?)'.*is ([0-9.\-e]+) .*per frame")


def _gmm_tm() -> TransitionModel:
    topo = Topology.parse(TOPO)
    ctx = monophone_context_dependency_shared([[p] for p in topo.phones], {p: topo.num_pdf_classes(p) for p in topo.phones})
    return TransitionModel.from_context_dependency(topo, ctx)


def _alignment(tm: TransitionModel, phones: list[int], rng) -> list[int]:
    """Left-to-right GMM alignment (non-reordered: self-loops before the forward transition)."""
    tids = []
    for ph in phones:
        for s in range(5 if ph == 1 else 3):
            ts = next(k + 1 for k, t in enumerate(tm.tuples) if t.phone == ph and t.hmm_state == s)
            fwd = next(t for t in tm.tstate_tids(ts) if tm.tid2dst[t] == s + 1)
            d = int(rng.integers(1, 4))
            tids += [tm.self_loop_tid(ts)] * (d - 1) + [fwd]
    return tids


def _chain_tm(ctx, num_states=1) -> TransitionModel:
    return TransitionModel.from_context_dependency(Topology.parse(chain_topo_text(PHONES[1:], [1], num_states)), ctx)


# ------------------------------------------------------------------ topology and conversion
def test_chain_topology_text_and_min_length():
    t1 = Topology.parse(chain_topo_text([2, 3], [1]))
    assert t1.num_pdf_classes(2) == 2 and not t1.is_hmm() and t1.min_length(1) == 1
    st = t1.entry(3)[0]
    assert (st.forward_pdf_class, st.self_loop_pdf_class) == (0, 1)
    t2 = Topology.parse(chain_topo_text([2, 3], [1], num_states=2))
    assert t2.is_hmm() and t2.num_pdf_classes(2) == 2 and t2.min_length(2) == 1
    # both emit pdf-class 0 then 1, 1, ... (reordered): same frames per class
    for topo in (t1, t2):
        for L in (1, 2, 5):
            path = phone_path(topo.entry(2), L)
            assert len(path) == L
    with pytest.raises(ValueError):
        chain_topo_text([2], [1], num_states=3)


def test_new_phone_lengths_borrow_like_kaldi():
    assert new_phone_lengths([1] * 3, [3, 3, 3], 3) == [1, 1, 1]
    assert new_phone_lengths([1] * 4, [3, 1, 1, 7], 3) == [1, 1, 1, 1]  # [1,1,0,2] borrows from the right
    assert new_phone_lengths([1] * 4, [1, 1, 1, 6], 3) is None  # 4 phones, 3 output frames
    assert new_phone_lengths([1] * 2, [5, 4], 1) == [5, 4]
    rng = np.random.default_rng(3)
    for _ in range(50):
        old = list(rng.integers(1, 12, size=rng.integers(1, 8)))
        new = new_phone_lengths([1] * len(old), old, 3)
        T = sum(old)
        if new is None:
            assert len(old) > (T + 2) // 3
            continue
        assert sum(new) == (T + 2) // 3 and min(new) >= 1


def test_convert_alignment_to_chain_subsampled_keeps_phones_and_durations():
    gmm = _gmm_tm()
    mono = monophone_context_dependency_shared([[p] for p in PHONES], {p: 2 for p in PHONES})
    chain = _chain_tm(mono)
    assert chain.tuples and all(t.forward_pdf != t.self_loop_pdf for t in chain.tuples)
    rng = np.random.default_rng(1)
    for _ in range(10):
        phones = [1] + list(rng.integers(2, 10, size=5)) + [1]
        ali = _alignment(gmm, phones, rng)
        new = convert_alignment_chain(gmm, chain, mono, ali, subsampling=3)
        assert new is not None and len(new) == (len(ali) + 2) // 3
        old_segs = phone_segments(gmm, ali)
        new_segs = phone_segments(chain, new)
        assert [s.label for s in new_segs] == [s.label for s in old_segs] == phones
        for o, n in zip(old_segs, new_segs):
            assert abs(n.start * 3 - o.start) <= 3 and abs(n.length * 3 - o.length) <= 6
        # reordered: each phone starts with its forward transition (pdf-class 0), then self-loops
        pieces, ok = split_to_phones(chain, new)
        assert ok
        for p in pieces:
            assert not chain.tid_is_self_loop[p[0]] and all(chain.tid_is_self_loop[t] for t in p[1:])
        # full rate (f=1) keeps every length
        full = convert_alignment_chain(gmm, chain, mono, ali, subsampling=1)
        assert [(s.label, s.start, s.length) for s in phone_segments(chain, full)] == \
            [(s.label, s.start, s.length) for s in old_segs]


# ------------------------------------------------------------------ corpus, tree, den graph, egs
@pytest.fixture(scope="module")
def chain_setup(tmp_path_factory):
    """Synthetic corpus (GMM alignments), left-biphone tree built from alignments converted to
    the chain topology with subsampling 3, tree-dir alignments (full rate), den.fst, egs."""
    from hybrid.chain.egs import prepare_chain_egs
    from hybrid.chain.hmm import PhoneHmms
    from hybrid.chain.kaldifst_io import write_den_fst
    from hybrid.chain.phone_lm import denominator_fsa, estimate_phone_lm
    from hybrid.chain.topo import subsample_feats
    from hybrid.tree.build import Roots, build_tree
    from hybrid.tree.questions import cluster_phones, compile_questions
    from hybrid.tree.stats import TreeStatsAccumulator

    root = tmp_path_factory.mktemp("chain")
    gmm = _gmm_tm()
    rng = np.random.default_rng(0)
    means = rng.normal(0, 1.5, size=(gmm.num_pdfs, DIM)).astype(np.float32)
    feats, alis, utt2spk = {}, {}, {}
    for s in range(4):
        for u in range(8):
            utt = f"spk{s}-u{u}"
            phones = [1] + list(rng.integers(2, 10, size=int(rng.integers(8, 16)))) + [1]
            tids = _alignment(gmm, phones, rng)
            pdfs = gmm.tid2pdf[np.array(tids)]
            feats[utt] = (means[pdfs] + 0.3 * rng.normal(size=(len(tids), DIM))).astype(np.float32)
            alis[utt], utt2spk[utt] = np.array(tids, dtype=np.int32), f"spk{s}"
    data = root / "data"
    data.mkdir()
    keys = sorted(feats)
    write_mats_ark_scp(((k, feats[k]) for k in keys), data / "feats.ark", data / "feats.scp")
    (data / "utt2spk").write_text("".join(f"{k} {utt2spk[k]}\n" for k in keys))
    # tree: stats on subsampled features with alignments converted to the chain mono model
    mono = monophone_context_dependency_shared([[p] for p in PHONES], {p: 2 for p in PHONES})
    chain_topo = Topology.parse(chain_topo_text(PHONES[1:], [1]))
    mono_tm = TransitionModel.from_context_dependency(chain_topo, mono)
    acc = TreeStatsAccumulator(mono_tm, 2, 1, [], 0.01)
    for k in keys:
        a = convert_alignment_chain(gmm, mono_tm, mono, alis[k], subsampling=3)
        assert acc.accumulate(subsample_feats(feats[k], 3), a, k)
    stats = acc.result()
    qs = cluster_phones(stats, [[p] for p in PHONES], [1])
    questions = compile_questions(qs, chain_topo, 2)
    ctx = build_tree(stats, Roots([[p] for p in PHONES], [True] * 9, [True] * 9), questions, chain_topo,
                     thresh=0.0, max_leaves=40)
    tm = TransitionModel.from_context_dependency(chain_topo, ctx)
    tree_dir = root / "tree"
    tree_dir.mkdir()
    ctx.write(tree_dir / "tree")
    (tree_dir / "final.mdl").write_text(tm.to_text())
    tree_alis = {k: convert_alignment_chain(gmm, tm, ctx, alis[k], subsampling=1) for k in keys}
    write_ali_ark(tree_alis, tree_dir / "ali.1.gz")
    seqs = [[s.label for s in phone_segments(tm, a)] for a in tree_alis.values()]
    lm = estimate_phone_lm(seqs, num_extra_lm_states=50)
    den = denominator_fsa(lm, PhoneHmms.from_tree(tm.topo, ctx))
    write_den_fst(den, root / "den.fst")
    info = prepare_chain_egs(data, tree_dir, root / "den.fst", root / "egs", chunk_width=45, cmvn=False,
                             num_utts_subset=8, valid_fraction=0.25, seed=1)
    return {"root": root, "tm": tm, "ctx": ctx, "info": info, "feats": feats, "alis": tree_alis, "keys": keys,
            "data": data, "tree_dir": tree_dir}


def test_tree_and_transition_model_have_separate_self_loop_pdfs(chain_setup):
    tm, ctx = chain_setup["tm"], chain_setup["ctx"]
    assert (ctx.context_width, ctx.central_position) == (2, 1)
    assert "<Tuples>" in tm.to_text()  # Kaldi writes 4-tuples when forward != self-loop pdf
    assert any(t.forward_pdf != t.self_loop_pdf for t in tm.tuples)
    # left context matters: some phone has different pdfs after different left phones
    assert any(len({ctx.compute((l, p), 0) for l in PHONES}) > 1 for p in PHONES)
    loops = np.nonzero(tm.tid_is_self_loop)[0]
    for tid in loops:
        t = tm.tuples[tm.tid2tstate[tid] - 1]
        assert tm.tid2pdf[tid] == t.self_loop_pdf
    from hybrid.io.kaldi_text import KaldiTextReader

    back = TransitionModel.parse_reader(KaldiTextReader.from_file(chain_setup["tree_dir"] / "final.mdl"))
    assert back.tuples == tm.tuples and np.array_equal(back.tid2pdf, tm.tid2pdf)


def test_chain_egs_numerators_are_inside_den(chain_setup):
    from hybrid.chain.egs import ChainChunkDataset, ChainEgsSet, load_den_graph
    from hybrid.chain.loss import ChainOptions, chain_objective, prepare_den_graph

    info = chain_setup["info"]
    egs_dir = chain_setup["root"] / "egs"
    assert info["frames_per_chunk_out"] == 15 and info["num_chunks"]["train"] > 20
    assert json.loads((egs_dir / "info.json").read_text())["num_pdfs"] == chain_setup["ctx"].num_pdfs
    egs = ChainEgsSet.load(egs_dir / "train")
    ds = ChainChunkDataset(egs, 15, 3, 4, 5)
    x, num = ds[np.arange(6)]
    assert x.shape == (6, 45 + 9, DIM) and num.num_sequences == 6 and num.num_frames == 15
    # the chunk's input frames are the utterance's (edge-repeated outside it)
    u, s = (int(v) for v in egs.chunks[0][:2])
    utt = egs.utts[u]
    f = chain_setup["feats"][utt]
    idx = np.clip(np.arange(s * 3 - 4, s * 3 + 45 + 5), 0, len(f) - 1)
    np.testing.assert_allclose(x[0].numpy(), f[idx], rtol=0, atol=0)
    den = prepare_den_graph(load_den_graph(egs_dir / "den.npz"), num_pdfs=info["num_pdfs"], dtype=torch.float64)
    y = torch.randn(6, 15, info["num_pdfs"], dtype=torch.float64)
    res = chain_objective(y, den, num.to("cpu"), ChainOptions(leaky_hmm_coefficient=1e-5))
    assert res.ok and res.objf < 0


def test_tiny_chain_training_improves_and_logs(chain_setup, tmp_path):
    from hybrid.chain.loss import ChainOptions
    from hybrid.chain.train import load_chain_model, train_chain
    from hybrid.cli import main
    from hybrid.nnet.model import TdnnConfig
    from hybrid.nnet.plot import read_diagnostics
    from hybrid.nnet.train import TrainOptions

    egs_dir = chain_setup["root"] / "egs"
    d = tmp_path / "chain"
    cfg = TdnnConfig(hidden_dim=32, splices="-1,0,1 -1,0,1", time_strides="0,3", bottleneck_dim=12,
                     prefinal_bottleneck_dim=16)
    opts = TrainOptions(num_epochs=6, initial_effective_lrate=0.01, final_effective_lrate=0.002, minibatch_size=8,
                        chunk_width=45, frames_per_iter=2000, num_workers=0, max_models_combine=3)
    summary = train_chain(egs_dir, d, cfg, opts, ChainOptions(xent_regularize=0.1, l2_regularize=5e-5))
    assert summary["finished"] and (d / "final.pt").exists()
    first = dict(((m[0], m[1]), float(m[2])) for m in CHAIN_RE.findall((d / "log" / "compute_prob_train.0.log").read_text()))
    final = dict(((m[0], m[1]), float(m[2])) for m in CHAIN_RE.findall((d / "log" / "compute_prob_train.final.log").read_text()))
    valid = dict(((m[0], m[1]), float(m[2])) for m in CHAIN_RE.findall((d / "log" / "compute_prob_valid.final.log").read_text()))
    key, xkey = ("log-probability", "output"), ("log-probability", "output-xent")
    print("compute_prob train 0 / final, valid final:", first, final, valid)
    assert final[key] > first[key] + 0.2, (first, final)
    assert final[xkey] > first[xkey] + 0.3, (first, final)
    assert valid[key] > first[key]
    assert all(v <= 1e-3 for v in final.values())  # log-probabilities: num within den
    train_log = (d / "log" / "train.0.log").read_text()
    assert "Overall average objective function for 'output' is" in train_log and "'output-xent'" in train_log
    # plot-accuracy reads the chain logs ('output' lines only, no accuracy)
    pts = read_diagnostics(d)
    assert {p.set for p in pts} == {"train", "valid"} and all(math.isfinite(p.objective) for p in pts)
    r = CliRunner().invoke(main, ["plot-accuracy", "--format", "tsv", str(d)])
    assert r.exit_code == 0 and "final" in r.output
    ckpt = torch.load(d / "final.pt", weights_only=False)
    assert "log_priors" not in ckpt and ckpt["frame_subsampling_factor"] == 3
    model = load_chain_model(d / "final.pt")
    assert model.f == 3 and model.has_xent
    chain_setup["model_dir"] = d


def _word_loop_graph(tm: TransitionModel, ctx) -> str:
    """HCLG text of a word loop where word w = phone w (1-state chain HMM, reordered self-loops,
    self-loop-scale 1.0 with zero transition costs): the first frame of a word is the forward
    transition-id of (left phone, phone), further frames its self-loop. Left context = previous
    word; state = (last phone)."""
    lines = []
    state_of = {}

    def st(key):
        if key not in state_of:
            state_of[key] = len(state_of)
        return state_of[key]

    st(("start", 0))
    for left in [0] + PHONES:
        src = st(("start", 0)) if left == 0 else st(("after", left))
        for p in PHONES:
            fwd = ctx.compute((left, p), 0)
            slf = ctx.compute((left, p), 1)
            ts = tm.tstate_of(p, 0, fwd, slf)
            tids = list(tm.tstate_tids(ts))
            loop = next(t for t in tids if tm.tid_is_self_loop[t])
            out = next(t for t in tids if not tm.tid_is_self_loop[t])
            dst = st(("after", p))
            lines.append(f"{src} {dst} {out} {p} 0.5")
            lines.append(f"{dst} {dst} {loop} 0 0")
    for key, s in state_of.items():
        if key[0] == "after":
            lines.append(f"{s} 0")
    return "\n".join(lines) + "\n"


def test_chain_decoding_end_to_end(chain_setup, tmp_path):
    kaldifst = pytest.importorskip("kaldifst")
    from hybrid.chain.train import compute_chain_output, load_chain_model
    from hybrid.cli import main
    from hybrid.decode.lattice import iter_lattices
    from hybrid.io import write_table

    d = chain_setup.get("model_dir")
    if d is None:
        pytest.skip("needs the model of test_tiny_chain_training_improves_and_logs")
    tm, ctx = chain_setup["tm"], chain_setup["ctx"]
    model = load_chain_model(d / "final.pt")
    keys = chain_setup["keys"][:4]
    out = {k: compute_chain_output(model, chain_setup["feats"][k]) for k in keys}
    for k in keys:
        assert out[k].shape == ((len(chain_setup["feats"][k]) + 2) // 3, ctx.num_pdfs)
    write_table(out, tmp_path / "out.ark")
    (tmp_path / "final.mdl").write_text(tm.to_text())
    kaldifst.compile(_word_loop_graph(tm, ctx)).write(str(tmp_path / "HCLG.fst"))
    (tmp_path / "words.txt").write_text("<eps> 0\n" + "".join(f"w{p} {p}\n" for p in PHONES))
    r = CliRunner().invoke(main, ["latgen-faster-mapped", "--acoustic-scale", "1.0", "--beam", "15",
                                  "--lattice-beam", "8", str(tmp_path / "final.mdl"), str(tmp_path / "HCLG.fst"),
                                  f"ark:{tmp_path / 'out.ark'}", f"ark:{tmp_path / 'lat.1.gz'}",
                                  f"ark,t:{tmp_path / 'words.txt.1'}"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["lattice-scale", "--acoustic-scale", "10", str(tmp_path / "lat.1.gz"),
                                  str(tmp_path / "lat.s.1.gz")])
    assert r.exit_code == 0, r.output
    a = dict(iter_lattices(str(tmp_path / "lat.1.gz")))
    b = dict(iter_lattices(str(tmp_path / "lat.s.1.gz")))
    assert set(a) == set(b) == set(keys)
    for k in keys:
        np.testing.assert_allclose(b[k].acoustic, 10 * a[k].acoustic, rtol=1e-6)
        np.testing.assert_allclose(b[k].graph, a[k].graph)
    # LMWT 10 on the scaled lattices = acoustic scale 1.0: best paths are the phone sequences
    r = CliRunner().invoke(main, ["lattice-best-path", "--acoustic-scale", "0.1", str(tmp_path / "lat.s.1.gz"),
                                  f"ark,t:{tmp_path / 'best.txt'}"])
    assert r.exit_code == 0, r.output
    hyp = {ln.split()[0]: [int(w) for w in ln.split()[1:]] for ln in (tmp_path / "best.txt").read_text().splitlines()}
    import kaldialign

    errs = tot = 0
    for k in keys:
        ref = [s.label for s in phone_segments(tm, chain_setup["alis"][k])]
        errs += kaldialign.edit_distance(ref, hyp[k])["total"]
        tot += len(ref)
    print(f"chain decode: {errs} errors / {tot} phones")
    assert errs / tot < 0.5, (errs, tot)


def test_score_fusion_decodes_the_average_of_the_models(chain_setup, tmp_path):
    """steps/nnet/decode_score_fusion.sh: the fused scores are the frame-by-frame mean of each model's
    chain output (numpy mean of compute_chain_output as the oracle), and fusing a model with itself
    gives the lattices of steps/nnet/decode.sh on that model."""
    import shutil

    kaldifst = pytest.importorskip("kaldifst")
    from hybrid.chain.train import compute_chain_output, load_chain_model
    from hybrid.decode.lattice import iter_lattices
    from hybrid.io import read_table

    from test_train_deltas import run

    d = chain_setup.get("model_dir")
    if d is None:
        pytest.skip("needs the model of test_tiny_chain_training_improves_and_logs")
    repo = Path(__file__).resolve().parent.parent
    (tmp_path / "steps").symlink_to(repo / "steps")
    (tmp_path / "utils").symlink_to(repo / "utils")
    tm, ctx = chain_setup["tm"], chain_setup["ctx"]
    keys = chain_setup["keys"][:6]
    data = tmp_path / "data"
    data.mkdir()
    (data / "feats.scp").write_text("".join(ln + "\n" for ln in (chain_setup["data"] / "feats.scp").read_text()
                                            .splitlines() if ln.split()[0] in keys))
    (data / "utt2spk").write_text("".join(f"{k} {k}\n" for k in keys))
    (data / "spk2utt").write_text("".join(f"{k} {k}\n" for k in keys))
    graph = tmp_path / "graph"
    graph.mkdir()
    kaldifst.compile(_word_loop_graph(tm, ctx)).write(str(graph / "HCLG.fst"))
    (graph / "words.txt").write_text("<eps> 0\n" + "".join(f"w{p} {p}\n" for p in PHONES))
    models = []
    for i, noise in enumerate((0.0, 0.05)):
        m = tmp_path / f"m{i}"
        m.mkdir()
        ckpt = torch.load(d / "final.pt", weights_only=False)
        g = torch.Generator().manual_seed(i)
        ckpt["model"] = {k: (v + noise * torch.randn(v.shape, generator=g) if v.is_floating_point() and v.dim() > 1
                             else v) for k, v in ckpt["model"].items()}
        torch.save(ckpt, m / "final.pt")
        (m / "final.mdl").write_text(tm.to_text())
        ctx.write(m / "tree")
        (m / "frame_subsampling_factor").write_text("3\n")
        (m / "cmvn_opts").write_text("--norm-means=false --norm-vars=false\n")
        models.append(m)
    opts = "--nj 2 --skip-scoring true --keep-loglikes true"
    run(f"steps/nnet/decode_score_fusion.sh {opts} graph data m0 m1 fused/decode", tmp_path)
    fused = {}
    for j in (1, 2):
        fused.update(read_table(tmp_path / "fused" / "decode" / f"loglikes.{j}.ark"))
    assert set(fused) == set(keys)
    for k in keys:
        outs = [compute_chain_output(load_chain_model(m / "final.pt"), chain_setup["feats"][k]) for m in models]
        assert not np.allclose(outs[0], outs[1], atol=1e-3)
        np.testing.assert_allclose(fused[k], (outs[0] + outs[1]) / 2, rtol=1e-4, atol=1e-4)
    assert (tmp_path / "fused" / "decode" / "lat.1.gz").is_file()
    # a model fused with itself decodes as the model alone
    shutil.copytree(models[0], tmp_path / "m0b")
    run(f"steps/nnet/decode_score_fusion.sh {opts} graph data m0 m0b self/decode", tmp_path)
    run(f"steps/nnet/decode.sh {opts} --model-type chain --acwt 1.0 --post-decode-acwt 10.0 graph data m0/decode",
        tmp_path)
    for j in (1, 2):
        a = dict(iter_lattices(str(tmp_path / "self" / "decode" / f"lat.{j}.gz")))
        b = dict(iter_lattices(str(tmp_path / "m0" / "decode" / f"lat.{j}.gz")))
        assert set(a) == set(b) and a
        for k in a:
            np.testing.assert_allclose(a[k].acoustic, b[k].acoustic, rtol=1e-6)
            np.testing.assert_allclose(a[k].graph, b[k].graph)
    # models on different trees are refused
    (models[1] / "tree").write_bytes(b"other")
    with pytest.raises(AssertionError, match="different trees"):
        run(f"steps/nnet/decode_score_fusion.sh {opts} graph data m0 m1 bad/decode", tmp_path)


def test_matrix_sum_averages_and_reports_missing_keys(tmp_path):
    from hybrid.cli import main
    from hybrid.io import read_table, write_table

    rng = np.random.default_rng(0)
    a = {f"u{i}": rng.normal(size=(4 + i, 3)).astype(np.float32) for i in range(3)}
    b = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in a.items() if k != "u1"}
    b["u2"] = b["u2"][:-1]
    write_table(a, tmp_path / "a.ark")
    write_table(b, tmp_path / "b.ark")
    r = CliRunner().invoke(main, ["matrix-sum", "--average=true", f"ark:{tmp_path / 'a.ark'}",
                                  f"ark:{tmp_path / 'b.ark'}", f"ark:{tmp_path / 'o.ark'}"])
    assert r.exit_code == 0, r.output
    o = read_table(tmp_path / "o.ark")
    assert list(o) == ["u0"]
    np.testing.assert_allclose(o["u0"], (a["u0"] + b["u0"]) / 2, rtol=1e-6)
    assert "no matrix for u1 in input 2" in r.output and "matrix for u2 in input 2 is (5, 3)" in r.output
    r = CliRunner().invoke(main, ["matrix-sum", f"ark:{tmp_path / 'a.ark'}", f"ark:{tmp_path / 'a.ark'}",
                                  f"ark:{tmp_path / 's.ark'}"])
    assert r.exit_code == 0, r.output
    s = read_table(tmp_path / "s.ark")
    for k in a:
        np.testing.assert_allclose(s[k], 2 * a[k], rtol=1e-6)
